"""Who may use the web inbox and API: the rules, applied to each request by `web.check_access`.

Without an access token only loopback host names are served, so a web page cannot reach the
inbox by DNS rebinding (pointing its own name at 127.0.0.1: the browser then sends that name as
`Host`). Bound to any other address the mailbox needs a token, and then serves any host name:
people reach a shared machine by names not known in advance, and a page that does not know the
token gets nothing (the token's cookie belongs to the name the trainer opened).
"""

import hmac
import ipaddress
import re
import secrets
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeSerializer

TOKEN_COOKIE = "dev_mailbox_token"  # noqa: S105 - the cookie's name, not a secret
# One recipient's view (a participant's mailbox in a demo): a link signed with the access token.
RECIPIENT_VIEW_SALT = "dev_mailbox.recipient-view"
MAX_SIGNED_LENGTH = 1000
# What an explicit token may be: characters that need no escaping in a URL or a cookie.
TOKEN_FORMAT = re.compile(r"[A-Za-z0-9._~-]{16,256}")
_HOST_HEADER = re.compile(r"(?:\[(?P<ipv6>[0-9A-Fa-f:.]+)\]|(?P<name>[^:\[\]]+))(?::\d{1,5})?")


def is_loopback(host: str) -> bool:
    """`localhost`, any 127.x address or ::1 (an address or name to bind, without port)."""
    host = host.removeprefix("[").removesuffix("]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_loopback_host_header(header: str) -> bool:
    """A `Host` header naming this machine's loopback: `localhost:8025`, `127.0.0.1`, `[::1]:8025`."""
    match = _HOST_HEADER.fullmatch(header)
    if match is None:
        return False
    if match["ipv6"]:
        return is_loopback(match["ipv6"])
    return is_loopback(match["name"])


def checked_token(token: str) -> str:
    """`token` if it is usable as an access token, else ValueError saying what one is."""
    if not TOKEN_FORMAT.fullmatch(token):
        raise ValueError("an access token is 16 to 256 of the characters A-Z a-z 0-9 . _ ~ -")
    return token


@dataclass(frozen=True)
class AccessPolicy:
    """No token: loopback host names only. A token: any host name, with the token."""

    token: str | None = None

    @classmethod
    def for_address(cls, http_host: str, token: str | None = None) -> "AccessPolicy":
        """An explicit token is always required; bound beyond loopback, a random one is made."""
        if token is None:
            return cls(None if is_loopback(http_host) else secrets.token_urlsafe(32))
        return cls(checked_token(token))

    def serves_host(self, host_header: str) -> bool:
        return self.token is not None or is_loopback_host_header(host_header)

    def token_matches(self, presented: str | None) -> bool:
        """Constant-time comparison; any text can be presented, none raises."""
        if self.token is None or not presented:
            return False
        return hmac.compare_digest(presented.encode("utf-8", "surrogatepass"), self.token.encode())


def sign_recipient(token: str, address: str) -> str:
    """The path segment that opens `address`'s own view: the address, signed with the access token
    (HMAC), so that nobody without the token can make or change one. What the portal puts in its
    "open my demo mailbox" link: /minu/<this>."""
    return URLSafeSerializer(token, salt=RECIPIENT_VIEW_SALT).dumps(address.strip().lower())


def recipient_from(token: str | None, signed: str) -> str | None:
    """The address a signed segment opens, or None: no token, a forged, changed or garbled one."""
    if token is None or len(signed) > MAX_SIGNED_LENGTH:
        return None
    try:
        address = URLSafeSerializer(token, salt=RECIPIENT_VIEW_SALT).loads(signed)
    except (BadSignature, UnicodeError, ValueError):
        return None
    return address if isinstance(address, str) and address else None
