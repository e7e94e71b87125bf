"""The password rules of the seed: 10+ characters, not popular or simple (zxcvbn), not the parent's name.

Hashing is argon2id (argon2-cffi). Every check is bounded: input is cut before zxcvbn, whose cost grows
steeply with length (about 60 ms for a crafted 72-character input, under 35 ms at 40 characters).
"""

import re
import unicodedata
from dataclasses import dataclass, field
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_babel import lazy_gettext as _l
from zxcvbn import zxcvbn

MIN_LENGTH = 10
MAX_LENGTH = 128
# zxcvbn judges this much of a password; a password that is weak in its first 40 characters is weak.
ZXCVBN_PREFIX = 40
# Name parts shorter than this ("Ly", "Li") would refuse half the dictionary.
NAME_PART_MIN_LENGTH = 3

# zxcvbn knows English words; these are the local ones people put in passwords here.
LOCAL_WORDS = [
    "parool",
    "salasõna",
    "salasona",
    "tere",
    "kool",
    "stuudium",
    "eesti",
    "tallinn",
    "tartu",
    "narva",
    "pärnu",
    "kallis",
    "armastus",
    "kevad",
    "suvi",
    "talv",
    "sügis",
    "пароль",
    "привет",
    "любовь",
    "школа",
    "эстония",
    "нарва",
    "таллинн",
]

_hasher = PasswordHasher()
# Verifying against this when an account does not exist takes as long as a real check.
_DUMMY_HASH = _hasher.hash("not a real password, only for timing")

# zxcvbn's English feedback, each in the user's language (message ids are zxcvbn's own sentences).
ZXCVBN_FEEDBACK = {
    "Use a few words, avoid common phrases.": _l("Use a few words, avoid common phrases."),
    "No need for symbols, digits, or uppercase letters.": _l(
        "No need for symbols, digits, or uppercase letters."
    ),
    "Add another word or two. Uncommon words are better.": _l(
        "Add another word or two. Uncommon words are better."
    ),
    "Straight rows of keys are easy to guess.": _l("Straight rows of keys are easy to guess."),
    "Short keyboard patterns are easy to guess.": _l("Short keyboard patterns are easy to guess."),
    "Use a longer keyboard pattern with more turns.": _l("Use a longer keyboard pattern with more turns."),
    'Repeats like "aaa" are easy to guess.': _l('Repeats like "aaa" are easy to guess.'),
    'Repeats like "abcabcabc" are only slightly harder to guess than "abc".': _l(
        'Repeats like "abcabcabc" are only slightly harder to guess than "abc".'
    ),
    "Avoid repeated words and characters.": _l("Avoid repeated words and characters."),
    'Sequences like "abc" or "6543" are easy to guess.': _l(
        'Sequences like "abc" or "6543" are easy to guess.'
    ),
    "Avoid sequences.": _l("Avoid sequences."),
    "Recent years are easy to guess.": _l("Recent years are easy to guess."),
    "Avoid recent years.": _l("Avoid recent years."),
    "Avoid years that are associated with you.": _l("Avoid years that are associated with you."),
    "Dates are often easy to guess.": _l("Dates are often easy to guess."),
    "Avoid dates and years that are associated with you.": _l(
        "Avoid dates and years that are associated with you."
    ),
    "This is a top-10 common password.": _l("This is a top-10 common password."),
    "This is a top-100 common password.": _l("This is a top-100 common password."),
    "This is a very common password.": _l("This is a very common password."),
    "This is similar to a commonly used password.": _l("This is similar to a commonly used password."),
    "A word by itself is easy to guess.": _l("A word by itself is easy to guess."),
    "Names and surnames by themselves are easy to guess.": _l(
        "Names and surnames by themselves are easy to guess."
    ),
    "Common names and surnames are easy to guess.": _l("Common names and surnames are easy to guess."),
    "Capitalization doesn't help very much.": _l("Capitalization doesn't help very much."),
    "All-uppercase is almost as easy to guess as all-lowercase.": _l(
        "All-uppercase is almost as easy to guess as all-lowercase."
    ),
    "Reversed words aren't much harder to guess.": _l("Reversed words aren't much harder to guess."),
    "Predictable substitutions like '@' instead of 'a' don't help very much.": _l(
        "Predictable substitutions like '@' instead of 'a' don't help very much."
    ),
}


class Rule(StrEnum):
    """A rule the parent sees in the list under the field; each refusal belongs to one."""

    LENGTH = "length"
    NOT_COMMON = "not-common"
    NOT_NAME = "not-name"
    MATCH = "match"


RULE_LABELS = {
    Rule.LENGTH: _l("At least %(min)d characters", min=MIN_LENGTH),
    Rule.NOT_COMMON: _l("Not a common or simple password"),
    Rule.NOT_NAME: _l("Does not contain your first or last name"),
    Rule.MATCH: _l("The two passwords match"),
}
TOO_SHORT = _l("The password must be at least %(min)d characters long.")
TOO_LONG = _l("The password can be at most %(max)d characters long.")
ONLY_SPACES = _l("The password cannot be only spaces.")
CONTAINS_NAME = _l("The password must not contain your first or last name (%(name)s).")
TOO_WEAK = _l("This password is too easy to guess. Choose a less common one.")
NOT_THE_SAME = _l("The two passwords are not the same.")
STRENGTH_LABELS = (
    _l("very weak"),
    _l("weak"),
    _l("fair"),
    _l("strong"),
    _l("very strong"),
)
# While any rule fails, the meter shows at most this ("weak"): a refused password never looks good.
REFUSED_MAX_SCORE = 1


