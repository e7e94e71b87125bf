"""A message's HTML and CSS against e-mail clients' support for them, shaped like Mailpit's
`/api/v1/message/{ID}/html-check`.

The support data is caniemail's (the `caniemail` package from the npm registry, copied to
dev_mailbox/data/caniemail.json at set-up). Each feature found in the HTML becomes a warning with
every client version's support and the share of them that support it, partly or not at all; the
total is Mailpit's: the worst feature's share, weighted by how often it occurs among the elements.

Unlike Mailpit, CSS in <style> blocks is not inlined into the elements first: a declaration there
counts once per rule, one in a style attribute once per element. Support written as "y #1" is
support with a note (Mailpit counts it as partial), and "u" (not known) counts for nothing.
"""

import html
import json
import os
import re
from dataclasses import dataclass
from functools import cache
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

DATA_VARIABLE = "DEV_MAILBOX_CANIEMAIL"
DATA_FILE = Path(__file__).with_name("data") / "caniemail.json"

# Elements and attributes, each a test of (tag, attributes) -> bool.
_SEMANTIC = {
    "article", "aside", "details", "figcaption", "figure", "footer", "header",
    "main", "mark", "nav", "section", "summary", "time",
}  # fmt: skip
HTML_TESTS: dict[str, Any] = {
    "html-object": lambda tag, a: tag in ("object", "embed"),
    "html-link": lambda tag, a: tag == "link",
    "html-hr": lambda tag, a: tag == "hr",
    "html-dialog": lambda tag, a: tag == "dialog",
    "html-srcset": lambda tag, a: "srcset" in a,
    "html-picture": lambda tag, a: tag == "picture",
    "html-svg": lambda tag, a: tag == "svg",
    "html-progress": lambda tag, a: tag == "progress",
    "html-required": lambda tag, a: "required" in a,
    "html-meter": lambda tag, a: tag == "meter",
    "html-audio": lambda tag, a: tag == "audio",
    "html-form": lambda tag, a: tag == "form",
    "html-input-submit": lambda tag, a: tag == "input" and a.get("type", "").lower() == "submit",
    "html-input-reset": lambda tag, a: tag == "input" and a.get("type", "").lower() == "reset",
    "html-button-reset": lambda tag, a: tag == "button" and a.get("type", "").lower() == "reset",
    "html-button-submit": lambda tag, a: tag == "button" and a.get("type", "").lower() == "submit",
    "html-base": lambda tag, a: tag == "base",
    "html-input-checkbox": lambda tag, a: tag == "input" and a.get("type", "").lower() == "checkbox",
    "html-input-hidden": lambda tag, a: a.get("type", "").lower() == "hidden",
    "html-input-radio": lambda tag, a: tag == "input" and a.get("type", "").lower() == "radio",
    "html-input-text": lambda tag, a: tag == "input" and a.get("type", "").lower() == "text",
    "html-video": lambda tag, a: tag == "video",
    "html-semantics": lambda tag, a: tag in _SEMANTIC,
    "html-select": lambda tag, a: tag == "select",
    "html-textarea": lambda tag, a: tag == "textarea",
    "html-anchor-links": lambda tag, a: tag == "a" and a.get("href", "").startswith("#"),
    "html-style": lambda tag, a: tag == "style",
    "html-image-maps": lambda tag, a: tag == "map" or (tag == "img" and "usemap" in a),
    "html-background": lambda tag, a: "background" in a,
    "html-height": lambda tag, a: "height" in a and tag != "meta",
    "html-width": lambda tag, a: "width" in a and tag != "meta",
    # Styling attributes that caniemail files under the CSS they stand for.
    "css-background-color": lambda tag, a: "bgcolor" in a,
    "css-border": lambda tag, a: "border" in a,
}

