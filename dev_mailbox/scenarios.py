"""Delivery scenarios: per-recipient rules and Mailpit-style random chaos, validated before use."""

import fnmatch
import random
import re
from collections.abc import Callable
from dataclasses import dataclass

ACTIONS = ("deliver", "spam", "drop", "delay", "reject", "tempfail", "disconnect")
MAX_DELAY_SECONDS = 600
MAX_TIMES = 1000
# Mailpit's chaos triggers, plus "Data" for the DATA command (Mailpit has no such trigger).
CHAOS_STAGES = ("Sender", "Recipient", "Data", "Authentication")
# Mailpit's default error codes: 451 everywhere but 535 for a failed login.
DEFAULT_CHAOS_CODES = {"Sender": 451, "Recipient": 451, "Data": 451, "Authentication": 535}


def N_(message: str) -> str:
    """Mark a message id for extraction; it is translated where a person reads it."""
    return message


# The inbox's presets, "the next e-mail to this address ...": a rule for that exact address that applies
# once, the shape the portal's trainer page uses too (webapp/demo_mailbox.py). "late" takes minutes.
PRESET_ACTIONS = {"spam": "spam", "lost": "drop", "refused": "reject", "late": "delay"}
MAX_PRESET_MINUTES = MAX_DELAY_SECONDS // 60
# A rule's reason in the delivery log, as Rule.describe writes it; read back by explain_reason.
_DESCRIBED = re.compile(
    r"rule (?P<position>\d+): (?P<match>.*) → (?P<action>\w+)"
    r"(?: (?P<seconds>[\d.e+]+)s)?(?: \((?P<times>\d+)×\))?",
    re.S,
)
# Python's words for what is wrong with a regular expression, as message ids in plain language.
_REGEX_PROBLEMS = (
    ("missing ), unterminated subpattern", N_("a bracket ( is not closed")),
    ("unbalanced parenthesis", N_("a bracket ) has no ( before it")),
    ("unterminated character set", N_("a bracket [ is not closed")),
    ("nothing to repeat", N_("*, + or ? follows nothing that it could repeat")),
    ("multiple repeat", N_("*, + or ? follows another one")),
    ("bad escape", N_("a backslash \\ is followed by something it cannot escape")),
    ("min repeat greater than max repeat", N_("a repeat {m,n} has m larger than n")),
    ("unexpected end of pattern", N_("the expression ends too soon")),
)
UNREADABLE_REGEX = N_("it cannot be read as a regular expression")

REJECT_REPLY = "550 5.1.1 Unknown user"
TEMPFAIL_REPLY = "451 4.3.0 Temporary failure, try again later"


class ScenarioError(ValueError):
    """A rule or chaos setting that cannot be used: an English message id plus its values,
    so the API can say it in English and the inbox in the reader's language."""

    def __init__(
        self, message: str, field: str | None = None, translated: tuple[str, ...] = (), **values: object
    ) -> None:
        super().__init__(message % values)
        self.message = message
        self.values = values
        self.field = field  # the form field at fault, for tying the message to it
        self.translated = translated  # the values that are message ids themselves

    def say(self, gettext: "Callable[..., str]") -> str:
        """The message in the reader's language, through `gettext` (the inbox's `_`)."""
        values = {
            name: gettext(value) if name in self.translated else value for name, value in self.values.items()
        }
        return gettext(self.message, **values)


@dataclass(frozen=True)
class Rule:
    match: str
    action: str
    seconds: float | None = None
    # Applies to this many recipients (counted at RCPT), then is gone; None: until removed.
    # {"times": 1} is "the next e-mail to this address".
    times: int | None = None

    def matches(self, address: str) -> bool:
        address = address.lower()
        if self.match.startswith("re:"):
            return re.search(self.match[3:], address, re.I) is not None
        if any(char in self.match for char in "*?["):
            return fnmatch.fnmatchcase(address, self.match.lower())
        return address == self.match.lower()

    def describe(self, position: int) -> str:
        delay = f" {self.seconds:g}s" if self.action == "delay" else ""
        times = f" ({self.times}×)" if self.times else ""
        return f"rule {position}: {self.match} → {self.action}{delay}{times}"

    def as_api(self) -> dict:
        rule: dict = {"match": self.match, "action": self.action}
        if self.seconds is not None:
            rule["seconds"] = self.seconds
        if self.times is not None:
            rule["times"] = self.times
        return rule


@dataclass(frozen=True)
class Decision:
    """What happens to one recipient, and which rule said so (for the delivery log)."""

    action: str
    reason: str
    seconds: float = 0.0
    rule: Rule | None = None


