"""Who the portal's e-mail says it comes from, and the proof: the From and Reply-To addresses, and the
DKIM signature with which a receiving server checks that a message left the school's domain unchanged.

The sender reads them for every batch, so a new key or address applies to e-mail already waiting.
`flask dkim keygen` makes a key and prints the DNS record to publish; it is a `flask` command of its
own (like `flask doctor`), so that it works while production refuses to start for want of that key.
"""

import base64
import functools
import os
import re
from dataclasses import dataclass
from email import policy
from email.headerregistry import Address
from pathlib import Path
from urllib.parse import urlsplit

import click
import dkim
from dkim.crypto import UnparsableKeyError, parse_pem_private_key

DKIM_SETTINGS = ("DKIM_SELECTOR", "DKIM_DOMAIN", "DKIM_PRIVATE_KEY_FILE")
# RFC 8301: verifiers may ignore shorter keys. keygen makes 2048-bit ones.
MIN_KEY_BITS = 1024
KEY_BITS = (2048, 3072, 4096)
# A DNS name: labels of letters, digits and inner hyphens, joined by dots.
_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
DNS_NAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})*", re.IGNORECASE)
# Only the header is wanted; signing it shows the key signs.
_TRIAL_MESSAGE = b"From: trial@example.invalid\r\nSubject: trial\r\n\r\ntrial\r\n"


class MailSettingsError(ValueError):
    """The mail settings cannot be used; `problems` says what is wrong with each, and what to do."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(" ".join(problems))


@dataclass(frozen=True)
class DkimKey:
    selector: str
    domain: str
    private_key: bytes  # PEM, PKCS#1 or PKCS#8

    def sign(self, message: bytes) -> bytes:
        """The message with its DKIM-Signature header on top. Relaxed canonicalisation both ways: a
        relay that refolds a header or trims a line's trailing space does not break the signature."""
        signature = dkim.sign(
            message,
            self.selector.encode(),
            self.domain.encode(),
            self.private_key,
            canonicalize=(b"relaxed", b"relaxed"),
            linesep=b"\r\n",
        )
        return signature + message


@dataclass(frozen=True)
class MailIdentity:
    sender: str  # the From header, as configured: "Kool <noreply@kool.ee>"
    envelope_sender: str  # MAIL FROM: where bounces go, and the domain SPF checks
    reply_to: str | None
    dkim_key: DkimKey | None


def read(config) -> MailIdentity:
    """The identity the sender sends with; MailSettingsError lists everything that stops it."""
    found: list[str] = []
    sender = _address(config, "MAIL_DEFAULT_SENDER", found)
    reply_to = config.get("MAIL_REPLY_TO") or None
    if reply_to:
        _address(config, "MAIL_REPLY_TO", found)
    key = _dkim_key(config, sender, found)
    if found:
        raise MailSettingsError(found)
    return MailIdentity(config["MAIL_DEFAULT_SENDER"], sender.addr_spec, reply_to, key)


def problems(config) -> list[str]:
    """What `read` would refuse, for `flask doctor` and the start in production."""
    try:
        read(config)
    except MailSettingsError as refused:
        return refused.problems
    return []


def sending_domain(config) -> str:
    """The From address's domain, for Message-IDs; the portal's host while the From address is unusable
    (production refuses that, a development machine sends on)."""
    return _sending_domain(config.get("MAIL_DEFAULT_SENDER") or "", config["BASE_URL"])


@functools.lru_cache(maxsize=16)
def _sending_domain(sender: str, base_url: str) -> str:
    # Once per setting, not per e-mail: parsing the address header cost more than rendering step 1's
    # e-mail (benchmarks/pages.py).
    address = _address({"MAIL_DEFAULT_SENDER": sender}, "MAIL_DEFAULT_SENDER", [])
    if address is None:
        return urlsplit(base_url).hostname or "localhost"
    return address.domain.lower()


