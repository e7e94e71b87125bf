"""Where phones in the room reach the demo: this machine's address on the local network.

Found from the network interfaces, not the host name (which resolves to 127.0.0.1 on many machines):
the address the kernel would send from towards the local network (a UDP "connect" sends nothing), else
the first global IPv4 address of an interface that is up (`ip -j addr`). DEMO_HOST overrides both.
"""

import io
import ipaddress
import json
import os
import shutil
import socket
import subprocess

import segno

# Any address outside this machine will do for asking the kernel which interface it would use; a UDP
# socket's connect() only chooses the route and sends no packet. A private-range address keeps the
# question on the local network.
ROUTE_PROBE = ("10.255.255.254", 9)
LOOPBACK = "127.0.0.1"


def _routed_address() -> str | None:
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(ROUTE_PROBE)
            address = probe.getsockname()[0]
    except OSError:  # no route at all (no network)
        return None
    return None if ipaddress.ip_address(address).is_loopback else address


def _interface_address() -> str | None:
    ip = shutil.which("ip")
    if ip is None:
        return None
    try:
        listed = subprocess.run(  # noqa: S603 - a fixed command
            [ip, "-j", "-4", "addr", "show", "scope", "global", "up"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout
        interfaces = json.loads(listed or "[]")
    except (OSError, subprocess.SubprocessError, ValueError):
        return None
    for interface in interfaces:
        for address in interface.get("addr_info", []):
            if address.get("family") == "inet" and address.get("local"):
                return address["local"]
    return None


def network_address() -> tuple[str, str]:
    """(address, how it was found): DEMO_HOST, the routed interface, the first one up, or loopback."""
    chosen = os.environ.get("DEMO_HOST", "").strip()
    if chosen:
        return chosen, "DEMO_HOST"
    for finder, how in ((_routed_address, "route"), (_interface_address, "interfaces")):
        address = finder()
        if address:
            return address, how
    return LOOPBACK, "none found"


def url_host(host: str) -> str:
    """An address as it goes into a URL: IPv6 in brackets."""
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def qr_terminal(url: str) -> str:
    """The address as a QR code in text (half blocks, dark on light), for the terminal."""
    text = io.StringIO()
    segno.make(url, error="m").terminal(text, compact=True, border=2)
    return text.getvalue()


def qr_svg_data_uri(url: str) -> str:
    """The address as a QR code, an SVG data: URI for an <img> (the CSP allows data: images)."""
    return segno.make(url, error="m").svg_data_uri(scale=6, border=2, dark="#000", light="#fff")
