"""Production refuses mail settings it cannot send right with (DKIM half set up, a key it cannot use,
From or Reply-To that are not one address), listing each; `flask dkim keygen` makes the key."""

import base64
import stat
import subprocess

import pytest
from click.testing import CliRunner

from tests.conftest import database_url
from webapp import create_app, mail_identity
from webapp.doctor import UnsafeConfiguration, doctor_command
from webapp.mail_identity import dkim_command

SAFE_PRODUCTION = {
    "SECRET_KEY": "k" * 48,
    "BASE_URL": "https://vanemad.kool.example",
    "IDENTITY_DEMO": "0",
    "MAIL_DEFAULT_SENDER": "Kool <noreply@kool.example>",
}
SETTINGS = (
    "APP_ENV",
    "SECRET_KEY",
    "IDENTITY_DEMO",
    "BASE_URL",
    "MAIL_USERNAME",
    "MAIL_USE_TLS",
    "MAIL_DEFAULT_SENDER",
    "MAIL_REPLY_TO",
    *mail_identity.DKIM_SETTINGS,
)


@pytest.fixture
def environment(monkeypatch, tmp_path):
    """The process environment of a production deployment; nothing of the test settings leaks in."""
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", database_url(tmp_path))
    monkeypatch.chdir(tmp_path)  # keygen's relative paths, and no .env from the checkout
    for name, value in SAFE_PRODUCTION.items():
        monkeypatch.setenv(name, value)

    def set_environment(**values: str) -> None:
        for name, value in values.items():
            monkeypatch.setenv(name, value)

    return set_environment


@pytest.fixture(scope="module")
def private_key() -> bytes:
    return mail_identity.generate_key()[0]


@pytest.fixture
def key_file(tmp_path, private_key) -> str:
    path = tmp_path / "dkim.pem"
    mail_identity.write_private_key(path, private_key)
    return str(path)


def refusal() -> list[str]:
    with pytest.raises(UnsafeConfiguration) as refused:
        create_app()
    return refused.value.problems


@pytest.mark.parametrize(
    "given",
    [("DKIM_SELECTOR",), ("DKIM_DOMAIN",), ("DKIM_PRIVATE_KEY_FILE",), ("DKIM_SELECTOR", "DKIM_DOMAIN")],
)
def test_dkim_half_set_up_stops_the_start(environment, key_file, given):
    values = {"DKIM_SELECTOR": "portal", "DKIM_DOMAIN": "kool.example", "DKIM_PRIVATE_KEY_FILE": key_file}
    environment(**{name: values[name] for name in given})
    [problem] = refusal()
    assert problem.startswith("DKIM is half set up")
    for name in mail_identity.DKIM_SETTINGS:
        assert name in problem
    assert "flask dkim keygen" in problem


def test_an_unreadable_or_invalid_key_stops_the_start(environment, tmp_path):
    environment(
        DKIM_SELECTOR="portal", DKIM_DOMAIN="kool.example", DKIM_PRIVATE_KEY_FILE=str(tmp_path / "none.pem")
    )
    [problem] = refusal()
    assert "none.pem cannot be read: No such file or directory" in problem

    garbage = tmp_path / "garbage.pem"
    garbage.write_bytes(b"-----BEGIN RSA PRIVATE KEY-----\nbm90IGEga2V5\n-----END RSA PRIVATE KEY-----\n")
    environment(DKIM_PRIVATE_KEY_FILE=str(garbage))
    [problem] = refusal()
    assert "holds no unencrypted RSA private key" in problem

    public_only = tmp_path / "public.pem"
    public_der = mail_identity.generate_key()[1]
    public_only.write_text(
        f"-----BEGIN PUBLIC KEY-----\n{base64.encodebytes(public_der).decode()}-----END PUBLIC KEY-----\n"
    )
    environment(DKIM_PRIVATE_KEY_FILE=str(public_only))
    [problem] = refusal()
    assert "holds no unencrypted RSA private key" in problem


def test_a_short_key_stops_the_start(environment, tmp_path):
    # cryptography refuses to make a key this short; openssl still does.
    short = subprocess.run(["openssl", "genrsa", "768"], check=True, capture_output=True).stdout  # noqa: S607
    path = tmp_path / "short.pem"
    path.write_bytes(short)
    environment(DKIM_SELECTOR="portal", DKIM_DOMAIN="kool.example", DKIM_PRIVATE_KEY_FILE=str(path))
    [problem] = refusal()
    assert "is a 768-bit key" in problem


def test_every_mail_problem_is_listed_at_once(environment, key_file):
    environment(
        DKIM_SELECTOR="not a selector",
        DKIM_DOMAIN="other.example",
        DKIM_PRIVATE_KEY_FILE=key_file,
        MAIL_REPLY_TO="anne@kool.example, mari@kool.example",
        SECRET_KEY="short",
    )
    problems = refusal()
    assert len(problems) == 4, problems
    assert problems[0].startswith("SECRET_KEY")
    assert any(p.startswith("MAIL_REPLY_TO must be one e-mail address") for p in problems)
    assert any(p.startswith("DKIM_SELECTOR 'not a selector' is not a DNS name") for p in problems)
    assert any(
        p.startswith("DKIM_DOMAIN other.example is not the domain of MAIL_DEFAULT_SENDER") for p in problems
    )