DEFAULT_DECISION = Decision("deliver", "default")


def parse_rules(value: object) -> list[Rule]:
    """Rules from their JSON form, a list of {"match", "action", "seconds"?}; raises ScenarioError."""
    if not isinstance(value, list):
        raise ScenarioError(N_("rules must be a JSON list of {match, action, seconds?} objects"))
    return [_parse_rule(position, item) for position, item in enumerate(value, start=1)]


def _parse_rule(position: int, item: object) -> Rule:
    if not isinstance(item, dict):
        raise ScenarioError(
            N_("rule %(position)s: must be an object with match and action"), position=position
        )
    unknown = set(item) - {"match", "action", "seconds", "times"}
    if unknown:
        raise ScenarioError(
            N_("rule %(position)s: unknown field(s) %(fields)s"),
            position=position,
            fields=", ".join(sorted(unknown)),
        )
    match, action = item.get("match"), item.get("action")
    if not isinstance(match, str) or not match.strip():
        raise ScenarioError(
            N_("rule %(position)s: match must be a non-empty string"), field="match", position=position
        )
    match = match.strip()
    if match.startswith("re:"):
        try:
            re.compile(match[3:])
        except re.error as error:
            raise ScenarioError(
                N_("rule %(position)s: invalid regular expression at character %(at)s: %(error)s"),
                field="match",
                translated=("error",),
                position=position,
                at=(error.pos or 0) + 1,
                error=regex_problem(error),
            ) from None
    if action not in ACTIONS:
        raise ScenarioError(
            N_("rule %(position)s: action must be one of %(actions)s"),
            field="action",
            position=position,
            actions=", ".join(ACTIONS),
        )
    times = item.get("times")
    if times is not None and (
        isinstance(times, bool) or not isinstance(times, int) or not 0 < times <= MAX_TIMES
    ):
        raise ScenarioError(
            N_("rule %(position)s: times must be a whole number from 1 to %(most)s"),
            field="times",
            position=position,
            most=MAX_TIMES,
        )
    seconds = item.get("seconds")
    if action == "delay":
        if isinstance(seconds, bool) or not isinstance(seconds, int | float):
            raise ScenarioError(
                N_("rule %(position)s: delay needs seconds (a number)"), field="seconds", position=position
            )
        if not 0 < seconds <= MAX_DELAY_SECONDS:
            raise ScenarioError(
                N_("rule %(position)s: seconds must be more than 0 and at most %(most)s"),
                field="seconds",
                position=position,
                most=MAX_DELAY_SECONDS,
            )
        return Rule(match, action, float(seconds), times)
    if seconds is not None:
        raise ScenarioError(
            N_("rule %(position)s: seconds only applies to the delay action"),
            field="seconds",
            position=position,
        )
    return Rule(match, action, times=times)


def regex_problem(error: re.error) -> str:
    """What is wrong with a regular expression, as a message id in plain language."""
    return next((said for words, said in _REGEX_PROBLEMS if error.msg.startswith(words)), UNREADABLE_REGEX)


def exact_match(address: str) -> str:
    """A rule's match for exactly this address: glob characters are legal in an address's local part."""
    address = address.strip().lower()
    return f"re:^{re.escape(address)}$" if any(char in address for char in "*?[") else address


def preset_rule(address: str, preset: str, minutes: object = None) -> Rule:
    """ "The next e-mail to `address` goes to spam / is lost / is refused / arrives `minutes` late" as
    a rule; ScenarioError (tied to the form's field) for what cannot be one."""
    address = address.strip()
    if "@" not in address or len(address) > 254 or any(char.isspace() for char in address):
        raise ScenarioError(
            N_("Give the recipient's e-mail address, like mari@example.com."), field="address"
        )
    if preset not in PRESET_ACTIONS:
        raise ScenarioError(N_("Choose what happens to the e-mail."), field="preset")
    if preset != "late":
        return Rule(exact_match(address), PRESET_ACTIONS[preset], times=1)
    if isinstance(minutes, str):
        minutes = minutes.strip().replace(",", ".")
    try:
        minutes = float(minutes)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        minutes = None
    if minutes is None or not 0 < minutes <= MAX_PRESET_MINUTES:
        raise ScenarioError(
            N_("Give the delay in minutes: more than 0 and at most %(most)s."),
            field="minutes",
            most=MAX_PRESET_MINUTES,
        )
    return Rule(exact_match(address), "delay", round(minutes * 60, 1), times=1)


