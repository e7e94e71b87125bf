"""The application forms' errors and typo suggestion as the server writes them: the summary's entries, the
inline check's answer (the field, its read-out, the suggestion, the summary as it now is), and addresses
that break only where they may."""

import html
import re

import pytest

from tests.conftest import link_path, outbox_messages

CHECK = "/taotlus/kontrolli"
HTMX = {"HX-Request": "true"}
SHOWN = {"error_summary": "shown"}  # what the error summary's hidden input adds to an inline check


def text_of(markup: str) -> str:
    """What a reader sees: tags dropped without adding spaces (an address is several spans), white space
    folded."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", markup)).split())


def element(markup: str, element_id: str) -> str | None:
    """The outer HTML of the <div> with this id, counting the <div>s nested in it."""
    found = markup.find(f'id="{element_id}"')
    if found < 0:
        return None
    start = markup.rfind("<div", 0, found)
    depth = 0
    for tag in re.finditer(r"<(/?)div\b[^>]*>", markup[start:]):
        depth += -1 if tag[1] else 1
        if depth == 0:
            return markup[start : start + tag.end()]
    raise AssertionError(f"#{element_id} is not closed")


def summary_entries(markup: str) -> list[tuple[str, str]]:
    summary = element(markup, "error-summary") or ""
    return [
        (target, text_of(text)) for target, text in re.findall(r'<a href="#([^"]+)">(.*?)</a>', summary, re.S)
    ]


def application_form_path(app, client, child_code: str) -> str:
    step_one = {
        "email": "mari@example.ee",
        "child_personal_code": child_code,
        "keep_email": "mari@example.ee",
    }
    assert client.post("/taotlus/", data=step_one).status_code == 303
    return link_path(outbox_messages(app)[-1].text_body)


# The summary: "label: error", one colon, whatever the label ends in.


@pytest.mark.parametrize(
    ("language", "consent_entry"),
    [
        ("et", "Olen nõus, et kool töötleb neid andmeid minu konto loomiseks: "),
        ("ru", "аккаунта: Без вашего согласия"),
        ("en", "I agree that the school processes these data to create my account: Without your consent"),
    ],
)
def test_a_label_that_ends_in_punctuation_loses_it_before_the_colon(
    app, client, child_code, language, consent_entry
):
    path = application_form_path(app, client, child_code)
    client.set_cookie("lang", language)
    response = client.post(path, data={})
    assert response.status_code == 422
    entries = [text for _target, text in summary_entries(response.get_data(as_text=True))]
    assert len(entries) == 6
    for entry in entries:
        assert not re.search(r"[.!?:;…]\s*:", entry), entry
    assert any(consent_entry in entry for entry in entries), entries


def test_every_summary_entry_leads_to_an_element_on_the_page(app, client, child_code):
    page = client.post(application_form_path(app, client, child_code), data={}).get_data(as_text=True)
    targets = [target for target, _text in summary_entries(page)]
    # The group of radio buttons has no element of its own: its entry leads to the first choice.
    assert "relation-0" in targets
    for target in targets:
        assert f'id="{target}"' in page, target


def test_the_summary_on_the_page_is_an_alert_and_tells_inline_checks_it_is_there(client):
    page = client.post("/taotlus/", data={}).get_data(as_text=True)
    summary = element(page, "error-summary")
    assert 'role="alert"' in summary and 'tabindex="-1"' in summary and "hx-swap-oob" not in summary
    assert '<input type="hidden" name="error_summary" value="shown">' in summary
    # A page without errors has no summary, so its inline checks leave the summary alone.
    assert element(client.get("/taotlus/").get_data(as_text=True), "error-summary") is None


# The inline check keeps a shown summary true.


def test_an_inline_check_without_a_summary_on_the_page_sends_none(client):
    fragment = client.post(f"{CHECK}/start/email", data={"email": ""}, headers=HTMX).get_data(as_text=True)
    assert "error-summary" not in fragment


def test_an_inline_check_removes_the_entry_of_a_field_now_right(client, child_code):
    fragment = client.post(
        f"{CHECK}/start/email",
        data={"email": "mari@example.ee", "child_personal_code": "", **SHOWN},
        headers=HTMX,
    ).get_data(as_text=True)
    summary = element(fragment, "error-summary")
    assert 'hx-swap-oob="true"' in summary
    assert (
        'role="alert"' not in summary
    )  # a replaced alert would be read out again, beside the field's read-out
    assert summary_entries(fragment) == [("child_personal_code", "Lapse isikukood: See väli on kohustuslik.")]
    assert 'name="error_summary" value="shown"' in summary  # the next check updates it too


def test_an_inline_check_puts_the_new_error_of_any_field_in_the_summary(client):
    fragment = client.post(
        f"{CHECK}/start/child_personal_code",
        data={"email": "not an address", "child_personal_code": "51702310000", **SHOWN},
        headers=HTMX,
    ).get_data(as_text=True)
    entries = dict(summary_entries(fragment))
    assert entries["email"].startswith("Sinu e-posti aadress: See pole korrektne e-posti aadress.")
    assert entries["child_personal_code"].startswith("Lapse isikukood: Esimesed seitse numbrit")


def test_an_inline_check_deletes_the_summary_when_nothing_is_wrong(client, child_code):
    fragment = client.post(
        f"{CHECK}/start/child_personal_code",
        data={"email": "mari@example.ee", "child_personal_code": child_code, **SHOWN},
        headers=HTMX,
    ).get_data(as_text=True)
    assert element(fragment, "error-summary") == '<div id="error-summary" hx-swap-oob="delete"></div>'


def test_the_application_forms_checks_keep_its_summary_true(app, client, child_code):
    path = application_form_path(app, client, child_code)
    page = client.post(path, data={}).get_data(as_text=True)
    # Every field is checked as it changes: the radio buttons and the checkbox too.
    for name in ["parent_first_name", "phone", "relation", "child_last_name", "message", "consent"]:
        assert f'hx-post="{CHECK}/application/{name}"' in page, name
    fragment = client.post(
        f"{CHECK}/application/consent",
        data={"parent_first_name": "Mari", "relation": "ema", "consent": "y", **SHOWN},
        headers=HTMX,
    ).get_data(as_text=True)
    assert [target for target, _text in summary_entries(fragment)] == [
        "parent_last_name",
        "child_first_name",
        "child_last_name",
    ]


# What a screen reader hears: once per change, with the field's name.


def test_the_pages_have_their_live_regions_before_any_check(app, client, child_code):
    step_one = client.get("/taotlus/").get_data(as_text=True)
    for slot in ["email-error-slot", "child_personal_code-error-slot", "email-suggestion-slot"]:
        assert element(step_one, slot) == f'<div id="{slot}" aria-live="polite"></div>'
    step_two = client.get(application_form_path(app, client, child_code)).get_data(as_text=True)
    for name in ["parent_first_name", "relation", "message", "consent"]:
        assert f'<div id="{name}-error-slot" aria-live="polite"></div>' in step_two, name


def test_an_inline_error_is_read_out_once(client):
    fragment = client.post(
        f"{CHECK}/start/child_personal_code", data={"child_personal_code": "51702310000"}, headers=HTMX
    ).get_data(as_text=True)
    slot = element(fragment, "child_personal_code-error-slot")
    assert 'hx-swap-oob="innerHTML"' in slot
    assert text_of(slot).startswith("Esimesed seitse numbrit")
    assert 'id="child_personal_code-error"' in slot  # what the input's aria-describedby names
    # Said once: the error is in the fragment once, and the fragment brings no live region of its own.
    assert fragment.count("Esimesed seitse numbrit") == 1
    assert "aria-live" not in fragment and "role=" not in fragment
    assert 'aria-describedby="child_personal_code-hint child_personal_code-error"' in fragment


def test_a_right_field_clears_its_error(client, child_code):
    fragment = client.post(
        f"{CHECK}/start/child_personal_code", data={"child_personal_code": child_code}, headers=HTMX
    ).get_data(as_text=True)
    assert element(fragment, "child_personal_code-error-slot") == (
        '<div id="child_personal_code-error-slot" hx-swap-oob="innerHTML"></div>'
    )


def test_fields_without_inline_checks_keep_their_error_inside(client):
    """The staff login is not checked as one types: its errors stay in the field, with no live region."""
    page = client.post("/kool/sisene", data={}).get_data(as_text=True)
    assert "error-slot" not in page and 'class="error"' in page


# The suggestion: in its live region under the e-mail field, read out once.


def test_a_suggestion_from_an_inline_check_fills_its_slot_and_nothing_else(client):
    fragment = client.post(f"{CHECK}/start/email", data={"email": "mari@gmial.com"}, headers=HTMX).get_data(
        as_text=True
    )
    slot = element(fragment, "email-suggestion-slot")
    assert 'hx-swap-oob="innerHTML"' in slot
    assert "Kas mõtlesid mari@gmail.com?" in text_of(slot)
    assert text_of(element(fragment, "email-error-slot")) == ""  # said by the suggestion's slot only
    assert 'id="field-email"' in fragment and "Kas mõtlesid" not in text_of(element(fragment, "field-email"))


@pytest.mark.parametrize("email", ["mari@gmail.com", "not an address"])
def test_no_suggestion_empties_the_slot(client, email):
    fragment = client.post(f"{CHECK}/start/email", data={"email": email}, headers=HTMX).get_data(as_text=True)
    assert element(fragment, "email-suggestion-slot") == (
        '<div id="email-suggestion-slot" hx-swap-oob="innerHTML"></div>'
    )


def test_other_fields_leave_the_suggestion_alone(client):
    fragment = client.post(
        f"{CHECK}/start/child_personal_code", data={"email": "mari@gmial.com"}, headers=HTMX
    ).get_data(as_text=True)
    assert "suggestion" not in fragment


def test_the_suggestion_box_is_named_by_its_question_and_keep_comes_first(client, child_code):
    page = client.post(
        "/taotlus/", data={"email": "mari@gmial.com", "child_personal_code": child_code}
    ).get_data(as_text=True)
    box = element(page, "email-suggestion")
    assert 'role="group"' in box and 'aria-labelledby="email-suggestion-question"' in box
    assert 'tabindex="-1"' in box  # app.js focuses it after the post
    assert text_of(element(page, "email-suggestion-slot")).startswith("Kas mõtlesid mari@gmail.com?")
    assert box.index('name="keep_email"') < box.index('name="use_suggestion"')


# Addresses break only between their pieces.


def test_an_address_is_in_pieces_that_break_before_a_dot_of_its_name_or_the_at(client, child_code):
    page = client.post(
        "/taotlus/",
        data={"email": "mari-liis.maasikas-tamm@gmial.com", "child_personal_code": child_code},
    ).get_data(as_text=True)
    pieces = (
        '<span class="address"><span class="address__part">mari-liis</span><wbr>'
        '<span class="address__part">.maasikas-tamm</span><wbr>'
        '<span class="address__part">@gmail.com</span></span>'
    )
    assert f"Kas mõtlesid {pieces}?</p>" in page  # "?" follows the domain with no break opportunity
    box = text_of(element(page, "email-suggestion"))
    assert "Ei, jäta mari-liis.maasikas-tamm@gmial.com" in box
    assert "Jah, kasuta mari-liis.maasikas-tamm@gmail.com" in box


def test_an_address_in_pieces_is_still_escaped(client, child_code):
    page = client.post(
        "/taotlus/", data={"email": "o'brien&co@gmial.com", "child_personal_code": child_code}
    ).get_data(as_text=True)
    assert '<span class="address__part">o&#39;brien&amp;co</span>' in page
    assert "Kas mõtlesid o'brien&co@gmail.com?" in text_of(element(page, "email-suggestion"))
