"""Step 1's typo guard: "mari@gmial.com — did you mean mari@gmail.com?"

Only a suggestion: the parent can keep what they typed (a school may well have parents at gmial.com).
"""

# The providers parents here use most (Estonia, Latvia, Russia, and the international ones).
COMMON_DOMAINS = (
    "gmail.com",
    "mail.ee",
    "hot.ee",
    "online.ee",
    "neti.ee",
    "suhtlus.ee",
    "outlook.com",
    "hotmail.com",
    "live.com",
    "msn.com",
    "icloud.com",
    "me.com",
    "yahoo.com",
    "mail.ru",
    "inbox.ru",
    "list.ru",
    "bk.ru",
    "yandex.ru",
    "ya.ru",
    "rambler.ru",
    "inbox.lv",
    "protonmail.com",
    "proton.me",
    "gmx.com",
)


def _distance(a: str, b: str) -> int:
    """Damerau–Levenshtein distance (optimal string alignment): a swap of two letters counts once."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, start=1):
        current = [i] + [0] * len(b)
        for j, char_b in enumerate(b, start=1):
            current[j] = min(
                previous[j] + 1,
                current[j - 1] + 1,
                previous[j - 1] + (char_a != char_b),
            )
            if i > 1 and j > 1 and char_a == b[j - 2] and a[i - 2] == char_b:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[-1]


def suggest(address: str) -> str | None:
    """A corrected address when the domain looks like a slip of a common one, else None."""
    local, at, domain = address.rpartition("@")
    domain = domain.lower()
    if not at or not local or domain in COMMON_DOMAINS or len(domain) > 64:
        return None
    label = domain.partition(".")[0]
    same_name = [common for common in COMMON_DOMAINS if common.partition(".")[0] == label]
    if same_name:  # the right name with the wrong ending: gmail.ee → gmail.com, inbox.lw → inbox.lv
        return f"{local}@{min(same_name, key=lambda common: _distance(domain, common))}"
    # One slip for short domains (hot.ee vs hit.ee is one), two for longer ones (gmial.con).
    allowed = 1 if len(domain) <= 7 else 2
    best = min(COMMON_DOMAINS, key=lambda common: _distance(domain, common))
    if _distance(domain, best) <= allowed:
        return f"{local}@{best}"
    return None
