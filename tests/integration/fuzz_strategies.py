"""Hostile form input for the fuzz test: text of every Unicode category, huge and empty values, control
characters, look-alike digits, header injection, markup and SQL, and bodies that are not UTF-8."""

import io
from dataclasses import dataclass
from urllib.parse import quote_from_bytes

from hypothesis import strategies as st
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

# Every general category but Cs: a lone surrogate cannot be UTF-8, so it travels in raw bodies instead.
CATEGORIES = (
    "Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Mc", "Me", "Nd", "Nl", "No", "Pc", "Pd", "Ps", "Pe", "Pi", "Pf",
    "Po", "Sm", "Sc", "Sk", "So", "Zs", "Zl", "Zp", "Cc", "Cf", "Co", "Cn",
)  # fmt: skip

SPECIMENS = (
    "",
    " ",
    "\t\n",
    "\x00",
    "mari\x00@example.ee",
    "\x7f\x1b[31m\x08",
    "\u0085\u2028\u2029",
    # Header injection: a recipient or subject that smuggles in another header.
    "a@b.ee\r\nBcc: x@y.ee",
    "mari@example.ee\nBcc: x@y.ee",
    "mari@example.ee\rSubject: tere",
    "Mari\r\n\r\n<html>",
    "mari@example.ee%0d%0aBcc:x@y.ee",
    # Look-alike digits: full-width, Arabic-Indic, Extended Arabic-Indic, Devanagari, mathematical, Bengali.
    "５１５０３１７１０１２",
    "٥١٥٠٣١٧١٠١٢",
    "۵۱۵۰۳۱۷۱۰۱۲",
    "५१५०३१७१०१२",
    "𝟓𝟏𝟓𝟎𝟑𝟏𝟕𝟏𝟎𝟏𝟐",
    "৫১৫০৩১৭১০১২",
    "５１５０３１７1012",
    "+３７２ ５５５５ １２３４",
    "¹²³⁴⁵⁶⁷⁸⁹⁰¹",
    # Direction marks, joiners, invisible and combining characters.
    "\u202emari@example.ee",
    "Mari\u200f",
    "Ma\u200dri",
    "\ufeffMari",
    "\u200b",
    "\u0301\u0301Mari",
    "Ma\u0308ri\u0308",
    "İı ß ǅ ﬁ Å",
    "\U0001f600\U0001f469\u200d\U0001f467",
    "\U0010ffff\uffff\ufffe\ufdd0",
    # Addresses: too long, unicode local parts, IDNA, odd but valid, and broken.
    "a" * 64 + "@" + "b" * 63 + ".ee",
    "a" * 65 + "@example.ee",
    "mari@" + ".".join(["a" * 63] * 4) + ".ee",
    "a" * 300 + "@example.ee",
    "jüri@example.ee",
    "мария@пример.рф",
    "用户@例子.广告",
    "mari@münchen.de",
    "mari@xn--mnchen-3ya.de",
    "mari@xn--.ee",
    "mari@-example.ee",
    '"quoted local"@example.ee',
    "mari@[127.0.0.1]",
    "mari@localhost",
    "mari@@example.ee",
    "mari@example.ee.",
    "MARI@EXAMPLE.EE",
    " mari@example.ee ",
    "@",
    # SQL, markup, templates, format strings, paths.
    "' OR '1'='1",
    "'; DROP TABLE application; --",
    "1; SELECT pg_sleep(5)",
    "\\",
    "%_%",
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "{{ 7*7 }}{% raw %}",
    "${7*7}",
    "%(name)s %s %d {0} {}",
    "../../etc/passwd",
    # Numbers and literals other code may trip on.
    "NaN",
    "-1",
    "1e309",
    "9" * 400,
    "null",
    "[]",
    "y",
    "on",
)

# Not UTF-8: lone continuation bytes, overlong forms, an encoded surrogate, beyond U+10FFFF.
NOT_UTF8 = (
    b"\xff",
    b"\xfe\xff",
    b"\x80",
    b"\xc0\x80",
    b"\xc3",
    b"\xe2\x82",
    b"\xed\xa0\x80",
    b"\xf4\x90\x80\x80",
)