# Image formats, by the address of an <img> (jpg and png work everywhere).
IMAGE_TESTS = {
    "image-apng": re.compile(r"\.apng$", re.I),
    "image-avif": re.compile(r"\.avif$", re.I),
    "image-base64": re.compile(r"^data:image/", re.I),
    "image-bmp": re.compile(r"\.bmp$", re.I),
    "image-gif": re.compile(r"\.gif$", re.I),
    "image-hdr": re.compile(r"\.hdr$", re.I),
    "image-heif": re.compile(r"\.heic$|\.heif$", re.I),
    "image-ico": re.compile(r"\.ico$", re.I),
    "image-mp4": re.compile(r"\.mp4$", re.I),
    "image-svg": re.compile(r"\.svg$", re.I),
    "image-tiff": re.compile(r"\.tiff?$", re.I),
    "image-webp": re.compile(r"\.webp$", re.I),
}


@dataclass(frozen=True)
class DeclarationTest:
    """A CSS declaration whose property name (and, when given, value) match."""

    name: re.Pattern | None
    value: re.Pattern | None = None

    def matches(self, name: str, value: str) -> bool:
        return (self.name is None or bool(self.name.fullmatch(name))) and (
            self.value is None or bool(self.value.search(value))
        )


def _names(pattern: str) -> re.Pattern:
    return re.compile(pattern, re.I)


_values = _names


# Declarations beyond the plain "css-<property>" features, which come from the data itself.
DECLARATION_TESTS = {
    "css-display-flex": DeclarationTest(_names("display"), _values(r"\b(inline-)?flex\b")),
    "css-display-grid": DeclarationTest(_names("display"), _values(r"\b(inline-)?grid\b")),
    "css-display-none": DeclarationTest(_names("display"), _values(r"^\s*none\b")),
    "css-flex-direction": DeclarationTest(_names("flex-direction")),
    "css-flex-wrap": DeclarationTest(_names("flex-wrap")),
    "css-font": DeclarationTest(_names("font")),
    "css-gap": DeclarationTest(_names("gap|column-gap|row-gap")),
    "css-grid-template": DeclarationTest(_names(r"grid-template(-[a-z]+)?")),
    "css-height": DeclarationTest(_names("height")),
    "css-width": DeclarationTest(_names("width")),
    "css-max-height": DeclarationTest(_names("max-height")),
    "css-min-height": DeclarationTest(_names("min-height")),
    "css-min-width": DeclarationTest(_names("min-width")),
    "css-inline-size": DeclarationTest(_names("inline-size")),
    "css-block-inline-size": DeclarationTest(_names("block-size|inline-size")),
    "css-margin-block-start-end": DeclarationTest(_names("margin-block-(start|end)")),
    "css-margin-inline-start-end": DeclarationTest(_names("margin-inline-(start|end)")),
    "css-margin-inline-block": DeclarationTest(_names("margin-(inline|block)")),
    "css-padding-block-start-end": DeclarationTest(_names("padding-block-(start|end)")),
    "css-padding-inline-start-end": DeclarationTest(_names("padding-inline-(start|end)")),
    "css-padding-inline-block": DeclarationTest(_names("padding-(inline|block)")),
    "css-border-inline-block": DeclarationTest(_names("border-(inline|block)")),
    "css-border-inline-block-individual": DeclarationTest(_names("border-(inline|block)-(start|end)")),
    "css-border-inline-block-longhand": DeclarationTest(
        _names("border-(inline|block)(-(start|end))?-(width|style|color)")
    ),
    "css-border-radius-logical": DeclarationTest(_names("border-(start|end)-(start|end)-radius")),
    "css-left-right-top-bottom": DeclarationTest(_names("left|right|top|bottom")),
    "css-color-scheme": DeclarationTest(_names("color-scheme")),
    "css-column-layout-properties": DeclarationTest(
        _names(r"columns|column-(width|span|fill|rule(-[a-z]+)?)")
    ),
    "css-variables": DeclarationTest(_names(r"--[\w-]+")),
    "css-intrinsic-size": DeclarationTest(None, _values(r"\b(fit|min|max)-content\b")),
    "css-rgb": DeclarationTest(None, _values(r"\brgb\(")),
    "css-rgba": DeclarationTest(None, _values(r"\brgba\(")),
    "css-unit-calc": DeclarationTest(None, _values(r"\bcalc\(")),
    "css-function-clamp": DeclarationTest(None, _values(r"\bclamp\(")),
    "css-function-min": DeclarationTest(None, _values(r"\bmin\(")),
    "css-function-max": DeclarationTest(None, _values(r"\bmax\(")),
    "css-function-light-dark": DeclarationTest(None, _values(r"\blight-dark\(")),
    "css-linear-gradient": DeclarationTest(None, _values(r"\blinear-gradient\(")),
    "css-radial-gradient": DeclarationTest(None, _values(r"\bradial-gradient\(")),
    "css-conic-gradient": DeclarationTest(None, _values(r"\bconic-gradient\(")),
    "css-modern-color": DeclarationTest(None, _values(r"\b(ok)?(lch|lab)\(")),
    "css-important": DeclarationTest(None, _values(r"!\s*important\b")),
    "css-sytem-ui": DeclarationTest(
        None, _values(r"\b(system-ui|ui-serif|ui-sans-serif|ui-rounded|ui-monospace)\b")
    ),
    "css-unit-initial": DeclarationTest(None, _values(r"^\s*initial\s*$")),
    # Units that some clients drop (px, em and % work everywhere and are not listed).
    **{
        f"css-unit-{unit}": DeclarationTest(None, _values(rf"(?<![\w.-])[\d.]+{unit}\b"))
        for unit in ("ch", "rem", "vh", "vw", "vmin", "vmax")
    },
}