def _address(config, setting: str, problems: list[str]) -> Address | None:
    """One address, with a domain, from a setting such as "Kool <noreply@kool.ee>"."""
    value = config.get(setting) or ""
    example = "Kool <noreply@kool.ee>" if setting == "MAIL_DEFAULT_SENDER" else "Anne Tamm <anne@kool.ee>"
    problem = f"{setting} must be one e-mail address with a domain (e.g. {example}); it is {value!r}."
    if not value or "\r" in value or "\n" in value:
        problems.append(problem)
        return None
    header = policy.default.header_factory("Reply-To", value)
    addresses = header.addresses
    if header.defects or len(addresses) != 1:
        problems.append(problem)
        return None
    [address] = addresses
    if not address.username or not DNS_NAME.fullmatch(address.domain) or "." not in address.domain:
        problems.append(problem)
        return None
    return address


def _aligned(dkim_domain: str, from_domain: str) -> bool:
    """DMARC's relaxed alignment, near enough: one domain is the other or a subdomain of it."""
    dkim_domain, from_domain = dkim_domain.lower(), from_domain.lower()
    return (
        dkim_domain == from_domain
        or from_domain.endswith(f".{dkim_domain}")
        or dkim_domain.endswith(f".{from_domain}")
    )


def _dkim_key(config, sender: Address | None, problems: list[str]) -> DkimKey | None:
    given = [name for name in DKIM_SETTINGS if config.get(name)]
    if not given:
        return None
    if len(given) < len(DKIM_SETTINGS):
        missing = [name for name in DKIM_SETTINGS if name not in given]
        problems.append(
            f"DKIM is half set up: {', '.join(given)} set, {', '.join(missing)} not. Set all three to sign"
            " every e-mail (`flask dkim keygen` makes a key and prints the DNS record to publish), or none"
            " to send unsigned."
        )
        return None
    selector, domain, key_file = (config[name] for name in DKIM_SETTINGS)
    found = len(problems)
    if not DNS_NAME.fullmatch(selector):
        problems.append(f"DKIM_SELECTOR {selector!r} is not a DNS name (letters, digits, hyphens, dots).")
    if not DNS_NAME.fullmatch(domain) or "." not in domain:
        problems.append(f"DKIM_DOMAIN {domain!r} is not a domain name.")
    elif sender is not None and not _aligned(domain, sender.domain):
        problems.append(
            f"DKIM_DOMAIN {domain} is not the domain of MAIL_DEFAULT_SENDER ({sender.domain}), nor a parent"
            " or a subdomain of it: receivers checking DMARC would not count the signature."
        )
    try:
        private_key = Path(key_file).read_bytes()
    except OSError as error:
        problems.append(f"DKIM_PRIVATE_KEY_FILE {key_file} cannot be read: {error.strerror}.")
        return None
    try:
        dkim.sign(_TRIAL_MESSAGE, b"trial", b"example.invalid", private_key)
        bits = parse_pem_private_key(private_key)["modulus"].bit_length()
    except (dkim.DKIMException, UnparsableKeyError, ValueError, IndexError):
        problems.append(
            f"DKIM_PRIVATE_KEY_FILE {key_file} holds no unencrypted RSA private key in PEM form"
            " (PKCS#1 or PKCS#8): `flask dkim keygen` makes one."
        )
        return None
    if bits < MIN_KEY_BITS:
        problems.append(
            f"DKIM_PRIVATE_KEY_FILE {key_file} is a {bits}-bit key: receivers ignore keys under"
            f" {MIN_KEY_BITS} bits. `flask dkim keygen` makes a 2048-bit one."
        )
    if len(problems) > found:
        return None
    return DkimKey(selector, domain, private_key)


def generate_key(bits: int = 2048) -> tuple[bytes, bytes]:
    """A new RSA key: (the private key in PEM, the public key as DER SubjectPublicKeyInfo)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public


def public_key_of(private_key: bytes) -> bytes:
    """The DER SubjectPublicKeyInfo of a PEM private key (ValueError if it is none)."""
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(private_key, password=None)
    return key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def dns_record(selector: str, domain: str, public_key: bytes) -> tuple[str, str]:
    """(name, value) of the TXT record that publishes the key."""
    return f"{selector}._domainkey.{domain}", f"v=DKIM1; k=rsa; p={base64.b64encode(public_key).decode()}"


def write_private_key(path: Path, private_key: bytes) -> None:
    """Readable by its owner only; FileExistsError rather than replace a key in use."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(private_key)


