"""Reading e-mail bytes into what the inbox shows, without ever raising on hostile input.

The compat32 policy is used on purpose: it keeps header values as plain strings instead of
parsing their structure, so broken headers cannot raise; encoded words are decoded here.
"""

import email
import email.policy
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.header import decode_header, make_header
from email.message import Message
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime
from html import unescape
from html.parser import HTMLParser

SNIPPET_LENGTH = 250
# The standard parser recurses once per nested part, so a message nested a thousand deep would
# exhaust the stack. With more multipart or message parts than this (a digest counts twice: its
# parts are messages by default), only the headers are parsed and the body is shown as text. The
# count depends on the bytes alone, so a source always parses the same way (the contentless
# search index relies on that). At the limit a parse takes at most ~400 of the 1,000 stack frames.
MAX_NESTED_PARTS = 100
_NESTING_TYPE = re.compile(rb"^content-type:\s*(multipart/digest|multipart/|message/)", re.I | re.M)
_TEXT_LINK = re.compile(r"https?://[^\s<>\"'`]+", re.I)
_LINK_TAIL = ".,;:!?)]}>'\""
_TAGS = re.compile(r"<[^>]*>")
_SIMPLE_ADDRESS = re.compile(
    r"(?:(?P<name>[\w '-]*?)\s*<(?P<angled>[\w.+-]+@[\w.-]+)>|(?P<bare>[\w.+-]+@[\w.-]+))"
)
_INVISIBLE_HTML = re.compile(r"<(script|style|head)\b.*?</\1\s*>", re.I | re.S)
# Mailpit's tag names: letters, digits, "-", "_", "." and single spaces; anything else becomes a space.
_NOT_IN_TAGS = re.compile(r"[^a-zA-Z0-9\-_. ]")


class _RawHeaderPolicy(email.policy.Compat32):
    """compat32, but 8-bit header bytes come back as they are (surrogate-escaped) instead of
    being wrapped as "unknown-8bit", so that UTF-8 sent without SMTPUTF8 still reads right."""

    def header_fetch_parse(self, name: str, value: str) -> str:
        return value


RAW_HEADERS = _RawHeaderPolicy()


@dataclass(frozen=True)
class Address:
    name: str
    address: str

    def as_api(self) -> dict:
        return {"Name": self.name, "Address": self.address}


@dataclass(frozen=True)
class Part:
    """A non-body MIME part: an attachment or an inline image; part_id is its dotted tree path."""

    part_id: str
    file_name: str
    content_type: str
    content_id: str
    size: int
    inline: bool

    def as_api(self) -> dict:
        return {
            "PartID": self.part_id,
            "FileName": self.file_name,
            "ContentType": self.content_type,
            "ContentID": self.content_id,
            "Size": self.size,
        }


@dataclass
class ParsedMessage:
    message_id: str = ""
    sender: Address = field(default_factory=lambda: Address("", ""))
    to: list[Address] = field(default_factory=list)
    cc: list[Address] = field(default_factory=list)
    bcc: list[Address] = field(default_factory=list)
    reply_to: list[Address] = field(default_factory=list)
    return_path: str = ""
    subject: str = ""
    raw_date: str = ""
    text: str = ""
    html: str = ""
    parts: list[Part] = field(default_factory=list)
    raw_headers: list[tuple[str, str]] = field(default_factory=list)

    @property
    def date(self) -> datetime | None:
        """The Date header as a time (parsed on demand: ingest does not need it)."""
        if not self.raw_date:
            return None
        try:
            parsed = parsedate_to_datetime(self.raw_date)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)

    @property
    def headers(self) -> list[tuple[str, str]]:
        """Every header in order, decoded (done on demand: ingest does not need them)."""
        return [(clean_text(name), decode_words(value)) for name, value in self.raw_headers]

    @property
    def tags(self) -> list[str]:
        """The X-Tags header's comma-separated tags, as Mailpit reads them: cleaned, each once
        (any case), sorted."""
        found: dict[str, str] = {}
        for name, value in self.raw_headers:
            if name.lower() == "x-tags":
                for tag in decode_words(value).split(","):
                    tag = clean_tag(tag)
                    found.setdefault(tag.lower(), tag)
        found.pop("", None)
        return sorted(found.values(), key=str.lower)

    @property
    def attachments(self) -> list[Part]:
        return [part for part in self.parts if not part.inline]

    @property
    def inline(self) -> list[Part]:
        return [part for part in self.parts if part.inline]

    @property
    def snippet(self) -> str:
        # Only the start matters: collapsing whitespace in a whole long body costs ingest time.
        source = self.text[: SNIPPET_LENGTH * 4] or html_to_text(self.html[: SNIPPET_LENGTH * 40])
        return " ".join(source.split())[:SNIPPET_LENGTH]

    @property
    def links(self) -> list[str]:
        """http(s) links from the text then the HTML body, decoded, each once, in order."""
        found = [_trim_link(match) for match in _TEXT_LINK.findall(self.text)]
        if self.html:
            collector = _LinkCollector()
            try:
                collector.feed(self.html)
                collector.close()
            except (AssertionError, ValueError):
                pass  # HTMLParser gives up on some garbage; the links seen so far still count
            found.extend(collector.links)
        return list(dict.fromkeys(link for link in found if link))


class _LinkCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in {"a", "area"}:
            return
        href = (dict(attrs).get("href") or "").strip()
        if href.lower().startswith(("http://", "https://")):
            self.links.append(href)


def _trim_link(link: str) -> str:
    return unescape(link.rstrip(_LINK_TAIL))


def clean_tag(tag: str) -> str:
    """A tag as Mailpit keeps it: characters it does not allow become spaces, runs of spaces one."""
    return " ".join(_NOT_IN_TAGS.sub(" ", tag).split())