@pytest.mark.parametrize("sender", ["noreply@kool", "Kool", "a@kool.example, b@kool.example", ""])
def test_a_from_address_that_is_not_one_address_stops_the_start(environment, sender):
    environment(MAIL_DEFAULT_SENDER=sender)
    [problem] = refusal()
    assert problem.startswith("MAIL_DEFAULT_SENDER must be one e-mail address with a domain")


@pytest.mark.parametrize("dkim_domain", ["kool.example", "mail.kool.example"])
def test_a_complete_dkim_setting_and_a_reply_to_start(environment, key_file, dkim_domain):
    environment(
        DKIM_SELECTOR="portal",
        DKIM_DOMAIN=dkim_domain,
        DKIM_PRIVATE_KEY_FILE=key_file,
        MAIL_REPLY_TO="Anne Tamm <anne.tamm@kool.example>",
    )
    assert create_app().config["DKIM_DOMAIN"] == dkim_domain
    result = CliRunner().invoke(doctor_command)
    assert result.exit_code == 0, result.output
    assert f"DKIM: signs with the key published at portal._domainkey.{dkim_domain}" in result.output


def test_flask_doctor_names_the_dkim_problem(environment):
    environment(DKIM_SELECTOR="portal")
    result = CliRunner().invoke(doctor_command)
    assert result.exit_code == 1
    assert "DKIM is half set up" in result.output


def test_keygen_writes_a_private_key_and_prints_the_record_that_verifies_it(environment, tmp_path):
    environment(DKIM_SELECTOR="portal2026")  # half set up: production would refuse, keygen is the fix
    result = CliRunner().invoke(dkim_command, ["keygen", "--key-file", "dkim.pem"])
    assert result.exit_code == 0, result.output
    key_file = tmp_path / "dkim.pem"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    private_key = key_file.read_bytes()
    public_key = mail_identity.public_key_of(private_key)
    name, value = mail_identity.dns_record("portal2026", "kool.example", public_key)
    assert name == "portal2026._domainkey.kool.example"  # the domain of MAIL_DEFAULT_SENDER
    assert f"name:  {name}" in result.output
    assert f"value: {value}" in result.output
    assert value.startswith("v=DKIM1; k=rsa; p=MII")
    # The zone file line: strings of at most 255 characters that join into the value.
    zone_line = next(line for line in result.output.splitlines() if " IN TXT " in line)
    strings = zone_line.split("( ", 1)[1].rsplit(" )", 1)[0].split('" "')
    assert all(len(string.strip('"')) <= 255 for string in strings)
    assert "".join(string.strip('"') for string in strings) == value
    assert f"DKIM_PRIVATE_KEY_FILE={key_file}" in result.output

    # With all three set the portal starts and `flask dkim record` prints the same record.
    environment(DKIM_DOMAIN="kool.example", DKIM_PRIVATE_KEY_FILE=str(key_file))
    create_app()
    shown = CliRunner().invoke(dkim_command, ["record"])
    assert shown.exit_code == 0, shown.output
    assert f"value: {value}" in shown.output


def test_keygen_never_overwrites_a_key(environment, tmp_path):
    key_file = tmp_path / "dkim.pem"
    key_file.write_bytes(b"the key in use")
    result = CliRunner().invoke(
        dkim_command,
        ["keygen", "--selector", "portal", "--domain", "kool.example", "--key-file", str(key_file)],
    )
    assert result.exit_code == 1
    assert "exists: it is not overwritten" in result.output
    assert key_file.read_bytes() == b"the key in use"


@pytest.mark.parametrize(
    ("arguments", "complaint"),
    [
        (["--domain", "kool.example", "--key-file", "k.pem"], "Give a selector"),
        (["--selector", "a b", "--domain", "kool.example", "--key-file", "k.pem"], "Give a selector"),
        (["--selector", "portal", "--domain", "kool", "--key-file", "k.pem"], "is not a domain name"),
        (["--selector", "portal", "--domain", "kool.example"], "Say where to write the key"),
    ],
)
def test_keygen_says_what_is_missing(environment, tmp_path, arguments, complaint):
    result = CliRunner().invoke(dkim_command, ["keygen", *arguments])
    assert result.exit_code == 2
    assert complaint in result.output
    assert list(tmp_path.glob("*.pem")) == []


def test_flask_doctor_outside_production_says_the_mail_waits(environment):
    environment(APP_ENV="development", DKIM_SELECTOR="portal")
    result = CliRunner().invoke(doctor_command)
    assert result.exit_code == 0, result.output
    assert "e-mail: waits unsent until these are put right:\n    - DKIM is half set up" in result.output
