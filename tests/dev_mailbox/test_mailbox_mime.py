"""Parsing hostile sources: whatever the bytes, parse_message returns text that can be stored,
and parses the same source the same way wherever it is called from."""

import sys

import pytest
from mailbox_helpers import nested_parts

from dev_mailbox.mime import MAX_NESTED_PARTS, parse_message


def at_stack_depth(frames: int, call):
    """Run `call` with `frames` more frames on the stack, as deep inside a web request."""
    return call() if frames == 0 else at_stack_depth(frames - 1, call)


def test_parts_nested_up_to_the_limit_are_parsed_beyond_it_shown_as_text():
    assert parse_message(nested_parts(MAX_NESTED_PARTS)).text.strip() == "sees"
    beyond = parse_message(nested_parts(MAX_NESTED_PARTS + 1))
    assert beyond.subject == "pesa" and "--b0" in beyond.text and beyond.parts == []


def messages_in_messages(depth: int) -> bytes:
    return b"Subject: pesa\r\n" + b"Content-Type: message/rfc822\r\n\r\n" * depth + b"\r\nsees\r\n"


@pytest.mark.parametrize(
    "source",
    [
        nested_parts(MAX_NESTED_PARTS),
        nested_parts(MAX_NESTED_PARTS // 2, "digest"),
        messages_in_messages(MAX_NESTED_PARTS),
    ],
    ids=["multipart", "digests", "messages"],
)
def test_the_deepest_parse_allowed_fits_in_the_stack_of_a_busy_thread(source):
    """The worst cases at the limit take about 400 frames; a web request holds well under 500."""
    parsed = at_stack_depth(sys.getrecursionlimit() - 500, lambda: parse_message(source))
    assert parsed.subject == "pesa"
    one_more = parse_message(source + b"Content-Type: message/rfc822\r\n")
    assert "Content-Type" in one_more.text and "Content-Type" not in parsed.text


def test_many_parts_side_by_side_are_parsed_as_parts():
    forwarded = b"".join(
        b"--side\r\nContent-Type: text/plain\r\n"
        b"Content-Disposition: attachment; filename=f%d.txt\r\n\r\nx\r\n" % number
        for number in range(300)
    )
    source = b'Content-Type: multipart/mixed; boundary="side"\r\n\r\n' + forwarded + b"--side--\r\n"
    assert len(parse_message(source).attachments) == 300


@pytest.mark.parametrize(
    "source",
    [
        b"Content-Type: text/plain; charset=unicode_escape\r\n\r\nab\\ud800cd\r\n",
        b"Subject: =?unicode_escape?q?\\ud800x?=\r\n\r\nbody\r\n",
        b"From: =?unicode_escape?q?\\udfff?= <a@example.com>\r\n\r\nbody\r\n",
    ],
)
def test_lone_surrogates_from_odd_charsets_become_replacement_characters(source):
    parsed = parse_message(source)
    for text in (parsed.text, parsed.subject, parsed.sender.name):
        text.encode("utf-8")  # raises on a lone surrogate
    assert "\ufffd" in parsed.text + parsed.subject + parsed.sender.name
