"""The portal's e-mails, every kind in every language, as the portal sends them, score under 1.0 with
SpamAssassin (the dev mailbox's own spamd, local tests only). `make test` installs SpamAssassin: without
it these tests fail, they do not skip."""

import json
import urllib.request

import pytest

from dev_mailbox.spam import find_spamd
from tests.integration.test_mail_identity import deliver_all, dkim_settings, send_every_kind
from webapp import config, mail_identity
from webapp.outbox import TAGS

pytestmark = pytest.mark.smtp

MAX_SCORE = 1.0
# What `make run` sends with: the development defaults, without a Reply-To or a DKIM key.
MAKE_RUN_SETTINGS = ("BASE_URL", "MAIL_DEFAULT_SENDER", "SCHOOL_NAME", "SCHOOL_IT_EMAIL", "MAIL_REPLY_TO")
# A school's own settings: its address, a person to reply to, the e-mail signed.
SCHOOL_SETTINGS = {
    "BASE_URL": "https://vanemad.testkool.example",
    "MAIL_DEFAULT_SENDER": "Testkool <noreply@testkool.example>",
    "MAIL_REPLY_TO": "Anne Õpetaja <anne@testkool.example>",
    "SCHOOL_NAME": "Testkool",
    "SCHOOL_IT_EMAIL": "it@testkool.example",
}


@pytest.fixture
def make_run_settings(monkeypatch, tmp_path) -> dict:
    for name in MAKE_RUN_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("APP_ENV", "development")
    defaults = config.from_environment(tmp_path)
    return {name: defaults[name] for name in MAKE_RUN_SETTINGS}


@pytest.fixture
def key_file(tmp_path):
    path = tmp_path / "dkim.pem"
    mail_identity.write_private_key(path, mail_identity.generate_key()[0])
    return path


def spam_check(mailbox, message_id: str) -> dict:
    # The first check waits for spamd to start (a few seconds, longer on a busy machine).
    url = f"{mailbox.api_url}/api/v1/message/{message_id}/sa-check"
    with urllib.request.urlopen(url, timeout=180) as response:  # noqa: S310 - our own mailbox
        return json.loads(response.read())


def failing(mailbox) -> dict[str, dict]:
    """The spam checks of the e-mails received that score MAX_SCORE or more (or have none), by kind."""
    received = mailbox.messages()
    assert {message.headers["X-Tags"] for message in received} == set(TAGS.values())
    checked = {
        f"{message.headers['X-Tags']}: {message.subject}": spam_check(mailbox, message.id)
        for message in received
    }
    return {
        kind: result for kind, result in checked.items() if result["Error"] or result["Score"] >= MAX_SCORE
    }


def test_spamassassin_is_installed():
    assert find_spamd(), "SpamAssassin's spamd is missing: make test installs it (make spamassassin)"


@pytest.mark.parametrize("locale", ["et", "ru", "en"])
def test_every_kind_as_make_run_sends_it_scores_under_one(make_app, mailbox, make_run_settings, locale):
    app = make_app(MAIL_PORT=mailbox.smtp_port, **make_run_settings)
    send_every_kind(app, app.test_client(), locale)
    deliver_all(app)
    assert (found := failing(mailbox)) == {}, json.dumps(found, indent=1, ensure_ascii=False)


def test_every_kind_with_a_schools_settings_and_dkim_scores_under_one(make_app, mailbox, key_file):
    app = make_app(MAIL_PORT=mailbox.smtp_port, **SCHOOL_SETTINGS, **dkim_settings(key_file))
    send_every_kind(app, app.test_client(), "et")
    deliver_all(app)
    assert (found := failing(mailbox)) == {}, json.dumps(found, indent=1, ensure_ascii=False)
