"""The portal's e-mails carry what spam filters look for: a DKIM signature that verifies, a text and an
HTML part that say the same, links on BASE_URL only, Message-ID, Date, Auto-Submitted, a plain From,
Reply-To to a person, and a tag per kind. Every kind, in every language, through the real sender and
a real SMTP server (the dev mailbox)."""

import re
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from pathlib import Path

import dkim
import pytest
import sqlalchemy as sa

from tests.conftest import (
    STAFF_PASSWORD,
    School,
    outbox_messages,
    populate_school,
    submit_application,
)
from webapp import credentials, mail_identity, mailed_links
from webapp.extensions import db
from webapp.models import Application, OutboxMessage, Staff
from webapp.outbox import TAGS, deliver_due
from webapp.staff import decisions

pytestmark = pytest.mark.smtp

BASE_URL = "http://portal.test"
SENDER = "Testkool <noreply@testkool.example>"
REPLY_TO = "Anne Õpetaja <anne@testkool.example>"
SELECTOR = "portal2026"
DOMAIN = "testkool.example"
TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "email"


@pytest.fixture(scope="module")
def key_pair() -> tuple[bytes, bytes]:
    """One key for the module: making a 2048-bit key takes a while."""
    return mail_identity.generate_key()


@pytest.fixture
def key_file(tmp_path, key_pair) -> Path:
    path = tmp_path / "dkim.pem"
    mail_identity.write_private_key(path, key_pair[0])
    return path


def dkim_settings(key_file: Path) -> dict:
    return {"DKIM_SELECTOR": SELECTOR, "DKIM_DOMAIN": DOMAIN, "DKIM_PRIVATE_KEY_FILE": str(key_file)}


def published(public_key: bytes, selector: str = SELECTOR):
    """A DNS that holds the one TXT record `flask dkim keygen` says to publish."""
    name, value = mail_identity.dns_record(selector, DOMAIN, public_key)

    def txt(queried: bytes, timeout: float = 5) -> bytes | None:
        return value.encode() if queried.decode().rstrip(".") == name else None

    return txt


def deliver_all(app) -> None:
    with app.app_context():
        while deliver_due():
            pass


def send_every_kind(app, client, locale: str) -> None:
    """One e-mail of each kind, in `locale`, the way the portal sends them."""
    populate_school(app)
    client.set_cookie("lang", locale)
    school = School()
    approved = submit_application(
        app,
        client,
        school.child_5a,
        email="vanem@example.ee",
        child_first_name="Juri",
        child_last_name="Magi",
    )
    rejected = submit_application(app, client, school.child_6b, email="teine@example.ee")
    with app.test_request_context():
        admin = db.session.scalar(sa.select(Staff).filter_by(email=School.admin))
        parent = decisions.approve(db.session.get(Application, approved), admin)
        decisions.reject(db.session.get(Application, rejected), admin, "Lapse nimi <ei> klapi & nii edasi.")
        db.session.commit()
        mailed_links.send_login_link(parent, app.config["REQUESTED_LOGIN_LINK_TTL"])
        credentials.set_password(parent, STAFF_PASSWORD)
        credentials.request_email_change(parent, "uus@example.ee")
        credentials.change_email(parent, "uus@example.ee")
        db.session.commit()


class _VisibleText(HTMLParser):
    """The text a reader sees (not the <head>), and every link with the text it shows."""

    def __init__(self) -> None:
        super().__init__()
        self.words: list[str] = []
        self.links: list[tuple[str, str]] = []
        self._hidden = 0
        self._link: tuple[str, list[str]] | None = None

    def handle_starttag(self, tag, attrs):
        if tag in ("head", "style", "script"):
            self._hidden += 1
        if tag == "a":
            self._link = (dict(attrs).get("href") or "", [])

    def handle_endtag(self, tag):
        if tag in ("head", "style", "script"):
            self._hidden -= 1
        if tag == "a" and self._link:
            self.links.append((self._link[0], " ".join(" ".join(self._link[1]).split())))
            self._link = None

    def handle_data(self, data):
        if self._hidden:
            return
        self.words += data.split()
        if self._link:
            self._link[1].append(data)


