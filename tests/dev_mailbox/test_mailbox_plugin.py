"""The `mailbox` fixture's interface, as the web app's tests use it."""

import json
import smtplib

import pytest
from mailbox_helpers import RunningCLI, call, make_message, run_python, send

pytestmark = pytest.mark.smtp


def test_message_fields(mailbox):
    send(
        mailbox,
        make_message(
            to="Lapsevanem <parent@example.com>",
            subject="Tere",
            text="https://a.example/1 and https://a.example/1.",
            html='<a href="https://a.example/2">2</a>',
        ),
    )
    message = mailbox.wait_for(to="parent@example.com", subject="tere")
    assert message.subject == "Tere"
    assert message.sender == "noreply@kool.example"
    assert message.to == ["parent@example.com"]
    assert message.links == ["https://a.example/1", "https://a.example/2"]
    assert message.folder == "inbox"
    assert message.headers["subject"] == "Tere" and "From" in message.headers
    assert message.raw.startswith(b"From:") or b"\r\nSubject: Tere" in message.raw
    assert "https://a.example/1" in message.text and "a.example/2" in message.html


def test_messages_oldest_first_and_by_recipient(mailbox):
    send(mailbox, to="a@example.com", subject="one")
    send(mailbox, to="b@example.com", subject="two")
    send(mailbox, to="a@example.com", subject="three")
    assert [m.subject for m in mailbox.messages()] == ["one", "two", "three"]
    assert [m.subject for m in mailbox.messages(to="A@example.com")] == ["one", "three"]
    assert mailbox.wait_for(to="a@example.com").subject == "three"


def test_wait_for_timeout_says_what_did_arrive(mailbox):
    mailbox.add_rule("typo@gmial.com", "reject")
    send(mailbox, to="someone@example.com", subject="Unrelated")
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        send(mailbox, to="typo@gmial.com")
    with pytest.raises(AssertionError) as failure:
        mailbox.wait_for(to="typo@gmial.com", timeout=0.3)
    report = str(failure.value)
    assert "'Unrelated'" in report and "rejected typo@gmial.com" in report


def test_stop_refuses_connections_and_start_resumes_on_the_same_port_and_db(mailbox):
    send(mailbox, subject="before")
    port, url = mailbox.smtp_port, mailbox.api_url
    mailbox.stop()
    with pytest.raises(ConnectionRefusedError):
        send(mailbox, subject="while down")
    mailbox.start()
    assert (mailbox.smtp_port, mailbox.api_url) == (port, url)
    send(mailbox, subject="after")
    assert [m.subject for m in mailbox.messages()] == ["before", "after"]


def test_clear_empties_messages_and_log_but_keeps_rules(mailbox):
    mailbox.add_rule("x@example.com", "spam")
    send(mailbox, to="x@example.com")
    mailbox.clear()
    assert mailbox.messages() == [] and mailbox.log() == []
    send(mailbox, to="x@example.com")
    assert mailbox.wait_for(to="x@example.com").folder == "spam"


def test_invalid_rule_from_a_test_raises(mailbox):
    from dev_mailbox.scenarios import ScenarioError

    with pytest.raises(ScenarioError):
        mailbox.add_rule("re:((", "spam")


def test_plugin_import_is_cheap():
    """The entry point loads in every pytest run: it must not pull in the server stack."""
    code = (
        "import sys, dev_mailbox.pytest_plugin; "
        "heavy = {'flask', 'aiosmtpd', 'sqlite3', 'dev_mailbox.server'} & set(sys.modules); "
        "print(sorted(heavy))"
    )
    output = run_python("-c", code).stdout
    assert output.strip() == "[]"


def test_cli_help_and_bad_rules_file(tmp_path):
    help_text = run_python("-m", "dev_mailbox", "--help").stdout
    for option in (
        "--smtp-port",
        "--http-port",
        "--db",
        "--max-size",
        "--max-messages",
        "--max-age",
        "--rules",
    ):
        assert option in help_text
    rules = tmp_path / "rules.json"
    rules.write_text('[{"match": "re:((", "action": "spam"}]')
    failed = run_python("-m", "dev_mailbox", "--rules", str(rules), "--db", str(tmp_path / "x"), check=False)
    assert failed.returncode == 2 and "invalid regular expression" in failed.stderr
    not_a_database = tmp_path / "notes.txt"
    not_a_database.write_text("just text")
    failed = run_python("-m", "dev_mailbox", "--db", str(not_a_database), "--smtp-port", "0", check=False)
    assert failed.returncode == 1 and "cannot start: file is not a database" in failed.stderr


def test_cli_runs_alone_applies_rules_and_keeps_mail_across_restarts(tmp_path):
    rules = tmp_path / "rules.json"
    rules.write_text(
        json.dumps(
            {
                "rules": [{"match": "*@gmial.com", "action": "spam"}],
                "chaos": {"Sender": {"ErrorCode": 451, "Probability": 0}},
            }
        )
    )
    database = tmp_path / "cli.sqlite3"
    cli = RunningCLI("--db", str(database), "--rules", str(rules))
    try:
        send(cli, to="parent@gmial.com", subject="Via CLI")
        _, listing, _ = call(cli, "GET", "/api/v1/messages")
        assert [(m["Subject"], m["Tags"]) for m in listing["messages"]] == [("Via CLI", ["spam"])]
    finally:
        assert cli.stop() == 0
    cli = RunningCLI("--db", str(database))
    try:
        _, listing, _ = call(cli, "GET", "/api/v1/messages")
        assert [m["Subject"] for m in listing["messages"]] == ["Via CLI"]
        assert call(cli, "GET", "/api/v1/rules")[1] == [{"match": "*@gmial.com", "action": "spam"}]
    finally:
        assert cli.stop() == 0
