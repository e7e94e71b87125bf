import pytest
import sqlalchemy as sa

from webapp import email_typos
from webapp.email_typos import suggest
from webapp.extensions import db
from webapp.models import Parent

# Real domains parents use, written out here rather than read from the module, so that a domain
# dropped from the module's list fails a test.
REAL_DOMAINS = [
    # Estonia: providers, the state's forwarding address, universities, telecoms
    "mail.ee",
    "hot.ee",
    "online.ee",
    "neti.ee",
    "suhtlus.ee",
    "eesti.ee",
    "edu.ee",
    "ut.ee",
    "taltech.ee",
    "ttu.ee",
    "tlu.ee",
    "emu.ee",
    "artun.ee",
    "elion.ee",
    "estpak.ee",
    "telia.ee",
    # Latvia and Lithuania
    "inbox.lv",
    "inbox.lt",
    "inbox.eu",
    "one.lv",
    "apollo.lv",
    # Russia, Ukraine, Belarus
    "mail.ru",
    "bk.ru",
    "list.ru",
    "inbox.ru",
    "internet.ru",
    "rambler.ru",
    "lenta.ru",
    "ro.ru",
    "yandex.ru",
    "yandex.com",
    "yandex.by",
    "yandex.kz",
    "yandex.ua",
    "ya.ru",
    "ukr.net",
    "i.ua",
    # Finland, Sweden, Norway
    "kolumbus.fi",
    "luukku.com",
    "suomi24.fi",
    "elisanet.fi",
    "saunalahti.fi",
    "telia.com",
    "online.no",
    # Germany
    "gmx.de",
    "gmx.net",
    "gmx.at",
    "web.de",
    "t-online.de",
    "freenet.de",
    "mail.de",
    "online.de",
    "posteo.de",
    "mailbox.org",
    # International
    "gmail.com",
    "googlemail.com",
    "outlook.com",
    "outlook.de",
    "hotmail.com",
    "hotmail.co.uk",
    "hotmail.de",
    "hotmail.fi",
    "hotmail.se",
    "live.com",
    "live.co.uk",
    "live.fi",
    "live.ru",
    "msn.com",
    "icloud.com",
    "me.com",
    "mac.com",
    "yahoo.com",
    "yahoo.co.uk",
    "yahoo.de",
    "ymail.com",
    "aol.com",
    "protonmail.com",
    "protonmail.ch",
    "proton.me",
    "pm.me",
    "zoho.com",
    "hey.com",
    "fastmail.com",
    "tutanota.com",
    "tuta.io",
    "gmx.com",
    "mail.com",
    "inbox.com",
]

SLIPS = [
    ("gmial.com", "gmail.com"),
    ("gmail.con", "gmail.com"),
    ("gmai.com", "gmail.com"),
    ("gmal.com", "gmail.com"),
    ("gmail.cm", "gmail.com"),
    ("gmail.ee", "gmail.com"),  # the right name with the wrong ending
    ("gmail.ru", "gmail.com"),
    ("hotmial.com", "hotmail.com"),
    ("hotmail.con", "hotmail.com"),
    ("outlok.com", "outlook.com"),
    ("icloud.co", "icloud.com"),
    ("yaho.com", "yahoo.com"),
    ("yahoo.ee", "yahoo.com"),
    ("mial.ee", "mail.ee"),
    ("maol.ee", "mail.ee"),
    ("mail.e", "mail.ee"),
    ("hit.ee", "hot.ee"),
    ("onlin.ee", "online.ee"),
    ("neti.ew", "neti.ee"),
    ("suhtls.ee", "suhtlus.ee"),
    ("inbox.lw", "inbox.lv"),
    ("inbox.lc", "inbox.lv"),
    ("yandex.ry", "yandex.ru"),
    ("yandex.rj", "yandex.ru"),
    ("yandex.ee", "yandex.ru"),
    ("yandx.ru", "yandex.ru"),
    ("mail.tu", "mail.ru"),
    ("mail.r", "mail.ru"),
    ("bk.ry", "bk.ru"),
    ("rambler.tu", "rambler.ru"),
    ("protonmail.con", "protonmail.com"),
    ("proton.ne", "proton.me"),
]


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield


@pytest.fixture
def queries(ctx) -> list[str]:
    """The SQL statements run while the test runs."""
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    yield statements
    sa.event.remove(db.engine, "before_cursor_execute", record)


def add_parent(email: str) -> None:
    db.session.add(Parent(email=email, first_name="Jaan", last_name="Tamm"))
    db.session.commit()


# No app context here: a real or an unrelated domain is answered without asking the roster (a query
# would fail outside the app).
@pytest.mark.parametrize("domain", REAL_DOMAINS)
def test_real_domains_are_never_corrected(domain):
    assert suggest(f"mari@{domain}") is None


@pytest.mark.parametrize(("typed", "meant"), SLIPS)
def test_slips_of_common_domains_get_the_right_suggestion(ctx, typed, meant):
    assert suggest(f"mari@{typed}") == f"mari@{meant}"


def test_the_reported_real_domains_keep_their_address():
    assert suggest("aino.saar@eesti.ee") is None
    assert suggest("olga@yandex.com") is None
    assert suggest("hans@gmx.de") is None


def test_the_domain_is_compared_whatever_its_case(ctx):
    assert suggest("Mari@Eesti.EE") is None
    assert suggest("Mari@GMIAL.com") == "Mari@gmail.com"


def test_every_suggested_domain_is_a_real_one():
    assert set(email_typos.COMMON_DOMAINS) <= email_typos.REAL_DOMAINS


@pytest.mark.parametrize(
    "address",
    [
        "mari@kool.ee",
        "it@apkool.ee",
        "mari@tallinn.ee",
        "mari@mail.ttu.ee",  # a name of a provider in a longer domain is not that provider
        "no-at-sign",
        "@gmail.com",
        "mari@" + "x" * 100 + ".ee",
    ],
)
def test_unrelated_domains_and_non_addresses_get_none(address):
    assert suggest(address) is None


def test_a_domain_of_a_parent_on_the_roster_is_never_corrected(ctx):
    assert suggest("mari@hoot.ee") == "mari@hot.ee"
    add_parent("jaan@hoot.ee")
    assert suggest("mari@hoot.ee") is None


def test_only_the_whole_domain_of_a_roster_parent_counts(ctx):
    add_parent("jaan@pood.hoot.ee")
    add_parent("juku@hoot.ee.ee")
    assert suggest("mari@hoot.ee") == "mari@hot.ee"


def test_the_roster_domain_is_matched_literally_not_as_a_pattern(ctx):
    add_parent("jaan@hoot.ee")
    assert suggest("mari@h%t.ee") == "mari@hot.ee"
    assert suggest("mari@ho_t.ee") == "mari@hot.ee"


def test_the_roster_is_asked_only_when_a_suggestion_would_be_made(queries):
    for address in ["mari@gmail.com", "mari@eesti.ee", "mari@firma.ee", "mari@kool.ee"]:
        assert suggest(address) is None
    assert queries == []
    assert suggest("mari@gmial.com") == "mari@gmail.com"
    assert len(queries) == 1
