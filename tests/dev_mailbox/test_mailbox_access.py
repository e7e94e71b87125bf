"""Who may use the inbox and API: loopback host names only (DNS rebinding), or the access token."""

import re
from http.cookies import SimpleCookie

import pytest
from mailbox_helpers import RunningCLI, call, run_python, send

from dev_mailbox.server import Mailbox
from dev_mailbox.testing import MailboxHandle

pytestmark = pytest.mark.smtp

TOKEN = "k9Xq-2vLp_7rTzW4mN8s"


def loopback_hosts(port: int) -> list[str]:
    return [
        "localhost",
        f"localhost:{port}",
        f"LocalHost:{port}",
        f"127.0.0.1:{port}",
        "127.4.5.6",
        f"[::1]:{port}",
    ]


FOREIGN_HOSTS = [
    "attacker.example",
    "attacker.example:8025",
    "127.0.0.1.attacker.example",
    "localhost.attacker.example:8025",
    "192.168.1.20:8025",
    "0.0.0.0:8025",
    "[::1",
    "localhost:port",
    "",
]


def test_loopback_host_names_are_served(mailbox):
    port = int(mailbox.web_url.rsplit(":", 1)[1])
    for host in loopback_hosts(port):
        assert call(mailbox, "GET", "/", headers={"Host": host})[0] == 200, host
        assert call(mailbox, "GET", "/api/v1/messages", headers={"Host": host})[0] == 200, host


@pytest.mark.parametrize("host", FOREIGN_HOSTS)
def test_other_host_names_get_421_page_and_api_error(mailbox, host):
    send(mailbox, subject="Login link")
    status, body, _ = call(mailbox, "GET", "/", headers={"Host": host, "Accept-Language": "en"})
    html = body.decode()
    assert status == 421
    assert "answers only at its own address on this computer: " + mailbox.web_url in html
    assert "Login link" not in html
    status, body, _ = call(mailbox, "GET", "/api/v1/messages", headers={"Host": host})
    assert status == 421 and set(body) == {"Error"}
    assert call(mailbox, "GET", "/api/v1/message/latest/raw", headers={"Host": host})[0] == 421
    assert call(mailbox, "DELETE", "/api/v1/messages", headers={"Host": host})[0] == 421
    assert [m.subject for m in mailbox.messages()] == ["Login link"]


def test_refusal_is_in_the_readers_language(mailbox):
    headers = {"Host": "attacker.example"}
    _, body, _ = call(mailbox, "GET", "/?lang=ru", headers=headers)
    assert "Этот почтовый ящик отвечает только по своему адресу" in body.decode()
    _, body, _ = call(mailbox, "GET", "/log", headers=headers)  # Estonian by default
    assert "See postkast vastab ainult oma aadressil" in body.decode()
    _, body, _ = call(mailbox, "GET", "/api/v1/messages", headers={**headers, "Accept-Language": "ru"})
    assert body["Error"].startswith("Этот почтовый ящик отвечает только")


def test_inbox_stylesheet_is_served_to_any_host(mailbox):
    """The refusal page is styled: static files hold nothing from the mailbox."""
    assert call(mailbox, "GET", "/static/inbox.css", headers={"Host": "attacker.example"})[0] == 200


@pytest.fixture
def guarded(tmp_path):
    """A mailbox on 127.0.0.1 that needs TOKEN, as one bound to a LAN address does."""
    handle = MailboxHandle(tmp_path / "guarded.sqlite3", access_token=TOKEN)
    handle.start()
    try:
        yield handle
    finally:
        handle.stop()


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-token-0123456789"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": f"Bearer {TOKEN[:-1]}"},
        {"Authorization": "Bearer ümlaut-ödd-tökeñ-0123"},
        {"Cookie": "dev_mailbox_token=wrong-token-0123456789"},
        {"Cookie": f"dev_mailbox_session={TOKEN}"},
    ],
)
def test_token_required_without_or_with_a_wrong_one(guarded, headers):
    send(guarded, subject="Login link")
    status, body, response_headers = call(guarded, "GET", "/api/v1/messages", headers=headers)
    assert status == 401 and set(body) == {"Error"}
    assert response_headers["WWW-Authenticate"].startswith("Bearer")
    status, body, _ = call(guarded, "GET", "/?lang=en", headers=headers)
    assert status == 401 and "Login link" not in body.decode()
    assert "opens only with its access link" in body.decode()
    assert call(guarded, "DELETE", "/api/v1/messages", headers=headers)[0] == 401
    assert len(guarded.messages()) == 1


def test_wrong_token_in_the_link_is_refused(guarded):
    status, _, headers = call(guarded, "GET", "/?token=wrong-token-0123456789")
    assert status == 401 and "Set-Cookie" not in headers


def test_token_in_link_becomes_a_cookie_and_leaves_the_address(guarded):
    send(guarded, subject="Login link")
    status, _, headers = call(guarded, "GET", f"/?folder=inbox&token={TOKEN}&lang=en")
    assert status == 303
    assert headers["Location"] == "/?folder=inbox&lang=en"
    assert headers["Cache-Control"] == "no-store"
    set_cookie = headers["Set-Cookie"]
    assert re.search(r"(?i)\bHttpOnly\b", set_cookie) and re.search(r"(?i)SameSite=Lax", set_cookie)
    cookie = SimpleCookie(set_cookie)["dev_mailbox_token"]
    assert cookie.value == TOKEN and cookie["path"] == "/"
    status, body, _ = call(guarded, "GET", "/?folder=inbox", headers={"Cookie": f"dev_mailbox_token={TOKEN}"})
    assert status == 200 and "Login link" in body.decode()


