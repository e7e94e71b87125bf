"""One recipient's view (a demo participant's mailbox): a signed link, only that address's mail; rules
that apply a number of times ("the next e-mail"); clearing the delivery log."""

import re
import smtplib
import threading
import time

import pytest
from mailbox_helpers import call, make_message, send

from dev_mailbox.access import sign_recipient
from dev_mailbox.scenarios import Rule, ScenarioError, parse_rules, used_once
from dev_mailbox.testing import MailboxHandle

pytestmark = pytest.mark.smtp
TOKEN = "demo-token-0123456789abcdef"


@pytest.fixture
def guarded(tmp_path):
    handle = MailboxHandle(tmp_path / "guarded.sqlite3", access_token=TOKEN)
    handle.start()
    try:
        yield handle
    finally:
        handle.stop()


def view_path(address: str, token: str = TOKEN) -> str:
    return f"/minu/{sign_recipient(token, address)}/"


def text(payload: bytes) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", payload.decode()).split())


def test_a_participant_sees_only_their_own_mail_in_both_folders(guarded):
    guarded.add_rule("kati@demo.kool", "spam")
    send(guarded, to="mari@demo.kool", subject="Mari kiri")
    send(guarded, to="jaan@demo.kool", subject="Jaani kiri")
    send(guarded, to="kati@demo.kool", subject="Kati kiri")

    status, page, headers = call(guarded, "GET", view_path("Mari@demo.kool") + "?lang=en")
    assert status == 200
    shown = text(page)
    assert "Mari kiri" in shown and "Jaani kiri" not in shown and "Kati kiri" not in shown
    assert "Inbox (1)" in shown and "Spam (0)" in shown

    shown = text(call(guarded, "GET", view_path("kati@demo.kool") + "?lang=en")[1])
    assert "Spam (1)" in shown and "Kati kiri" in shown and "Mari kiri" not in shown


def test_the_view_needs_no_token_but_everything_else_still_does(guarded):
    send(guarded, to="mari@demo.kool")
    assert call(guarded, "GET", view_path("mari@demo.kool"))[0] == 200
    assert call(guarded, "GET", "/")[0] == 401
    assert call(guarded, "GET", "/api/v1/messages")[0] == 401


@pytest.mark.parametrize(
    "path",
    [
        "/minu/",
        "/minu/mari@demo.kool/",
        "/minu/" + sign_recipient("another-token-0123456789", "mari@demo.kool") + "/",
        # The signature of one address on another's payload.
        "/minu/"
        + sign_recipient(TOKEN, "jaan@demo.kool").split(".")[0]
        + "."
        + sign_recipient(TOKEN, "mari@demo.kool").split(".")[1]
        + "/",
        "/minu/" + "x" * 2000 + "/",
        "/minu/%FF%FE/",
    ],
)
def test_forged_changed_or_garbled_links_open_nothing(guarded, path):
    send(guarded, to="mari@demo.kool", subject="Salajane")
    status, page, _headers = call(guarded, "GET", path)
    assert status in (401, 404)
    assert b"Salajane" not in page


def test_without_an_access_token_there_is_no_recipient_view(mailbox):
    send(mailbox, to="mari@demo.kool")
    assert call(mailbox, "GET", view_path("mari@demo.kool"))[0] == 404


def test_a_message_opens_with_clickable_links_and_only_for_its_recipient(guarded):
    send(guarded, to="mari@demo.kool", subject="Link", text="Ava: http://portal.test/taotlus/vorm/abc.\n")
    send(guarded, to="jaan@demo.kool", subject="Jaani")
    found = {message.subject: message.id for message in guarded.messages()}
    status, page, _headers = call(guarded, "GET", view_path("mari@demo.kool") + found["Link"])
    assert status == 200
    assert b'<a href="http://portal.test/taotlus/vorm/abc">' in page
    assert call(guarded, "GET", view_path("mari@demo.kool") + found["Jaani"])[0] == 404


def test_the_view_is_live(guarded):
    """The event stream says "change" when mail arrives; the page then fetches itself again."""
    import http.client

    host, port = guarded.api_url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    connection.request("GET", view_path("mari@demo.kool") + "events")
    response = connection.getresponse()
    assert response.status == 200
    assert response.headers.get_content_type() == "text/event-stream"
    threading.Timer(0.3, lambda: send(guarded, to="mari@demo.kool")).start()
    lines = []
    deadline = time.monotonic() + 10
    while "event: change" not in lines and time.monotonic() < deadline:
        lines.append(response.fp.readline().decode().strip())
    connection.close()
    assert "event: change" in lines


def test_a_rule_with_times_applies_to_the_next_emails_only(guarded):
    status, rules, _headers = call(
        guarded,
        "PUT",
        "/api/v1/rules",
        [{"match": "mari@demo.kool", "action": "spam", "times": 1}],
        {"Authorization": f"Bearer {TOKEN}"},
    )
    assert status == 200 and rules == [{"match": "mari@demo.kool", "action": "spam", "times": 1}]
    send(guarded, to="mari@demo.kool", subject="first")
    send(guarded, to="mari@demo.kool", subject="second")
    folders = {message.subject: message.folder for message in guarded.messages()}
    assert folders == {"first": "spam", "second": "inbox"}
    # Used up, and so saved: a restart does not bring it back.
    guarded.stop()
    guarded.start()
    assert call(guarded, "GET", "/api/v1/rules", None, {"Authorization": f"Bearer {TOKEN}"})[1] == []


def test_a_refusal_with_times_is_counted_at_rcpt(guarded):
    guarded_rules = [{"match": "mari@demo.kool", "action": "tempfail", "times": 2}]
    call(guarded, "PUT", "/api/v1/rules", guarded_rules, {"Authorization": f"Bearer {TOKEN}"})
    for _attempt in range(2):
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            send(guarded, to="mari@demo.kool")
    send(guarded, to="mari@demo.kool", subject="at last")
    assert [message.subject for message in guarded.messages()] == ["at last"]


def test_times_is_checked():
    assert parse_rules([{"match": "a@b", "action": "drop", "times": 3}]) == [Rule("a@b", "drop", times=3)]
    for wrong in (0, -1, 1001, 1.5, True, "1"):
        with pytest.raises(ScenarioError, match="times"):
            parse_rules([{"match": "a@b", "action": "drop", "times": wrong}])


def test_used_once_counts_down_and_removes():
    once, twice, always = Rule("a@b", "spam", times=1), Rule("c@d", "drop", times=2), Rule("*", "deliver")
    assert used_once([once, twice, always], once) == [twice, always]
    assert used_once([once, twice, always], twice) == [once, Rule("c@d", "drop", times=1), always]
    assert used_once([once, always], always) == [once, always]


def test_the_scenarios_form_keeps_times(guarded):
    call(
        guarded,
        "PUT",
        "/api/v1/rules",
        [{"match": "mari@demo.kool", "action": "spam", "times": 2}],
        {"Authorization": f"Bearer {TOKEN}"},
    )
    status, page, _headers = call(
        guarded, "GET", "/scenarios", None, {"Cookie": f"dev_mailbox_token={TOKEN}"}
    )
    assert status == 200
    assert b'name="times" inputmode="numeric" value="2"' in page


def test_the_delivery_log_can_be_cleared(guarded):
    send(guarded, message=make_message(to="mari@demo.kool"))
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    assert call(guarded, "GET", "/api/v1/log", None, bearer)[1]["entries"]
    assert call(guarded, "DELETE", "/api/v1/log", None, bearer)[0] == 200
    assert call(guarded, "GET", "/api/v1/log", None, bearer)[1]["entries"] == []