def visible(html: str) -> _VisibleText:
    parser = _VisibleText()
    parser.feed(html)
    parser.close()
    return parser


def looks_like_an_address(text: str) -> bool:
    return bool(re.match(r"(?i)^(?:[a-z][a-z0-9+.-]*://|www\.)\S+$", text))


def test_every_template_is_a_tagged_kind():
    kinds = {path.stem for path in TEMPLATES.glob("*.txt") if not path.name.startswith("_")}
    assert kinds == set(TAGS)
    assert {path.stem for path in TEMPLATES.glob("*.html") if not path.name.startswith("_")} == kinds
    assert len(set(TAGS.values())) == len(TAGS)
    # Mailpit keeps letters, digits, spaces, hyphens, underscores and dots in a tag.
    assert all(re.fullmatch(r"[a-z0-9 ._-]+", tag) for tag in TAGS.values())


@pytest.mark.parametrize("locale", ["et", "ru", "en"])
def test_every_kind_is_signed_tagged_and_says_the_same_in_text_and_html(
    make_app, mailbox, key_file, key_pair, locale
):
    app = make_app(
        MAIL_PORT=mailbox.smtp_port,
        BASE_URL=BASE_URL,
        MAIL_DEFAULT_SENDER=SENDER,
        MAIL_REPLY_TO=REPLY_TO,
        **dkim_settings(key_file),
    )
    send_every_kind(app, app.test_client(), locale)
    deliver_all(app)
    sent = {message.message_id: message for message in outbox_messages(app)}
    assert {message.status for message in sent.values()} == {"sent"}
    received = mailbox.messages()
    assert len(received) == len(sent)
    tags = set()
    dns = published(key_pair[1])
    for message in received:
        outbox = sent[message.headers["Message-ID"]]
        where = f"{outbox.kind} ({locale})"
        assert dkim.verify(message.raw, dnsfunc=dns), where
        signature = dict(
            part.strip().split("=", 1) for part in message.headers["DKIM-Signature"].split(";") if "=" in part
        )
        assert (signature["d"], signature["s"]) == (DOMAIN, SELECTOR), where

        assert message.headers["From"] == SENDER
        assert message.headers["Reply-To"] == REPLY_TO
        assert message.headers["Auto-Submitted"] == "auto-generated"
        assert message.headers["X-Tags"] == TAGS[outbox.kind], where
        tags.add(message.headers["X-Tags"])
        assert message.headers["Message-ID"].endswith(f"@{DOMAIN}>"), where
        date = parsedate_to_datetime(message.headers["Date"])
        assert abs(date - datetime.now(UTC)) < timedelta(minutes=5), where

        html = visible(message.html)
        assert html.words == message.text.split(), where
        text_links = re.findall(r"https?://\S+", message.text)
        assert [href for href, _ in html.links if href.startswith("http")] == [
            link for link in text_links for _ in range(2)
        ], where  # each link twice in the HTML: the button, then the address itself
        for href, shown in html.links:
            assert href.startswith(f"{BASE_URL}/"), f"{where}: {href}"
            if looks_like_an_address(shown):
                assert shown == href, f"{where}: shows {shown}, goes to {href}"
        for link in text_links:
            assert link.startswith(f"{BASE_URL}/"), f"{where}: {link}"
    assert tags == set(TAGS.values())


def test_without_a_key_the_emails_go_out_unsigned_and_say_do_not_reply(make_app, mailbox, child_code):
    app = make_app(MAIL_PORT=mailbox.smtp_port, MAIL_DEFAULT_SENDER=SENDER)
    with app.app_context():
        mailed_links.send_application_link("mari@example.ee", child_code, "en")
        db.session.commit()
    deliver_all(app)
    message = mailbox.wait_for(to="mari@example.ee")
    assert "DKIM-Signature" not in message.headers
    assert "Reply-To" not in message.headers
    assert message.headers["X-Tags"] == "application link"
    assert "please do not reply" in message.text
    assert "please do not reply" in " ".join(visible(message.html).words)