# Found in the text of <style> blocks: at-rules; pseudo-classes and -elements come from the data.
STYLESHEET_TESTS = {
    "css-at-font-face": re.compile(r"@font-face\b", re.I),
    "css-at-import": re.compile(r"@import\b", re.I),
    "css-at-keyframes": re.compile(r"@(-webkit-)?keyframes\b", re.I),
    "css-at-media": re.compile(r"@media\b", re.I),
    "css-at-supports": re.compile(r"@supports\b", re.I),
    "css-at-media-prefers-color-scheme": re.compile(r"@media[^{]*prefers-color-scheme", re.I),
    "css-at-media-prefers-reduced-motion": re.compile(r"@media[^{]*prefers-reduced-motion", re.I),
    "css-at-media-orientation": re.compile(r"@media[^{]*\borientation\s*:", re.I),
    "css-at-media-hover": re.compile(r"@media[^{]*\b(any-)?hover\b", re.I),
    "css-at-media-device-pixel-ratio": re.compile(r"@media[^{]*device-pixel-ratio", re.I),
}
_PSEUDO = re.compile(r"css-pseudo-(?P<kind>class|element)-(?P<name>[a-z-]+)")
_SCRIPT_TYPES_THAT_ARE_DATA = ("application/ld+json", "application/json")
_COMMENT = re.compile(r"/\*.*?\*/", re.S)
_BLOCK = re.compile(r"\{([^{}]*)\}")
_BODY_END = re.compile(r"</body\s*>", re.I)
_NOTE = re.compile(r"#(\d+)")
_MARKDOWN_LINK = re.compile(r"\[([^\]]+)\]\((https?://[^)\s]+)\)")
_MARKDOWN_CODE = re.compile(r"`([^`]+)`")
SUPPORT = {"y": "yes", "n": "no", "a": "partial"}


class DataMissing(Exception):
    """The caniemail data file is not there (make install copies it)."""


def data_file() -> Path:
    return Path(os.environ.get(DATA_VARIABLE) or DATA_FILE)


@cache
def load_data(path: Path) -> dict:
    """caniemail's data: {"nicenames": ..., "data": [features]}, read once."""
    try:
        with path.open(encoding="utf-8") as data:
            loaded = json.load(data)
    except (OSError, ValueError) as error:
        raise DataMissing(f"{path}: {error}") from None
    if not isinstance(loaded, dict) or not isinstance(loaded.get("data"), list):
        raise DataMissing(f"{path}: not caniemail's data")
    return loaded


def markdown_to_html(text: str) -> str:
    """caniemail's Markdown (links and code only) as safe HTML: everything else is escaped."""
    escaped = html.escape(text or "", quote=False)
    escaped = _MARKDOWN_CODE.sub(r"<code>\1</code>", escaped)

    def anchor(link: re.Match) -> str:
        address = html.escape(html.unescape(link[2]))
        return f'<a href="{address}" rel="noopener noreferrer">{link[1]}</a>'

    return _MARKDOWN_LINK.sub(anchor, escaped)


