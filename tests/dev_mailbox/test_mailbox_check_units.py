"""The checks' own logic without a server: caniemail's data to Mailpit's HTML-check shape, what is counted
where, and spamd's REPORT answer to a verdict."""

import pytest

from dev_mailbox import htmlcheck
from dev_mailbox.spam import SpamCheckError, parse_report

# A small stand-in for caniemail's data, in its format.
DATA = {
    "api_version": "1.0.4",
    "nicenames": {
        "family": {"gmail": "Gmail", "outlook": "Outlook", "apple-mail": "Apple Mail"},
        "platform": {"android": "Android", "windows": "Windows", "ios": "iOS", "macos": "macOS"},
    },
    "data": [
        {
            "slug": "css-display-flex",
            "title": "display:flex",
            "description": "Use `display:flex` with [care](https://kool.example/a?b=1&c=2) <b>now</b>.",
            "url": "https://www.caniemail.com/features/css-display-flex/",
            "category": "css",
            "tags": [],
            "keywords": "flexbox",
            "stats": {
                "gmail": {"android": {"2019-02": "y", "2020-11": "a #1 #2"}},
                "outlook": {"windows": {"2016": "n", "2019": "n #3"}},
                "apple-mail": {"ios": {"12": "y #4", "13": "u"}},
            },
            "notes_by_num": {"1": "Not with `inline-flex`.", "2": "Two", "3": "Three", "4": "Four"},
        },
        {
            "slug": "css-margin",
            "title": "margin",
            "description": "",
            "url": "",
            "category": "css",
            "tags": [],
            "keywords": "",
            "stats": {"gmail": {"android": {"1": "y"}}, "outlook": {"windows": {"1": "a"}}},
            "notes_by_num": None,
        },
        {
            "slug": "css-pseudo-class-hover",
            "title": ":hover",
            "description": "",
            "url": "",
            "category": "css",
            "tags": [],
            "keywords": "",
            "stats": {"gmail": {"android": {"1": "n"}}, "apple-mail": {"macos": {"1": "y"}}},
            "notes_by_num": {},
        },
        {
            "slug": "image-webp",
            "title": "webP image format",
            "description": "",
            "url": "",
            "category": "image",
            "tags": [],
            "keywords": "",
            "stats": {"outlook": {"windows": {"1": "n"}}},
            "notes_by_num": {},
        },
    ],
}


def warnings_of(html: str) -> dict[str, dict]:
    return {warning["Slug"]: warning for warning in htmlcheck.check_html(html, DATA)["Warnings"]}


def test_support_values_map_to_yes_no_partial_with_their_note():
    flex = warnings_of('<p style="display: flex">x</p>')["css-display-flex"]
    results = {(r["Family"], r["Version"]): (r["Support"], r["NoteNumber"]) for r in flex["Results"]}
    assert results == {
        ("gmail", "2019-02"): ("yes", ""),
        ("gmail", "2020-11"): ("partial", "1"),
        ("outlook", "2016"): ("no", ""),
        ("outlook", "2019"): ("no", "3"),
        ("apple-mail", "12"): ("yes", "4"),  # supported, with a note ("u", not known, is left out)
    }
    names = {r["Name"] for r in flex["Results"]}
    assert "Outlook Windows (2016)" in names and "Gmail Android (2020-11)" in names
    # 2 of 5 supported, 1 partly, 2 not.
    assert flex["Score"] == {"Found": 1, "Supported": 40.0, "Partial": 20.0, "Unsupported": 40.0}
    assert (flex["Title"], flex["Category"], flex["Keywords"]) == ("display:flex", "css", "flexbox")
    assert flex["NotesByNumber"]["1"] == "Not with <code>inline-flex</code>."


def test_descriptions_keep_links_and_code_and_escape_the_rest():
    flex = warnings_of('<p style="display:flex">x</p>')["css-display-flex"]
    assert flex["Description"] == (
        'Use <code>display:flex</code> with <a href="https://kool.example/a?b=1&amp;c=2"'
        ' rel="noopener noreferrer">care</a> &lt;b&gt;now&lt;/b&gt;.'
    )
    assert htmlcheck.markdown_to_html('[x](javascript:alert(1)) [y](https://a.example/"onmouseover=")') == (
        '[x](javascript:alert(1)) <a href="https://a.example/&quot;onmouseover=&quot;"'
        ' rel="noopener noreferrer">y</a>'
    )


