"""The demo's dev mailbox, as the portal uses it in demo mode: each participant's own view of it (a link
signed with the mailbox's access token), and the trainer's presets, which are the mailbox's own
delivery rules set through its JSON API.

A preset is one rule for the participant's exact address, first in the list: "the next e-mail to
spam" is `{"match": address, "action": "spam", "times": 1}`. Delivered late is the way mail is late in
life: the school's server is told "try again later" (451) a few times, and the portal's sender retries
with its back-off, so no e-mail waits behind it.
"""

import json
import secrets
import urllib.error
import urllib.request
from enum import StrEnum

from flask import current_app
from flask_babel import get_locale

from dev_mailbox.access import sign_recipient
from dev_mailbox.scenarios import exact_match

API_TIMEOUT_SECONDS = 5.0
LATE_TRIES = 3
# Participants' invented addresses: a first name, a random part, and a domain that is nobody's.
INVENTED_NAMES = ("mari", "jaan", "kati", "peeter", "olga", "artjom", "liis", "andres", "sofia", "ivan")
INVENTED_DOMAIN = "demo.kool"


class Preset(StrEnum):
    SPAM = "spam"
    LOST = "lost"
    REFUSED = "refused"
    LATE = "late"


PRESET_RULES = {
    Preset.SPAM: {"action": "spam", "times": 1},
    Preset.LOST: {"action": "drop", "times": 1},
    Preset.REFUSED: {"action": "reject"},  # the address does not exist: until the trainer clears it
    Preset.LATE: {"action": "tempfail", "times": LATE_TRIES},
}
PRESET_OF_ACTION = {rule["action"]: preset for preset, rule in PRESET_RULES.items()}


class MailboxUnavailable(Exception):
    """The dev mailbox did not answer, or answered with an error."""


def invented_address() -> str:
    """mari.k7q2@demo.kool: an address for a participant to use, unlikely to be anyone else's in the room."""
    alphabet = "abcdefghijkmnpqrstuvwxyz23456789"  # nothing that reads alike (l/1, o/0)
    random_part = "".join(secrets.choice(alphabet) for _ in range(4))
    return f"{secrets.choice(INVENTED_NAMES)}.{random_part}@{INVENTED_DOMAIN}"


def personal_view_url(address: str) -> str | None:
    """The participant's own view of the mailbox, in their language; None without an access token."""
    token = current_app.config["DEV_MAILBOX_TOKEN"]
    if not token:
        return None
    signed = sign_recipient(token, address)
    return f"{current_app.config['DEV_MAILBOX_URL']}/minu/{signed}/?lang={get_locale()}"


def _call(method: str, path: str, body: object = None) -> object:
    config = current_app.config
    headers = {"Content-Type": "application/json"}
    if config["DEV_MAILBOX_TOKEN"]:
        headers["Authorization"] = f"Bearer {config['DEV_MAILBOX_TOKEN']}"
    request = urllib.request.Request(  # noqa: S310 - our own dev mailbox, from configuration
        config["DEV_MAILBOX_API_URL"] + path,
        data=None if body is None else json.dumps(body).encode(),
        headers=headers,
        method=method,
    )
    try:
        with urllib.request.urlopen(request, timeout=API_TIMEOUT_SECONDS) as response:  # noqa: S310
            return json.loads(response.read() or b"null")
    except (urllib.error.URLError, OSError, ValueError) as error:
        raise MailboxUnavailable(str(error)) from None


def rules() -> list[dict]:
    found = _call("GET", "/api/v1/rules")
    return found if isinstance(found, list) else []


def scenario_of(all_rules: list[dict], address: str) -> tuple[Preset, int | None] | None:
    """The preset standing for this address, and how many e-mails it still applies to."""
    match = exact_match(address)
    for rule in all_rules:
        if rule.get("match") == match and rule.get("action") in PRESET_OF_ACTION:
            return PRESET_OF_ACTION[rule["action"]], rule.get("times")
    return None


def _others(address: str) -> list[dict]:
    match = exact_match(address)
    return [rule for rule in rules() if rule.get("match") != match]


def set_preset(address: str, preset: Preset) -> None:
    """The address's preset replaces whatever rule it had; other rules stay, after it."""
    _call(
        "PUT", "/api/v1/rules", [{"match": exact_match(address), **PRESET_RULES[preset]}, *_others(address)]
    )


def clear_preset(address: str) -> None:
    _call("PUT", "/api/v1/rules", _others(address))


def clear_scenarios() -> None:
    """No rule and no chaos: every e-mail is delivered."""
    _call("PUT", "/api/v1/rules", [])
    _call("PUT", "/api/v1/chaos", {})


def clear_everything() -> None:
    """The reset's share: every message, the delivery log, the rules and the chaos."""
    _call("DELETE", "/api/v1/messages")
    _call("DELETE", "/api/v1/log")
    clear_scenarios()
