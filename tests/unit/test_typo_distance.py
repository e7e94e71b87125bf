"""The typo guard's distance (rapidfuzz's OSA, which replaced a hand-written one for speed) gives the
answers of the textbook algorithm: the same distance for every pair, and the same suggestion, on a word
list of slips made from the common domains and of real domains."""

import random

import pytest
from rapidfuzz.distance import OSA

from webapp.email_typos import COMMON_DOMAINS, REAL_DOMAINS, _closest_common

LETTERS = "abcdefghijklmnopqrstuvwxyz.-"


def textbook_osa(a: str, b: str) -> int:
    """Optimal string alignment: insertions, deletions, substitutions, and swaps of neighbours, each 1."""
    d = [[i + j if i * j == 0 else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] != b[j - 1]))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[-1][-1]


def textbook_closest(domain: str) -> str | None:
    """webapp.email_typos._closest_common, with the textbook distance and the first of equals."""
    name, dot, ending = domain.partition(".")
    if dot and "." not in ending:
        same_name = [common for common in COMMON_DOMAINS if common.partition(".")[0] == name]
        if same_name:
            return min(same_name, key=lambda common: textbook_osa(domain, common))
    allowed = 1 if len(domain) <= 7 else 2
    best = min(COMMON_DOMAINS, key=lambda common: textbook_osa(domain, common))
    return best if textbook_osa(domain, best) <= allowed else None


def slip(word: str, chance: random.Random) -> str:
    position = chance.randrange(len(word))
    kind = chance.choice(("drop", "swap", "change", "add"))
    if kind == "drop":
        return word[:position] + word[position + 1 :]
    if kind == "swap" and position < len(word) - 1:
        return word[:position] + word[position + 1] + word[position] + word[position + 2 :]
    if kind == "change":
        return word[:position] + chance.choice(LETTERS) + word[position + 1 :]
    return word[:position] + chance.choice(LETTERS) + word[position:]


def word_list() -> list[str]:
    chance = random.Random(11)  # the same list every run
    words = set(REAL_DOMAINS)
    for common in COMMON_DOMAINS:
        for _ in range(12):
            once = slip(common, chance)
            words.update({once, slip(once, chance)})
    return sorted(word for word in words if word)


WORDS = word_list()


def test_the_word_list_is_worth_it():
    assert len(WORDS) > 500


@pytest.mark.parametrize("common", COMMON_DOMAINS)
def test_the_distance_is_the_textbook_one(common):
    for word in WORDS:
        assert OSA.distance(word, common) == textbook_osa(word, common), (word, common)


def test_the_suggestion_is_the_textbook_one():
    differing = {word: (_closest_common(word), textbook_closest(word)) for word in WORDS}
    assert {word: pair for word, pair in differing.items() if pair[0] != pair[1]} == {}
