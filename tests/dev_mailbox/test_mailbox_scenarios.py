"""Delivery scenarios end to end: rules and chaos seen by a real SMTP client."""

import smtplib
import time

import pytest
from mailbox_helpers import make_message, send

from dev_mailbox import scenarios

pytestmark = pytest.mark.smtp


def outcomes(mailbox) -> list[tuple[str, str]]:
    return [(entry.action, entry.recipient) for entry in mailbox.log()]


def test_default_is_deliver_and_logged(mailbox):
    send(mailbox, to="parent@example.com")
    assert mailbox.wait_for(to="parent@example.com").folder == "inbox"
    [entry] = mailbox.log()
    assert (entry.action, entry.recipient, entry.reason) == ("delivered", "parent@example.com", "default")
    assert entry.message == mailbox.messages()[0].id


def test_glob_rule_sends_to_spam(mailbox, api):
    mailbox.add_rule("*@gmial.com", "spam")
    send(mailbox, to="parent@gmial.com")
    message = mailbox.wait_for(to="parent@gmial.com")
    assert message.folder == "spam"
    _, listing, _ = api("GET", "/api/v1/messages")
    assert listing["messages"][0]["Tags"] == ["spam"] and listing["tags"] == ["spam"]
    _, found, _ = api("GET", "/api/v1/search?query=is:spam")
    assert [m["ID"] for m in found["messages"]] == [message.id]
    assert mailbox.log()[-1].reason == "rule 1: *@gmial.com → spam"


def test_drop_answers_250_but_stores_nothing(mailbox):
    mailbox.add_rule("lost@example.com", "drop")
    assert send(mailbox, to="lost@example.com") == {}
    assert mailbox.messages() == []
    assert outcomes(mailbox) == [("dropped", "lost@example.com")]


def test_mixed_recipients_each_get_their_own_fate(mailbox):
    mailbox.add_rule("re:^spam\\d+@", "spam")
    mailbox.add_rule("lost@example.com", "drop")
    message = make_message(to="a@example.com, spam1@example.com, lost@example.com")
    send(mailbox, message)
    stored = {m.folder: m.recipients for m in mailbox.messages()}
    assert stored == {"inbox": ["a@example.com"], "spam": ["spam1@example.com"]}
    assert sorted(outcomes(mailbox)) == [
        ("delivered", "a@example.com"),
        ("dropped", "lost@example.com"),
        ("spam", "spam1@example.com"),
    ]


def test_reject_is_550_at_rcpt(mailbox):
    mailbox.add_rule("nobody@example.com", "reject")
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        send(mailbox, to="nobody@example.com")
    code, reply = refused.value.recipients["nobody@example.com"]
    assert code == 550 and b"5.1.1" in reply
    assert outcomes(mailbox) == [("rejected", "nobody@example.com")]


def test_tempfail_is_451_at_rcpt_and_other_recipients_still_get_mail(mailbox):
    mailbox.add_rule("busy@example.com", "tempfail")
    refused = send(mailbox, to="busy@example.com, ok@example.com")
    assert refused["busy@example.com"][0] == 451
    assert b"4.3.0" in refused["busy@example.com"][1]
    assert mailbox.wait_for(to="ok@example.com").recipients == ["ok@example.com"]


def test_disconnect_closes_the_connection_mid_session(mailbox):
    mailbox.add_rule("gone@example.com", "disconnect")
    with pytest.raises(smtplib.SMTPServerDisconnected):
        send(mailbox, to="gone@example.com")
    assert mailbox.messages() == []
    assert outcomes(mailbox) == [("disconnected", "gone@example.com")]
    send(mailbox, to="after@example.com")  # the server itself is fine
    mailbox.wait_for(to="after@example.com")


def test_delay_waits_before_the_250(mailbox):
    mailbox.add_rule("slow@example.com", "delay", seconds=1)
    started = time.monotonic()
    send(mailbox, to="slow@example.com")
    assert time.monotonic() - started >= 1.0
    assert mailbox.wait_for(to="slow@example.com", timeout=0).folder == "inbox"
    assert outcomes(mailbox) == [("delayed", "slow@example.com")]


def test_client_giving_up_during_delay_stores_nothing(mailbox):
    mailbox.add_rule("slow@example.com", "delay", seconds=5)
    with smtplib.SMTP(mailbox.smtp_host, mailbox.smtp_port, timeout=0.5) as client:
        with pytest.raises(smtplib.SMTPServerDisconnected, match="timed out"):
            client.send_message(make_message(to="slow@example.com"))
    deadline = time.monotonic() + 5
    while ("disconnected", "slow@example.com") not in outcomes(mailbox):
        assert time.monotonic() < deadline, outcomes(mailbox)
        time.sleep(0.05)
    assert mailbox.messages() == []


def test_first_matching_rule_wins(mailbox):
    mailbox.add_rule("vip@gmial.com", "deliver")
    mailbox.add_rule("*@gmial.com", "reject")
    send(mailbox, to="vip@gmial.com")
    assert mailbox.wait_for(to="vip@gmial.com").folder == "inbox"
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        send(mailbox, to="other@gmial.com")


