"""The password rules of the seed: 10+ characters, not popular or simple (zxcvbn), not the parent's name.

Hashing is argon2id (argon2-cffi). Every check is bounded: input is cut before zxcvbn, whose cost grows
steeply with length (about 60 ms for a crafted 72-character input, under 35 ms at 40 characters).
"""

import unicodedata
from dataclasses import dataclass, field

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

TOO_SHORT = _l("The password must be at least %(min)d characters long.")
TOO_LONG = _l("The password can be at most %(max)d characters long.")
ONLY_SPACES = _l("The password cannot be only spaces.")
CONTAINS_NAME = _l("The password must not contain your first or last name (%(name)s).")
TOO_WEAK = _l("This password is too easy to guess. Choose a less common one.")
STRENGTH_LABELS = (
    _l("very weak"),
    _l("weak"),
    _l("fair"),
    _l("strong"),
    _l("very strong"),
)


@dataclass
class Verdict:
    """What the rules say of a password: the refusals (empty = accepted), and zxcvbn's view."""

    problems: list[str] = field(default_factory=list)
    score: int = 0
    suggestions: list[str] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        return not self.problems

    @property
    def label(self) -> str:
        return str(STRENGTH_LABELS[self.score])


def normalise(password: str) -> str:
    return unicodedata.normalize("NFKC", password)


def fold(text: str) -> str:
    """Case and diacritics ignored: Jüri → juri, Šarlota → sarlota."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def name_parts(*names: str) -> list[str]:
    """Each part of each name, double names split: Mari-Liis → mari, liis."""
    parts = []
    for name in names:
        word = ""
        for char in fold(name) + " ":
            if char.isalpha():
                word += char
            else:
                if len(word) >= NAME_PART_MIN_LENGTH:
                    parts.append(word)
                word = ""
    return parts


def check(password: str, first_name: str, last_name: str, min_score: int, extra_inputs=()) -> Verdict:
    """Apply every rule; each refusal says which rule and why, in the user's language."""
    password = normalise(password)
    verdict = Verdict()
    length = len(password)  # code points, after NFKC
    if length > MAX_LENGTH:
        verdict.problems.append(str(TOO_LONG % {"max": MAX_LENGTH}))
        return verdict
    if password and not password.strip():
        verdict.problems.append(str(ONLY_SPACES))
        return verdict
    if length < MIN_LENGTH:
        verdict.problems.append(str(TOO_SHORT % {"min": MIN_LENGTH}))
    folded = fold(password)
    for part in name_parts(first_name, last_name):
        if part in folded:
            verdict.problems.append(str(CONTAINS_NAME % {"name": part.capitalize()}))
            break
    if password:
        user_inputs = [first_name, last_name, *extra_inputs, *LOCAL_WORDS]
        result = zxcvbn(password[:ZXCVBN_PREFIX], user_inputs=user_inputs)
        verdict.score = result["score"]
        feedback = result["feedback"]
        verdict.suggestions = [
            str(ZXCVBN_FEEDBACK.get(text, text))
            for text in [feedback.get("warning"), *feedback.get("suggestions", [])]
            if text
        ]
        if verdict.score < min_score:
            verdict.problems.append(str(TOO_WEAK))
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