def test_with_a_reply_to_the_footer_invites_a_reply(make_app, mailbox, child_code):
    app = make_app(MAIL_PORT=mailbox.smtp_port, MAIL_DEFAULT_SENDER=SENDER, MAIL_REPLY_TO=REPLY_TO)
    with app.app_context():
        mailed_links.send_application_link("mari@example.ee", child_code, "en")
        db.session.commit()
    deliver_all(app)
    message = mailbox.wait_for(to="mari@example.ee")
    assert message.headers["Reply-To"] == REPLY_TO
    assert "do not reply" not in message.text
    assert "you can reply to it" in message.text


def test_a_new_key_signs_the_email_already_waiting(
    make_app, mailbox, tmp_path, key_file, key_pair, child_code
):
    app = make_app(MAIL_PORT=mailbox.smtp_port, MAIL_DEFAULT_SENDER=SENDER, **dkim_settings(key_file))
    with app.app_context():
        mailed_links.send_application_link("mari@example.ee", child_code, "et")
        db.session.commit()
    new_private, new_public = mail_identity.generate_key()
    new_file = tmp_path / "dkim-2027.pem"
    mail_identity.write_private_key(new_file, new_private)
    app.config.update(DKIM_SELECTOR="portal2027", DKIM_PRIVATE_KEY_FILE=str(new_file))
    deliver_all(app)
    message = mailbox.wait_for(to="mari@example.ee")
    assert dkim.verify(message.raw, dnsfunc=published(new_public, "portal2027"))
    assert not dkim.verify(message.raw, dnsfunc=published(key_pair[1], "portal2027"))


def test_a_tampered_message_fails_verification(make_app, mailbox, key_file, key_pair, child_code):
    app = make_app(MAIL_PORT=mailbox.smtp_port, MAIL_DEFAULT_SENDER=SENDER, **dkim_settings(key_file))
    with app.app_context():
        mailed_links.send_application_link("mari@example.ee", child_code, "et")
        db.session.commit()
    deliver_all(app)
    raw = mailbox.wait_for(to="mari@example.ee").raw
    assert dkim.verify(raw, dnsfunc=published(key_pair[1]))
    assert not dkim.verify(raw.replace(b"Subject: ", b"Subject: Re: ", 1), dnsfunc=published(key_pair[1]))


@pytest.mark.parametrize(
    "broken",
    [
        {"DKIM_PRIVATE_KEY_FILE": ""},
        {"DKIM_PRIVATE_KEY_FILE": "/nonexistent/dkim.pem"},
        {"DKIM_DOMAIN": "other.example"},
    ],
    ids=["half set", "key missing", "domain not the From's"],
)
def test_unusable_dkim_settings_keep_the_email_waiting_unsent(
    make_app, mailbox, key_file, child_code, broken
):
    """Outside production the portal starts, but nothing goes out unsigned: the e-mail waits, and its
    last error says why; with the settings put right it goes out signed."""
    app = make_app(
        MAIL_PORT=mailbox.smtp_port, MAIL_DEFAULT_SENDER=SENDER, **{**dkim_settings(key_file), **broken}
    )
    with app.app_context():
        mailed_links.send_application_link("mari@example.ee", child_code, "et")
        db.session.commit()
        assert deliver_due() == 1
        waiting = db.session.scalar(sa.select(OutboxMessage))
        assert (waiting.status, waiting.attempts) == ("pending", 1)
        assert waiting.last_error.startswith("mail settings: DKIM")
    assert mailbox.messages() == []
    app.config.update(dkim_settings(key_file))
    deliver_all(app)
    assert "DKIM-Signature" in mailbox.wait_for(to="mari@example.ee").headers


def test_an_address_with_non_ascii_letters_goes_out_over_smtputf8_signed(
    make_app, mailbox, key_file, key_pair, child_code
):
    app = make_app(MAIL_PORT=mailbox.smtp_port, MAIL_DEFAULT_SENDER=SENDER, **dkim_settings(key_file))
    with app.app_context():
        mailed_links.send_application_link("jüri@näide.ee", child_code, "et")
        db.session.commit()
    deliver_all(app)
    message = mailbox.wait_for(to="jüri@näide.ee")
    assert message.headers["To"] == "jüri@näide.ee"
    assert dkim.verify(message.raw, dnsfunc=published(key_pair[1]))
