"""Step 1's typo guard: "mari@gmial.com — did you mean mari@gmail.com?"

Only a suggestion, and never for a domain we know is real: a parent at eesti.ee is not at neti.ee.
"""

import sqlalchemy as sa
from rapidfuzz import process
from rapidfuzz.distance import OSA

from webapp.extensions import db
from webapp.models import Parent

# What we suggest: the providers parents here use most (Estonia, Latvia, Russia, the international ones).
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
    "yandex.com",
    "ya.ru",
    "rambler.ru",
    "inbox.lv",
    "protonmail.com",
    "proton.me",
    "gmx.com",
)

# What we never correct, however close it is to a common domain: real domains parents here use.
# Only domains known to take mail belong here; a guess would silence the guard for a real slip.
REAL_DOMAINS = frozenset(COMMON_DOMAINS) | {
    # Estonia: providers, the state's forwarding address, universities, telecoms
    "eesti.ee",
    "edu.ee",
    "ut.ee",
    "taltech.ee",
    "ttu.ee",
    "tlu.ee",
    "emu.ee",
    "artun.ee",
    "ema.ee",
    "ebs.ee",
    "sisekaitse.ee",
    "elion.ee",
    "estpak.ee",
    "starman.ee",
    "telia.ee",
    "elisa.ee",
    # Latvia and Lithuania
    "inbox.lt",
    "inbox.eu",
    "one.lv",
    "one.lt",
    "apollo.lv",
    "tvnet.lv",
    "lu.lv",
    "rtu.lv",
    # Russia, Ukraine, Belarus
    "internet.ru",
    "lenta.ru",
    "ro.ru",
    "autorambler.ru",
    "myrambler.ru",
    "yandex.by",
    "yandex.kz",
    "yandex.ua",
    "narod.ru",
    "ukr.net",
    "i.ua",
    "meta.ua",
    "tut.by",
    # Finland and Scandinavia
    "kolumbus.fi",
    "luukku.com",
    "suomi24.fi",
    "elisanet.fi",
    "saunalahti.fi",
    "welho.com",
    "helsinki.fi",
    "telia.com",
    "online.no",
    "spray.se",
    # Germany, Austria, Switzerland
    "gmx.de",
    "gmx.net",
    "gmx.at",
    "gmx.ch",
    "web.de",
    "t-online.de",
    "freenet.de",
    "mail.de",
    "online.de",
    "arcor.de",
    "posteo.de",
    "posteo.net",
    "mailbox.org",
    # Microsoft, Apple, Yahoo, Google: regional and older names
    "googlemail.com",
    "outlook.de",
    "outlook.fr",
    "hotmail.co.uk",
    "hotmail.de",
    "hotmail.fr",
    "hotmail.it",
    "hotmail.es",
    "hotmail.fi",
    "hotmail.se",
    "live.co.uk",
    "live.de",
    "live.fr",
    "live.it",
    "live.nl",
    "live.fi",
    "live.se",
    "live.ru",
    "mac.com",
    "yahoo.co.uk",
    "yahoo.de",
    "yahoo.fr",
    "yahoo.it",
    "yahoo.es",
    "yahoo.se",
    "ymail.com",
    "rocketmail.com",
    # Other international providers
    "aol.com",
    "protonmail.ch",
    "pm.me",
    "zoho.com",
    "hey.com",
    "fastmail.com",
    "fastmail.fm",
    "tutanota.com",
    "tutanota.de",
    "tutamail.com",
    "tuta.io",
    "tuta.com",
    "mail.com",
    "email.com",
    "inbox.com",
    "duck.com",
    "hushmail.com",
    # Neighbours further away: Poland, Czechia, France, Italy, the UK
    "wp.pl",
    "o2.pl",
    "onet.pl",
    "interia.pl",
    "seznam.cz",
    "orange.fr",
    "free.fr",
    "laposte.net",
    "libero.it",
    "btinternet.com",
}


def _closest_common(domain: str) -> str | None:
    """The common domain `domain` is most likely a slip of, if any."""
    name, dot, ending = domain.partition(".")
    if dot and "." not in ending:
        # The right name with the wrong ending: gmail.ee → gmail.com. Only for name.ending: in
        # mail.ttu.ee, "mail" is not the provider mail.ee.
        same_name = [common for common in COMMON_DOMAINS if common.partition(".")[0] == name]
        if same_name:
            return process.extractOne(domain, same_name, scorer=OSA.distance)[0]
    # One slip for short domains (hot.ee vs hit.ee is one), two for longer ones (gmial.con).
    # OSA: a swap of two neighbouring letters (gmial) counts as one slip.
    allowed = 1 if len(domain) <= 7 else 2
    match = process.extractOne(domain, COMMON_DOMAINS, scorer=OSA.distance, score_cutoff=allowed)
    return match[0] if match else None


def _on_roster(domain: str) -> bool:
    """A parent the school knows has an address at `domain`: then it is real, whatever it looks like."""
    at_domain = Parent.email.endswith(f"@{domain}", autoescape=True)
    return bool(db.session.scalar(sa.select(sa.exists().where(at_domain))))


def suggest(address: str) -> str | None:
    """A corrected address when the domain looks like a slip of a common one, else None."""
    local, at, domain = address.rpartition("@")
    domain = domain.lower()
    if not at or not local or domain in REAL_DOMAINS or len(domain) > 64:
        return None
    corrected = _closest_common(domain)
    # The roster is asked last, so that the common path (a real or an unrelated domain) costs no query.
    if corrected is None or _on_roster(domain):
        return None
    return f"{local}@{corrected}"