def first_for_its_address(rules: list[Rule], rule: Rule) -> list[Rule]:
    """`rule` first, in place of any rule with the same match (as the trainer's presets do)."""
    return [rule, *(other for other in rules if other.match != rule.match)]


def explain_reason(reason: str) -> tuple[str, dict] | None:
    """A delivery log reason read back into its kind and values, to be said in the reader's
    language: ("default", {}), ("chaos", {"stage"}) or ("rule", {"position", "match", "action",
    "seconds"}); None for a reason of another form."""
    if reason == "default":
        return "default", {}
    if reason.startswith("chaos: "):
        stage = reason.removeprefix("chaos: ").capitalize()
        return ("chaos", {"stage": stage}) if stage in CHAOS_STAGES else None
    described = _DESCRIBED.fullmatch(reason)
    if described is None or described["action"] not in ACTIONS:
        return None
    seconds = float(described["seconds"]) if described["seconds"] else None
    return "rule", {
        "position": int(described["position"]),
        "match": described["match"],
        "action": described["action"],
        "seconds": seconds,
    }


def decide(rules: list[Rule], recipient: str) -> Decision:
    """The first matching rule wins; no match means deliver."""
    for position, rule in enumerate(rules, start=1):
        if rule.matches(recipient):
            return Decision(rule.action, rule.describe(position), rule.seconds or 0.0, rule)
    return DEFAULT_DECISION


def used_once(rules: list[Rule], rule: Rule) -> list[Rule]:
    """The rules after `rule` has applied to one more recipient: one time fewer, or gone at the last.
    Rules without `times` stay as they are."""
    if rule.times is None or rule not in rules:
        return rules
    at = rules.index(rule)
    left = [Rule(rule.match, rule.action, rule.seconds, rule.times - 1)] if rule.times > 1 else []
    return [*rules[:at], *left, *rules[at + 1 :]]


@dataclass(frozen=True)
class Trigger:
    error_code: int
    probability: int = 0

    def as_api(self) -> dict:
        return {"ErrorCode": self.error_code, "Probability": self.probability}


Chaos = dict[str, Trigger]


def default_chaos() -> Chaos:
    return {stage: Trigger(DEFAULT_CHAOS_CODES[stage]) for stage in CHAOS_STAGES}


def parse_chaos(value: object) -> Chaos:
    """Chaos triggers from Mailpit's JSON shape. As in Mailpit, the whole setting is replaced:
    a stage left out is off, and an ErrorCode left out (or 0) is that stage's default."""
    if not isinstance(value, dict):
        raise ScenarioError(N_("chaos must be a JSON object keyed by Sender, Recipient, Data, ..."))
    chaos = default_chaos()
    for stage, trigger in value.items():
        if stage not in CHAOS_STAGES:
            raise ScenarioError(
                N_("unknown chaos trigger %(stage)s: use %(stages)s"),
                stage=repr(stage),
                stages=", ".join(CHAOS_STAGES),
            )
        if trigger is None:
            continue
        if not isinstance(trigger, dict) or set(trigger) - {"ErrorCode", "Probability"}:
            raise ScenarioError(
                N_("%(stage)s: must be an object with ErrorCode and Probability"), stage=stage
            )
        code = trigger.get("ErrorCode") or DEFAULT_CHAOS_CODES[stage]
        probability = trigger.get("Probability", 0)
        if isinstance(code, bool) or not isinstance(code, int) or not 400 <= code <= 599:
            raise ScenarioError(
                N_("%(stage)s: ErrorCode must be an SMTP error code from 400 to 599"),
                field="code",
                stage=stage,
            )
        if isinstance(probability, bool) or not isinstance(probability, int):
            raise ScenarioError(
                N_("%(stage)s: Probability must be a whole number from 0 to 100"),
                field="probability",
                stage=stage,
            )
        if not 0 <= probability <= 100:
            raise ScenarioError(
                N_("%(stage)s: Probability must be from 0 to 100"), field="probability", stage=stage
            )
        chaos[stage] = Trigger(code, probability)
    return chaos


def chaos_as_api(chaos: Chaos) -> dict:
    return {stage: chaos[stage].as_api() for stage in CHAOS_STAGES}


def chaos_reply(chaos: Chaos, stage: str) -> str | None:
    """The error reply when chaos strikes at this stage, else None."""
    trigger = chaos[stage]
    # Chaos is a test aid, not security: the standard generator is the right tool.
    if trigger.probability and random.randrange(100) < trigger.probability:  # noqa: S311
        enhanced = "4.3.0" if trigger.error_code < 500 else "5.3.0"
        return f"{trigger.error_code} {enhanced} Chaos {stage.lower()} error"
    return None