def test_inline_styles_count_per_element_and_style_blocks_per_rule():
    html = """<html><head><style>
    .a { margin: 0 } .b { margin: 1px; display:flex } /* margin: 9px */
    a:hover { color: red }
    </style></head><body>
    <p style="margin:0">1</p><p style="MARGIN : 2px;display:inline-flex">2</p><p>3</p>
    <a href="#" style="text-decoration:none">hover text: margin:0</a>
    </body></html>"""
    found = warnings_of(html)
    assert (
        found["css-margin"]["Score"]["Found"] == 4
    )  # two elements, two rules; not the comment, not the text
    assert found["css-display-flex"]["Score"]["Found"] == 2
    assert found["css-pseudo-class-hover"]["Score"]["Found"] == 1


def test_pseudo_classes_are_found_in_selectors_only():
    found = warnings_of('<style>p { background: url("a:hover.png") }</style><p>x</p>')
    assert "css-pseudo-class-hover" not in found


def test_images_by_format_and_the_total_as_mailpit_weighs_it():
    html = '<body><img src="a.webp?v=2" alt=""><img src="b.png" alt=""><p style="margin:0">x</p></body>'
    report = htmlcheck.check_html(html, DATA)
    found = {warning["Slug"]: warning for warning in report["Warnings"]}
    assert found["image-webp"]["Score"] == {
        "Found": 1,
        "Supported": 0.0,
        "Partial": 0.0,
        "Unsupported": 100.0,
    }
    assert report["Total"]["Nodes"] == 4  # body, img, img, p
    # The worst feature's share, weighted by how often it occurs among the elements: webp 100% x 1/4.
    assert report["Total"]["Unsupported"] == 25.0
    assert report["Total"]["Partial"] == 12.5  # margin: 50% partly, 1 of 4 elements
    assert report["Total"]["Supported"] == 62.5
    assert [warning["Slug"] for warning in report["Warnings"]] == ["image-webp", "css-margin"]
    assert report["Platforms"] == {
        "android": ["Gmail"],
        "ios": ["Apple Mail"],
        "macos": ["Apple Mail"],
        "windows": ["Outlook"],
    }


def test_script_is_unsupported_everywhere_and_json_data_is_not_script():
    found = warnings_of('<script>alert(1)</script><script type="application/ld+json">{}</script><p>x</p>')
    assert found["html-script"]["Score"] == {
        "Found": 1,
        "Supported": 0.0,
        "Partial": 0.0,
        "Unsupported": 100.0,
    }


def test_a_feature_missing_from_the_data_is_left_out_and_garbage_does_not_raise():
    assert htmlcheck.check_html("<form><input type=text></form>", DATA)["Warnings"] == []
    report = htmlcheck.check_html("<p style='margin:0'<<<</ <!-- <![CDATA[ <style>{{{ }", DATA)
    assert report["Total"]["Nodes"] >= 1


def test_every_test_names_a_feature_of_the_real_data():
    """The installed caniemail data (make install) has every feature the checks look for."""
    data = htmlcheck.load_data(htmlcheck.data_file())
    slugs = {feature["slug"] for feature in data["data"]}
    ours = {
        *htmlcheck.HTML_TESTS,
        *htmlcheck.IMAGE_TESTS,
        *htmlcheck.DECLARATION_TESTS,
        *htmlcheck.STYLESHEET_TESTS,
    }
    assert ours - slugs == set()
    assert len(htmlcheck._declaration_tests({f["slug"]: f for f in data["data"]})) > 100


REPORT = """Spam detection software, running on the system "vm",
has NOT identified this incoming email as spam.

Content preview:  Tere [...]

Content analysis details:   (3.4 points, 5.0 required)

 pts rule name              description
---- ---------------------- --------------------------------------------------
-0.0 NO_RECEIVED            Informational: message has no Received headers
 2.7 MISSING_DATE           Missing Date: header
 0.7 HTML_IMAGE_RATIO_02    BODY: HTML has a low ratio of text to image
                            area
 0.0 T_SCC_BODY_TEXT_LINE   No description available.
"""


def test_a_spamd_report_becomes_a_verdict_with_every_rule():
    verdict = parse_report({"spam": "False ; 3.4 / 5.0"}, REPORT)
    assert (verdict.score, verdict.threshold, verdict.is_spam) == (3.4, 5.0, False)
    assert [(rule.name, rule.score, rule.description) for rule in verdict.rules] == [
        ("NO_RECEIVED", 0.0, "Informational: message has no Received headers"),
        ("MISSING_DATE", 2.7, "Missing Date: header"),
        ("HTML_IMAGE_RATIO_02", 0.7, "BODY: HTML has a low ratio of text to image area"),
        ("T_SCC_BODY_TEXT_LINE", 0.0, "No description available."),
    ]
    assert verdict.as_api()["Rules"][1] == {
        "Score": 2.7,
        "Name": "MISSING_DATE",
        "Description": "Missing Date: header",
    }
    assert parse_report({"spam": "True ; 12.0 / 5.0"}, "").is_spam is True
    with pytest.raises(SpamCheckError):
        parse_report({}, REPORT)