def html_to_text(html: str) -> str:
    """Visible words of an HTML body, good enough for snippets and search."""
    return unescape(_TAGS.sub(" ", _INVISIBLE_HTML.sub(" ", html)))


def _valid_text(text: str) -> str:
    """Lone surrogates (which some codecs, such as unicode_escape, produce) replaced, so that the
    text can be stored and sent as UTF-8."""
    return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


def clean_text(value: str) -> str:
    """Undo the parser's surrogate escapes: raw 8-bit header bytes are read as UTF-8 if they are."""
    return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def decode_words(value: str | None) -> str:
    """A header value with RFC 2047 encoded words decoded; undecodable words stay as written."""
    if value is None:
        return ""
    text = clean_text(str(value))
    if "=?" in text:  # only then is the (slow) RFC 2047 decoder needed
        try:
            text = _valid_text(str(make_header(decode_header(text))))
        except (LookupError, ValueError, UnicodeError, AssertionError):
            pass
    return " ".join(text.split())


def _addresses(message: Message, name: str) -> list[Address]:
    values = [decode_words(value) for value in message.get_all(name, [])]
    if len(values) == 1 and (simple := _SIMPLE_ADDRESS.fullmatch(values[0])):
        # The common "Name <a@b>" or "a@b": skip the general (and slow) address-list parser.
        return [Address((simple["name"] or "").strip(), simple["angled"] or simple["bare"])]
    return [
        Address(display.strip(), address.strip())
        for display, address in getaddresses(values)
        if address.strip() or display.strip()
    ]


def _payload(part: Message) -> bytes:
    try:
        payload = part.get_payload(decode=True)
    except (ValueError, TypeError, AssertionError):
        payload = None
    if isinstance(payload, bytes):
        return payload
    raw = part.get_payload()
    return raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else b""


def _decode_body(part: Message) -> str:
    charset = part.get_content_charset() or "utf-8"
    payload = _payload(part)
    try:
        return _valid_text(payload.decode(charset, "replace"))
    except (LookupError, UnicodeError):  # an unknown or garbled charset name
        return payload.decode("utf-8", "replace")


def _leaves(part: Message, part_id: str):
    """Yield (part_id, part) for every leaf, with message/rfc822 parts kept whole."""
    children = part.get_payload() if part.is_multipart() else None
    if isinstance(children, list) and part.get_content_maintype() == "multipart":
        for index, child in enumerate(children, start=1):
            if isinstance(child, Message):
                yield from _leaves(child, f"{part_id}.{index}" if part_id else str(index))
    else:
        yield part_id or "1", part


def _part_bytes(part: Message) -> bytes:
    if part.get_content_maintype() == "message" and part.is_multipart():
        inner = part.get_payload(0)
        return inner.as_bytes() if isinstance(inner, Message) else b""
    return _payload(part)


def _describe(part_id: str, part: Message) -> Part:
    disposition = (part.get_content_disposition() or "").lower()
    content_id = decode_words(part.get("Content-ID")).strip("<> ")
    return Part(
        part_id=part_id,
        file_name=decode_words(part.get_filename() or ""),
        content_type=part.get_content_type(),
        content_id=content_id,
        size=len(_part_bytes(part)),
        inline=disposition != "attachment" and bool(content_id),
    )


def _read(raw: bytes) -> tuple[Message, bool]:
    """(the message, whether only its headers were parsed)."""
    nesting = sum(2 if kind.lower() == b"multipart/digest" else 1 for kind in _NESTING_TYPE.findall(raw))
    if nesting > MAX_NESTED_PARTS:
        return BytesParser(policy=RAW_HEADERS).parsebytes(raw, headersonly=True), True
    return email.message_from_bytes(raw, policy=RAW_HEADERS), False


def parse_message(raw: bytes) -> ParsedMessage:
    """Everything the inbox and the API show about one message; never raises on bad input."""
    message, headers_only = _read(raw)
    parsed = ParsedMessage(
        message_id=decode_words(message.get("Message-ID")).strip("<> "),
        subject=decode_words(message.get("Subject")),
        to=_addresses(message, "To"),
        cc=_addresses(message, "Cc"),
        bcc=_addresses(message, "Bcc"),
        reply_to=_addresses(message, "Reply-To"),
        return_path=decode_words(message.get("Return-Path")).strip("<> "),
        raw_date=clean_text(str(message.get("Date") or "")),
        raw_headers=message.items(),
    )
    senders = _addresses(message, "From")
    if senders:
        parsed.sender = senders[0]
    if headers_only:
        parsed.text = clean_text(str(message.get_payload()))
        return parsed
    for part_id, part in _leaves(message, ""):
        disposition = (part.get_content_disposition() or "").lower()
        content_type = part.get_content_type()
        is_body = disposition != "attachment" and not part.get_filename()
        if is_body and content_type == "text/plain" and not parsed.text:
            parsed.text = _decode_body(part)
        elif is_body and content_type == "text/html" and not parsed.html:
            parsed.html = _decode_body(part)
        elif not part.is_multipart() or content_type == "message/rfc822":
            parsed.parts.append(_describe(part_id, part))
    return parsed


def subject_of(raw: bytes) -> str:
    """The Subject alone, decoded, for the delivery log of a message that is not stored."""
    headers = BytesParser(policy=RAW_HEADERS).parsebytes(raw, headersonly=True)
    return decode_words(headers.get("Subject"))


def part_content(raw: bytes, part_id: str) -> tuple[Part, bytes] | None:
    """The decoded bytes of one attachment or inline part, or None when there is no such part."""
    message, headers_only = _read(raw)
    if headers_only:
        return None
    for leaf_id, part in _leaves(message, ""):
        if leaf_id == part_id:
            return _describe(leaf_id, part), _part_bytes(part)
    return None