def _zone_file_line(name: str, value: str) -> str:
    # A TXT string holds at most 255 characters; a 2048-bit key's record is longer, so it is split.
    strings = " ".join(f'"{value[start : start + 250]}"' for start in range(0, len(value), 250))
    return f"{name}. 3600 IN TXT ( {strings} )"


def _print_record(selector: str, domain: str, public_key: bytes) -> None:
    name, value = dns_record(selector, domain, public_key)
    click.echo(f"Publish this TXT record in the DNS of {domain}:\n")
    click.echo(f"  name:  {name}")
    click.echo(f"  value: {value}\n")
    click.echo("In a zone file (the value split into strings of at most 255 characters):\n")
    click.echo(f"  {_zone_file_line(name, value)}\n")


def _environment() -> dict:
    """The settings as the portal would read them, without starting it (it may refuse to start
    for want of the very key this makes)."""
    from dotenv import find_dotenv, load_dotenv

    from webapp.config import from_environment

    load_dotenv(find_dotenv(usecwd=True))
    return from_environment(Path("instance"))


@click.group("dkim", help="The DKIM key that signs the portal's e-mail.")
def dkim_command() -> None:
    pass


@dkim_command.command("keygen")
@click.option("--selector", help="The DKIM selector (default: DKIM_SELECTOR), e.g. portal2026.")
@click.option("--domain", help="The signing domain (default: DKIM_DOMAIN, else MAIL_DEFAULT_SENDER's).")
@click.option(
    "--key-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the private key (default: DKIM_PRIVATE_KEY_FILE). Never overwritten.",
)
@click.option(
    "--bits", type=click.Choice([str(bits) for bits in KEY_BITS]), default="2048", show_default=True
)
def keygen(selector: str | None, domain: str | None, key_file: Path | None, bits: str) -> None:
    """Make a DKIM key (file mode 0600) and print the DNS record to publish."""
    config = _environment()
    selector = selector or config["DKIM_SELECTOR"]
    domain = (domain or config["DKIM_DOMAIN"] or sending_domain(config)).lower().rstrip(".")
    key_file = key_file or (
        Path(config["DKIM_PRIVATE_KEY_FILE"]) if config["DKIM_PRIVATE_KEY_FILE"] else None
    )
    if not selector or not DNS_NAME.fullmatch(selector):
        raise click.UsageError("Give a selector (letters, digits, hyphens): --selector or DKIM_SELECTOR.")
    if not DNS_NAME.fullmatch(domain) or "." not in domain:
        raise click.UsageError(f"{domain!r} is not a domain name: --domain or DKIM_DOMAIN.")
    if key_file is None:
        raise click.UsageError("Say where to write the key: --key-file or DKIM_PRIVATE_KEY_FILE.")
    private_key, public_key = generate_key(int(bits))
    try:
        write_private_key(key_file, private_key)
    except FileExistsError:
        raise click.ClickException(
            f"{key_file} exists: it is not overwritten (it may be the key in use). Choose another file,"
            " or delete that one yourself first."
        ) from None
    except OSError as error:
        raise click.ClickException(f"{key_file} cannot be written: {error.strerror}.") from None
    click.echo(f"Wrote a {bits}-bit private key to {key_file} (readable by its owner only).\n")
    _print_record(selector, domain, public_key)
    click.echo("Then set, wherever the portal and its senders run:\n")
    click.echo(f"  DKIM_SELECTOR={selector}")
    click.echo(f"  DKIM_DOMAIN={domain}")
    click.echo(f"  DKIM_PRIVATE_KEY_FILE={key_file.resolve()}\n")
    click.echo("Sign with it only once the record is published: until then receivers fail the signature.")


@dkim_command.command("record")
def record() -> None:
    """Print the DNS record of the key the portal signs with (DKIM_* settings)."""
    config = _environment()
    try:
        identity = read(config)
    except MailSettingsError as refused:
        raise click.ClickException("\n".join(refused.problems)) from None
    if identity.dkim_key is None:
        raise click.ClickException("DKIM is not set up: DKIM_SELECTOR, DKIM_DOMAIN, DKIM_PRIVATE_KEY_FILE.")
    key = identity.dkim_key
    _print_record(key.selector, key.domain, public_key_of(key.private_key))
