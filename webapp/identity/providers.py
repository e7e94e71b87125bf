"""Proving who someone is by their personal code: the interface, and the demo providers behind it."""

import hashlib
import re
import secrets
from dataclasses import asdict, dataclass
from typing import Protocol


class IdentityFailed(Exception):
    """The person could not be identified (wrong PIN, cancelled on the phone, ...)."""


@dataclass
class Challenge:
    """One identification in progress, kept in the session between start and finish."""

    provider: str
    personal_code: str
    session_id: str
    verification_code: str | None = None  # Smart-ID shows it on both screens

    def as_session(self) -> dict:
        return asdict(self)


class IdentityProvider(Protocol):
    name: str
    demo: bool

    def start(self, personal_code: str) -> Challenge: ...

    def finish(self, challenge: Challenge, pin: str | None = None) -> str:
        """The personal code that was proven, or IdentityFailed."""
        ...


def smart_id_verification_code(signed_hash: bytes) -> str:
    """Smart-ID's four digits: the last two bytes of SHA-256 of the hash, modulo 10000."""
    digest = hashlib.sha256(signed_hash).digest()
    return f"{int.from_bytes(digest[-2:], 'big') % 10000:04d}"


class DemoSmartId:
    """Shows a verification code like the real Smart-ID; "confirming on the phone" is a button."""

    name = "smart_id"
    demo = True

    def start(self, personal_code: str) -> Challenge:
        signed_hash = secrets.token_bytes(64)
        return Challenge(
            self.name, personal_code, secrets.token_urlsafe(16), smart_id_verification_code(signed_hash)
        )

    def finish(self, challenge: Challenge, pin: str | None = None) -> str:
        return challenge.personal_code


class DemoIdCard:
    """Asks for PIN1 as the real card reader would; any 4 to 12 digits pass in the demo."""

    name = "id_card"
    demo = True

    def start(self, personal_code: str) -> Challenge:
        return Challenge(self.name, personal_code, secrets.token_urlsafe(16))

    def finish(self, challenge: Challenge, pin: str | None = None) -> str:
        if not pin or not re.fullmatch(r"\d{4,12}", pin):
            raise IdentityFailed
        return challenge.personal_code


PROVIDERS: dict[str, IdentityProvider] = {"smart_id": DemoSmartId(), "id_card": DemoIdCard()}