def test_token_link_redirect_never_leaves_the_site(guarded):
    status, _, headers = call(guarded, "GET", f"//attacker.example/x?token={TOKEN}")
    assert status == 303 and headers["Location"] == "/attacker.example/x"


def test_token_in_the_query_counts_only_for_opening_a_page(guarded):
    send(guarded)
    assert call(guarded, "DELETE", f"/api/v1/messages?token={TOKEN}")[0] == 401
    assert len(guarded.messages()) == 1


def test_api_clients_send_a_bearer_token(guarded):
    send(guarded, subject="Login link")
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    status, listing, _ = call(guarded, "GET", "/api/v1/messages", headers=bearer)
    assert status == 200 and [m["Subject"] for m in listing["messages"]] == ["Login link"]
    assert call(guarded, "GET", "/view/latest.txt", headers={"Authorization": f"bearer  {TOKEN} "})[0] == 200
    assert call(guarded, "DELETE", "/api/v1/messages", headers=bearer)[0] == 200
    assert guarded.messages() == []


def test_with_a_token_any_host_name_is_served(guarded):
    """A LAN address or a machine name must work; a rebinding page has no token."""
    for host in ("192.168.1.20:8025", "trainer-laptop.local", "attacker.example"):
        headers = {"Host": host, "Authorization": f"Bearer {TOKEN}"}
        assert call(guarded, "GET", "/api/v1/messages", headers=headers)[0] == 200
        assert call(guarded, "GET", "/", headers={"Host": host})[0] == 401


@pytest.mark.parametrize("http_host", ["127.0.0.1", "127.0.0.2", "localhost", "::1"])
def test_loopback_binding_needs_no_token(tmp_path, http_host):
    mailbox = Mailbox(tmp_path / "db", http_host=http_host)
    assert mailbox.access_token is None
    assert mailbox.access_url == mailbox.web_url + "/"


@pytest.mark.parametrize("http_host", ["0.0.0.0", "::", "192.168.1.20", "trainer-laptop.local"])  # noqa: S104
def test_other_binding_gets_a_random_token(tmp_path, http_host):
    first, second = (
        Mailbox(tmp_path / "db", http_host=http_host),
        Mailbox(tmp_path / "db", http_host=http_host),
    )
    assert len(first.access_token) >= 40 and first.access_token != second.access_token
    assert first.access_url.endswith(f":8025/?token={first.access_token}")
    assert Mailbox(tmp_path / "db", http_host=http_host, access_token=TOKEN).access_token == TOKEN


def test_ipv6_address_is_bracketed_in_urls(tmp_path):
    assert Mailbox(tmp_path / "db", http_host="::1").web_url == "http://[::1]:8025"


@pytest.mark.parametrize(
    "token", ["", "short-token", "has space in it 0123", "semi;colon;0123456789", "ä" * 20]
)
def test_unusable_explicit_token_is_refused(tmp_path, token):
    with pytest.raises(ValueError, match="16 to 256"):
        Mailbox(tmp_path / "db", access_token=token)


def test_cli_access_token_option_and_environment(tmp_path):
    assert "--access-token" in run_python("-m", "dev_mailbox", "--help").stdout
    failed = run_python(
        "-m", "dev_mailbox", "--access-token", "short", "--db", str(tmp_path / "x"), check=False
    )
    assert failed.returncode == 2 and "16 to 256" in failed.stderr
    cli = RunningCLI("--db", str(tmp_path / "cli.sqlite3"), env={"DEV_MAILBOX_TOKEN": TOKEN})
    try:
        assert cli.next_line() == f"dev_mailbox: open {cli.api_url}/?token={TOKEN}"
        assert f"Authorization: Bearer {TOKEN}" in cli.next_line()
        assert call(cli, "GET", "/api/v1/messages")[0] == 401
        assert call(cli, "GET", "/api/v1/messages", headers={"Authorization": f"Bearer {TOKEN}"})[0] == 200
    finally:
        assert cli.stop() == 0


def test_cli_on_every_address_prints_a_random_token_and_requires_it(tmp_path):
    cli = RunningCLI("--db", str(tmp_path / "cli.sqlite3"), "--http-host", "0.0.0.0")  # noqa: S104
    try:
        opening = cli.next_line()
        token = re.fullmatch(r"dev_mailbox: open http://0\.0\.0\.0:\d+/\?token=([\w-]{40,})", opening)[1]
        cli.next_line()
        assert call(cli, "GET", "/api/v1/messages", headers={"Host": "127.0.0.1"})[0] == 401
        status, _, headers = call(cli, "GET", f"/?token={token}")
        assert status == 303 and headers["Location"] == "/"
        assert call(cli, "GET", "/", headers={"Cookie": f"dev_mailbox_token={token}"})[0] == 200
    finally:
        assert cli.stop() == 0


def test_the_fixture_needs_no_token(mailbox):
    """Tests of the web app read the fixture's mailbox as before: bound to loopback, no token."""
    send(mailbox, subject="Plain")
    status, listing, _ = call(mailbox, "GET", "/api/v1/messages")
    assert status == 200 and listing["messages"][0]["Subject"] == "Plain"