RAW_CONTENT_TYPES = (
    "application/x-www-form-urlencoded",
    "application/x-www-form-urlencoded; charset=latin-1",
    "application/x-www-form-urlencoded; charset=utf-16",
    "multipart/form-data",
    "multipart/form-data; boundary=x",
    "text/plain",
    "application/json",
)

# Put into a valid value, it passes most validators and reaches the code (and the database) behind them.
# NUL and a line break, half the time: what a database column or a mail header is likeliest to refuse.
TAINTS = st.one_of(
    st.sampled_from(["\x00", "\r\nBcc: x@y.ee"]),
    st.sampled_from(
        ["\n", "\u200d", "\u202e", "\u0301", "\ufeff", "５", "٣", "'", "<", "%", "\\", "\U0001f600"]
    ),
)

BOUNDARY = "----FuzzFormBoundary7d41b2c8e0a9"  # fixed: the test client's own comes from `random`

FIELD_NAME_SPECIMENS = ("csrf_token", "submit", "__class__", "meta", "data", "email[]", "", "\x00", "é")


# Text of one category at a time, so that each gets its turn.
ONE_CATEGORY = st.one_of(
    *(st.text(st.characters(categories=[category]), min_size=1, max_size=40) for category in CATEGORIES)
)


def either(*strategies: st.SearchStrategy) -> st.SearchStrategy:
    """One of the strategies, each as often as the others. (`st.one_of` flattens the one_ofs inside it
    into its own choices, so that one with many branches would crowd out the rest.)"""
    return st.sampled_from(strategies).flatmap(lambda chosen: chosen)


def huge_text(lengths: list[int]) -> st.SearchStrategy[str]:
    """One character many times."""
    return st.builds(
        lambda character, count: character * count,
        st.sampled_from(["a", "é", "€", "\U0001f600", "\x00", " ", "<", "5"]),
        st.sampled_from(lengths),
    )


def hostile_text(huge_lengths: list[int]) -> st.SearchStrategy[str]:
    """Any text the UTF-8 test client can send."""
    return either(
        st.sampled_from(SPECIMENS),
        st.text(),
        ONE_CATEGORY,
        st.builds(lambda a, b: a + b, st.sampled_from(SPECIMENS), st.text(max_size=20)),
        huge_text(huge_lengths),
    )


def not_utf8() -> st.SearchStrategy[bytes]:
    """Bytes a form value cannot be decoded from: lone surrogates, broken and random sequences."""
    surrogates = st.text(st.characters(categories=["Cs"]), min_size=1, max_size=8).map(
        lambda text: text.encode("utf-8", "surrogatepass")
    )
    return either(st.sampled_from(NOT_UTF8), surrogates, st.binary(min_size=1, max_size=64))


