"""Where phones reach the demo: DEMO_HOST, else the machine's address from its network interfaces."""

import ipaddress

from webapp import demo_address


def test_demo_host_wins(monkeypatch):
    monkeypatch.setenv("DEMO_HOST", "192.168.1.20")
    assert demo_address.network_address() == ("192.168.1.20", "DEMO_HOST")


def test_without_demo_host_an_interface_address_or_loopback(monkeypatch):
    monkeypatch.delenv("DEMO_HOST", raising=False)
    address, found_by = demo_address.network_address()
    ipaddress.ip_address(address)  # an address, never a host name
    assert (found_by == "none found") == ipaddress.ip_address(address).is_loopback


def test_no_network_falls_back_to_loopback_and_says_so(monkeypatch):
    monkeypatch.delenv("DEMO_HOST", raising=False)
    monkeypatch.setattr(demo_address, "_routed_address", lambda: None)
    monkeypatch.setattr(demo_address, "_interface_address", lambda: None)
    assert demo_address.network_address() == ("127.0.0.1", "none found")


def test_ipv6_goes_into_a_url_in_brackets():
    assert demo_address.url_host("fd00::5") == "[fd00::5]"
    assert demo_address.url_host("10.0.0.5") == "10.0.0.5"


def test_the_qr_codes_carry_the_address():
    assert demo_address.qr_svg_data_uri("http://10.0.0.5:5000/").startswith("data:image/svg+xml")
    assert "█" in demo_address.qr_terminal("http://10.0.0.5:5000/")