class _Document(HTMLParser):
    """Every element with its attributes, and the text of the <style> blocks."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.stylesheets: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {name.lower(): value or "" for name, value in attrs}))
        self._in_style = tag == "style"

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        self._in_style = False

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.stylesheets.append(data)


def parse_html(source: str) -> _Document:
    document = _Document()
    try:
        document.feed(source)
        document.close()
    except (AssertionError, ValueError):
        pass  # HTMLParser gives up on some garbage: what was read so far is checked
    return document


def declarations(block: str) -> list[tuple[str, str]]:
    """ "color: red; padding:0" -> [("color", "red"), ("padding", "0")]"""
    found = []
    for declaration in block.split(";"):
        name, colon, value = declaration.partition(":")
        name = name.strip().lower()
        if colon and name and " " not in name:
            found.append((name, value.strip()))
    return found


def _declaration_tests(features: dict[str, dict]) -> dict[str, DeclarationTest]:
    """Each plain CSS property in the data ("css-accent-color", titled "accent-color"), and the others."""
    tests = {
        slug: DeclarationTest(re.compile(re.escape(feature["title"]), re.I))
        for slug, feature in features.items()
        if feature.get("category") == "css" and slug == f"css-{feature.get('title')}"
    }
    tests.update(DECLARATION_TESTS)
    return tests


def _stylesheet_tests(features: dict[str, dict]) -> dict[str, re.Pattern]:
    tests = dict(STYLESHEET_TESTS)
    for slug in features:
        pseudo = _PSEUDO.fullmatch(slug)
        if pseudo:
            colons = "::?" if pseudo["kind"] == "element" else "(?<!:):"
            tests[slug] = re.compile(rf"{colons}{re.escape(pseudo['name'])}(?![\w-])", re.I)
    return tests


def _support(value: str) -> tuple[str, str]:
    """ "a #1 #2" -> ("partial", "1"); ("", "") for "u" (not known)."""
    note = _NOTE.search(value)
    return SUPPORT.get(value.strip()[:1], ""), note[1] if note else ""


def warning(feature: dict, nicenames: dict, found: int) -> dict[str, Any]:
    """Mailpit's HTMLCheckWarning for a feature found `found` times."""
    families, platforms = nicenames.get("family", {}), nicenames.get("platform", {})
    results = []
    for family, by_platform in (feature.get("stats") or {}).items():
        for platform, by_version in (by_platform or {}).items():
            for version, value in (by_version or {}).items():
                support, note = _support(str(value))
                if not support:
                    continue
                name = f"{families.get(family, family)} {platforms.get(platform, platform)} ({version})"
                results.append(
                    {
                        "Name": name,
                        "Platform": platform,
                        "Family": family,
                        "Version": version,
                        "Support": support,
                        "NoteNumber": note,
                    }
                )
    counted = len(results) or 1
    share = {kind: 100 * sum(r["Support"] == kind for r in results) / counted for kind in SUPPORT.values()}
    return {
        "Slug": feature["slug"],
        "Title": feature.get("title") or feature["slug"],
        "Description": markdown_to_html(feature.get("description") or ""),
        "URL": url if (url := str(feature.get("url") or "")).startswith(("https://", "http://")) else "",
        "Category": feature.get("category") or "",
        "Tags": list(feature.get("tags") or []),
        "Keywords": feature.get("keywords") or "",
        "Results": results,
        "NotesByNumber": {
            str(number): markdown_to_html(note)
            for number, note in (feature.get("notes_by_num") or {}).items()
        },
        "Score": {
            "Found": found,
            "Supported": round(share["yes"], 2),
            "Partial": round(share["partial"], 2),
            "Unsupported": round(share["no"], 2),
        },
    }


def _script_warning(found: int) -> dict[str, Any]:
    """<script> is in no caniemail feature: no e-mail client runs it."""
    return {
        "Slug": "html-script",
        "Title": "<script> element",
        "Description": "JavaScript is not supported in any email client.",
        "URL": "",
        "Category": "html",
        "Tags": [],
        "Keywords": "",
        "Results": [],
        "NotesByNumber": {},
        "Score": {"Found": found, "Supported": 0.0, "Partial": 0.0, "Unsupported": 100.0},
    }