@pytest.mark.parametrize(
    ("stage", "error"),
    [
        ("sender", smtplib.SMTPSenderRefused),
        ("recipient", smtplib.SMTPRecipientsRefused),
        ("data", smtplib.SMTPDataError),
    ],
)
def test_chaos_at_certainty_fails_that_stage(mailbox, stage, error):
    mailbox.set_chaos(**{stage: 100}, error_code=452)
    with pytest.raises(error) as failure:
        send(mailbox)
    assert "452" in str(failure.value)
    assert mailbox.messages() == []
    assert mailbox.log()[-1].reason == f"chaos: {stage}"
    assert mailbox.log()[-1].action == "tempfailed"


def test_chaos_authentication_and_any_login_otherwise(mailbox):
    with smtplib.SMTP(mailbox.smtp_host, mailbox.smtp_port, timeout=10) as client:
        client.login("anyone", "anything")
    mailbox.set_chaos(authentication=100, error_code=535)
    with smtplib.SMTP(mailbox.smtp_host, mailbox.smtp_port, timeout=10) as client:
        with pytest.raises(smtplib.SMTPAuthenticationError):
            client.login("anyone", "anything")


def test_chaos_at_zero_never_fails(mailbox):
    mailbox.set_chaos(sender=0, recipient=0, data=0)
    for _ in range(5):
        send(mailbox)
    assert len(mailbox.messages()) == 5


def test_rules_and_chaos_through_the_api_survive_a_restart(mailbox, api):
    rules = [{"match": "re:^qa\\+", "action": "spam"}, {"match": "x@y.z", "action": "delay", "seconds": 2}]
    status, saved, _ = api("PUT", "/api/v1/rules", rules)
    assert status == 200 and saved == rules
    status, chaos, _ = api("PUT", "/api/v1/chaos", {"Data": {"ErrorCode": 421, "Probability": 5}})
    assert status == 200 and chaos["Data"] == {"ErrorCode": 421, "Probability": 5}
    assert chaos["Sender"] == {"ErrorCode": 451, "Probability": 0}
    mailbox.stop()
    mailbox.start()
    assert api("GET", "/api/v1/rules")[1] == rules
    assert api("GET", "/api/v1/chaos")[1]["Data"] == {"ErrorCode": 421, "Probability": 5}


def test_chaos_put_replaces_the_whole_setting_as_mailpit_does(mailbox, api):
    api("PUT", "/api/v1/chaos", {"Sender": {"ErrorCode": 452, "Probability": 50}})
    status, chaos, _ = api("PUT", "/api/v1/chaos", {"Recipient": {"Probability": 10}})
    assert status == 200
    assert chaos == {
        "Sender": {"ErrorCode": 451, "Probability": 0},
        "Recipient": {"ErrorCode": 451, "Probability": 10},
        "Data": {"ErrorCode": 451, "Probability": 0},
        "Authentication": {"ErrorCode": 535, "Probability": 0},
    }


@pytest.mark.parametrize(
    ("path", "body", "says"),
    [
        ("/api/v1/rules", [{"match": "re:([", "action": "spam"}], "invalid regular expression"),
        ("/api/v1/rules", [{"match": "a@b.c", "action": "explode"}], "action must be one of"),
        ("/api/v1/rules", [{"match": "a@b.c", "action": "delay"}], "needs seconds"),
        ("/api/v1/rules", [{"match": "a@b.c", "action": "delay", "seconds": -1}], "more than 0"),
        ("/api/v1/rules", [{"match": "", "action": "spam"}], "non-empty"),
        ("/api/v1/rules", {"match": "a"}, "JSON list"),
        ("/api/v1/chaos", {"Sender": {"ErrorCode": 451, "Probability": 101}}, "0 to 100"),
        ("/api/v1/chaos", {"Sender": {"ErrorCode": 251, "Probability": 1}}, "400 to 599"),
        ("/api/v1/chaos", {"Helo": {"ErrorCode": 451, "Probability": 1}}, "unknown chaos"),
        ("/api/v1/chaos", b"[", "malformed JSON"),
    ],
)
def test_invalid_scenarios_are_400_and_change_nothing(mailbox, api, path, body, says):
    before = api("GET", path)[1]
    status, answer, _ = api("PUT", path, body)
    assert status == 400 and says in answer["Error"]
    assert api("GET", path)[1] == before


def test_log_api_lists_outcomes_newest_first(mailbox, api):
    mailbox.add_rule("no@example.com", "reject")
    send(mailbox, to="yes@example.com")
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        send(mailbox, to="no@example.com")
    _, log, _ = api("GET", "/api/v1/log")
    assert [(e["Action"], e["Recipient"]) for e in log["entries"]] == [
        ("rejected", "no@example.com"),
        ("delivered", "yes@example.com"),
    ]
    assert log["entries"][0]["Reason"] == "rule 1: no@example.com → reject"


def test_rule_parsing_matches_case_insensitively():
    rules = scenarios.parse_rules([{"match": "Parent@Example.com", "action": "spam"}])
    assert scenarios.decide(rules, "parent@EXAMPLE.com").action == "spam"
    assert scenarios.decide(rules, "other@example.com") == scenarios.DEFAULT_DECISION