def tainted(valid: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """A valid value with a taint put in at the start, the end or somewhere between."""
    return st.builds(
        lambda value, taint, at: value[: at % (len(value) + 1)] + taint + value[at % (len(value) + 1) :],
        valid,
        TAINTS,
        st.integers(0, 60),
    )


# Around and beyond the 64 KB a request may carry.
HOSTILE_TEXT = hostile_text([255, 1_000, 20_000, 60_000, 100_000])
# Past any length check, and several fit in a request: for unknown fields, raw bodies and URLs.
HOSTILE_TEXT_SMALL = hostile_text([255, 1_000])
NOT_UTF8_VALUES = not_utf8()
RAW_VALUES = either(NOT_UTF8_VALUES, HOSTILE_TEXT_SMALL.map(str.encode))


@dataclass
class Body:
    """A POST body: keyword arguments for the test client, and how many generated values it carries."""

    client_kwargs: dict
    in_fields: int  # in the form's own fields
    in_unknown_fields: int
    shown: str  # what was posted, short enough for a report

    def __repr__(self) -> str:
        return self.shown


def _shown(pairs) -> str:
    return "{" + ", ".join(f"{name!r}: {_short(value)}" for name, value in pairs) + "}"


def _short(value) -> str:
    if isinstance(value, FileStorage):
        return f"<file {value.filename!r}, {value.stream.getbuffer().nbytes} bytes>"
    text = repr(value)
    return text if len(text) <= 90 else f"{text[:60]}…{text[-10:]} ({len(value)} long)"


@st.composite
def form_bodies(draw, fields: list[str], plausible: dict[str, st.SearchStrategy[str]]) -> Body:
    """The form's fields (plausible, hostile, tainted, missing or twice), unknown extras, in one encoding:
    url-encoded, multipart, multipart with a file in a text field, or raw bytes that are not UTF-8."""
    encoding = draw(st.sampled_from(["urlencoded", "urlencoded", "multipart", "file", "raw"]))
    if encoding == "raw":
        return draw(_raw_bodies(fields))
    # One hostile field among plausible ones reaches the code behind validation; all hostile, the validators.
    mode = draw(st.sampled_from(["one hostile", "one hostile", "all hostile", "mixed"]))
    target = draw(st.sampled_from(fields)) if fields and mode == "one hostile" else None
    pairs, generated = [], 0
    for name in fields:
        if mode == "mixed":
            choice = draw(st.sampled_from(["plausible", "hostile", "tainted", "missing", "twice"]))
        elif mode == "all hostile" or name == target:
            choice = draw(st.sampled_from(["hostile", "tainted", "tainted"]))
        else:
            choice = "plausible"
        if choice == "missing":
            continue
        valid = plausible.get(name)
        hostile = tainted(valid) if choice == "tainted" and valid is not None else HOSTILE_TEXT
        if valid is None or choice in ("hostile", "tainted"):
            values = [draw(hostile)]
        elif choice == "twice":  # which of the two does the form take?
            values = [draw(valid), draw(hostile)][:: draw(st.sampled_from([1, -1]))]
        else:
            values = [draw(valid)]
        pairs += [(name, value) for value in values]
        generated += choice != "plausible" or valid is None
    extras = draw(
        st.lists(
            st.tuples(either(st.sampled_from(FIELD_NAME_SPECIMENS), st.text()), HOSTILE_TEXT_SMALL),
            min_size=4,
            max_size=12,
        )
    )
    pairs += extras
    if encoding == "file" and pairs:
        # A file where a text field belongs: the form sees a FileStorage, not a str.
        index = draw(st.integers(0, len(pairs) - 1))
        filename = draw(st.sampled_from(["", "a.txt", "../../etc/passwd", "ü\r\n.txt"]))
        pairs[index] = (pairs[index][0], FileStorage(io.BytesIO(draw(st.binary(max_size=200))), filename))
    if encoding == "urlencoded":
        client_kwargs = {"data": MultiDict(pairs)}
    else:
        # Encoded here, in memory: the test client would spool a big body to a file nobody closes.
        boundary, data = encode_multipart(MultiDict(pairs), boundary=BOUNDARY)
        client_kwargs = {"data": data, "content_type": f"multipart/form-data; boundary={boundary}"}
    return Body(client_kwargs, generated, len(extras), f"{encoding} {_shown(pairs)}")


@st.composite
def _raw_bodies(draw, fields: list[str]) -> Body:
    """name=value pairs whose values (and some names) are not UTF-8, escaped or not, or plain garbage."""
    unknown = draw(st.lists(NOT_UTF8_VALUES, min_size=1, max_size=3))
    names = [name.encode() for name in fields] + unknown
    pairs = [(name, draw(RAW_VALUES)) for name in names]
    escaped = draw(st.booleans())
    body = b"&".join(
        (quote_from_bytes(name).encode() + b"=" + quote_from_bytes(value).encode())
        if escaped
        else name + b"=" + value
        for name, value in pairs
    )
    if draw(st.booleans()):
        body += draw(st.binary(max_size=64))
    content_type = draw(st.sampled_from(RAW_CONTENT_TYPES))
    shown = f"raw {content_type} {body[:200]!r}"
    return Body({"data": body, "content_type": content_type}, len(fields), len(unknown), shown)