def platforms(data: dict) -> dict[str, list[str]]:
    """Each platform with the clients (families) tested on it, as Mailpit lists them."""
    families = data.get("nicenames", {}).get("family", {})
    found: dict[str, set[str]] = {}
    for feature in data["data"]:
        for family, by_platform in (feature.get("stats") or {}).items():
            for platform in by_platform or {}:
                found.setdefault(platform, set()).add(families.get(family, family))
    return {platform: sorted(names) for platform, names in sorted(found.items())}


def count_features(source: str, data: dict) -> tuple[dict[str, int], int, int]:
    """How often each tested feature occurs: ({slug: found}, number of tests, number of elements)."""
    features = {feature["slug"]: feature for feature in data["data"] if isinstance(feature, dict)}
    document = parse_html(source)
    found: dict[str, int] = {}

    def add(slug: str, count: int = 1) -> None:
        if count:
            found[slug] = found.get(slug, 0) + count

    for tag, attributes in document.elements:
        for slug, test in HTML_TESTS.items():
            if test(tag, attributes):
                add(slug)
        if tag == "img":
            address = attributes.get("src", "").split("?", 1)[0].split("#", 1)[0]
            for slug, pattern in IMAGE_TESTS.items():
                if pattern.search(address):
                    add(slug)
        if tag == "script" and attributes.get("type", "").lower() not in _SCRIPT_TYPES_THAT_ARE_DATA:
            add("html-script")
    if _BODY_END.search(source):
        add("html-body")

    declaration_tests = _declaration_tests(features)
    stylesheet = _COMMENT.sub(" ", "\n".join(document.stylesheets))
    blocks = [attributes["style"] for _tag, attributes in document.elements if "style" in attributes]
    blocks += _BLOCK.findall(stylesheet)
    for block in blocks:
        for name, value in declarations(block):
            for slug, test in declaration_tests.items():
                if test.matches(name, value):
                    add(slug)
    stylesheet_tests = _stylesheet_tests(features)
    selectors = stylesheet
    while _BLOCK.search(selectors):  # what is left outside the declarations: selectors and at-rules
        selectors = _BLOCK.sub(" ", selectors)
    for slug, pattern in stylesheet_tests.items():
        text = stylesheet if slug.startswith("css-at-") else selectors
        add(slug, len(pattern.findall(text)))

    has_body = bool(_BODY_END.search(source))
    skipped = {"html", "head", "meta"} if has_body else {"html", "head", "body", "meta"}
    nodes = sum(tag not in skipped for tag, _attributes in document.elements)
    tests = 2 + len(HTML_TESTS) + len(IMAGE_TESTS) + len(declaration_tests) + len(stylesheet_tests)
    return found, tests, nodes


def check_html(source: str, data: dict | None = None) -> dict[str, Any]:
    """Mailpit's HTMLCheckResponse for an HTML body."""
    data = data or load_data(data_file())
    features = {feature["slug"]: feature for feature in data["data"] if isinstance(feature, dict)}
    found, tests, nodes = count_features(source, data)
    warnings = []
    for slug, count in found.items():
        if slug == "html-script":
            warnings.append(_script_warning(count))
        elif slug in features:
            warnings.append(warning(features[slug], data.get("nicenames", {}), count))
    elements = max(nodes, 1)

    def weighted(item: dict, kind: str) -> float:
        return item["Score"][kind] * item["Score"]["Found"] / elements

    # A feature in more declarations than there are elements weighs no more than all of them.
    unsupported = min(100.0, max((weighted(w, "Unsupported") for w in warnings), default=0.0))
    partial = min(100.0 - unsupported, max((weighted(w, "Partial") for w in warnings), default=0.0))
    # The features that reach the fewest readers first.
    warnings.sort(key=lambda w: -(weighted(w, "Partial") + weighted(w, "Unsupported")))
    return {
        "Warnings": warnings,
        "Platforms": platforms(data),
        "Total": {
            "Tests": tests,
            "Nodes": nodes,
            "Supported": round(100 - partial - unsupported, 2),
            "Partial": round(partial, 2),
            "Unsupported": round(unsupported, 2),
        },
    }