@dataclass
class Verdict:
    """What the rules say of a password: the refusals by rule (empty = accepted), and zxcvbn's view.
    The one source of what the page shows: the errors, the rules list and the meter agree."""

    refusals: dict[Rule, str] = field(default_factory=dict)
    strength: int = 0  # zxcvbn's own score, 0-4
    suggestions: list[str] = field(default_factory=list)
    too_long: bool = False  # then no other rule about the password itself was checked
    match_checked: bool = False

    def refuse(self, rule: Rule, message) -> None:
        """The first refusal of a rule is the one shown."""
        self.refusals.setdefault(rule, str(message))

    @property
    def problems(self) -> list[str]:
        return list(self.refusals.values())

    @property
    def accepted(self) -> bool:
        return not self.refusals

    @property
    def score(self) -> int:
        """The score the meter shows: zxcvbn's, but never above "weak" while a rule fails."""
        return self.strength if self.accepted else min(self.strength, REFUSED_MAX_SCORE)

    @property
    def label(self) -> str:
        return str(STRENGTH_LABELS[self.score])

    @property
    def checklist(self) -> list[tuple[Rule, str, bool]]:
        """The rules list under the field, in order: each rule checked, its text in the user's language,
        and whether it is met."""
        rules = [Rule.LENGTH] if self.too_long else [Rule.LENGTH, Rule.NOT_COMMON, Rule.NOT_NAME]
        if self.match_checked:
            rules.append(Rule.MATCH)
        return [(rule, self._rule_text(rule), rule not in self.refusals) for rule in rules]

    def _rule_text(self, rule: Rule) -> str:
        # "At least 10 characters", crossed out under a pasted 200-character password, would puzzle.
        if rule is Rule.LENGTH and self.too_long:
            return self.refusals[rule]
        return str(RULE_LABELS[rule])

    @property
    def rules_met(self) -> int:
        return sum(met for _rule, _label, met in self.checklist)


def normalise(password: str) -> str:
    return unicodedata.normalize("NFKC", password)


def fold(text: str) -> str:
    """Case and diacritics ignored: Jüri → juri, Šarlota → sarlota."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def name_parts(*names: str) -> list[tuple[str, str]]:
    """Each part of each name, double names split, folded for comparing and as written for quoting:
    Mari-Liis → (mari, Mari), (liis, Liis); Õunapuu → (ounapuu, Õunapuu)."""
    parts = []
    for name in names:
        for written in re.findall(r"[^\W\d_]+", name):
            if len(fold(written)) >= NAME_PART_MIN_LENGTH:
                parts.append((fold(written), written))
    return parts


def check(
    password: str,
    first_name: str,
    last_name: str,
    min_score: int,
    extra_inputs=(),
    repeat: str | None = None,
) -> Verdict:
    """Apply every rule and report every refusal at once, in the order the rules are listed, each in the
    user's language. With `repeat` (the field "again"), the two must also be the same password."""
    password = normalise(password)
    verdict = _judge(password, first_name, last_name, min_score, extra_inputs)
    if repeat is not None:
        verdict.match_checked = True
        if normalise(repeat) != password:
            verdict.refuse(Rule.MATCH, NOT_THE_SAME)
    return verdict


def _judge(password: str, first_name: str, last_name: str, min_score: int, extra_inputs) -> Verdict:
    """The rules about the password itself: length, not common or simple, not the parent's name."""
    verdict = Verdict()
    length = len(password)  # code points, after NFKC
    if length > MAX_LENGTH:
        # Refused before any slow check: the cost of the other rules grows with the input.
        verdict.refuse(Rule.LENGTH, TOO_LONG % {"max": MAX_LENGTH})
        verdict.too_long = True
        return verdict
    if length < MIN_LENGTH:
        verdict.refuse(Rule.LENGTH, TOO_SHORT % {"min": MIN_LENGTH})
    if password and not password.strip():
        verdict.refuse(Rule.NOT_COMMON, ONLY_SPACES)
        return verdict
    if password:
        user_inputs = [first_name, last_name, *extra_inputs, *LOCAL_WORDS]
        result = zxcvbn(password[:ZXCVBN_PREFIX], user_inputs=user_inputs)
        verdict.strength = result["score"]
        feedback = result["feedback"]
        verdict.suggestions = [
            str(ZXCVBN_FEEDBACK.get(text, text))
            for text in [feedback.get("warning"), *feedback.get("suggestions", [])]
            if text
        ]
        if verdict.strength < min_score:
            verdict.refuse(Rule.NOT_COMMON, TOO_WEAK)
    folded = fold(password)
    for part, written in name_parts(first_name, last_name):
        if part in folded:
            verdict.refuse(Rule.NOT_NAME, CONTAINS_NAME % {"name": written})
            break
    return verdict


def hash_password(password: str) -> str:
    return _hasher.hash(normalise(password))


def verify(password_hash: str | None, password: str) -> bool:
    """True when the password matches; takes as long when there is no account (no enumeration)."""
    password = normalise(password[: MAX_LENGTH * 4])
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False
