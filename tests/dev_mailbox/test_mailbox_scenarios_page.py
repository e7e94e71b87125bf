"""The inbox's scenarios page over real HTTP: presets, removing one rule, clearing everything, refusing to
save over rules that changed, errors tied to their field; and marking a message unread."""

import re
from http.cookies import SimpleCookie
from urllib.parse import urlencode

import pytest
from mailbox_helpers import call, send

pytestmark = pytest.mark.smtp


def form_session(mailbox, path: str = "/scenarios") -> tuple[str, str, str]:
    """(CSRF token, session cookie, the page) as a browser gets them."""
    _, body, headers = call(mailbox, "GET", path)
    html = body.decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', html)[1]
    cookie = SimpleCookie(headers["Set-Cookie"])
    return token, f"dev_mailbox_session={cookie['dev_mailbox_session'].value}", html


def post(mailbox, path: str, fields: list[tuple[str, str]], cookie: str) -> tuple[int, str, object]:
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie}
    status, body, answer_headers = call(mailbox, "POST", path, urlencode(fields).encode(), headers=headers)
    return status, body.decode() if isinstance(body, bytes) else body, answer_headers


def rules(mailbox) -> list[dict]:
    return call(mailbox, "GET", "/api/v1/rules")[1]


def test_a_preset_is_a_rule_for_that_address_first_applying_once(mailbox):
    call(
        mailbox,
        "PUT",
        "/api/v1/rules",
        [{"match": "*@gmial.com", "action": "spam"}, {"match": "mari@x.ee", "action": "reject"}],
    )
    token, cookie, _ = form_session(mailbox)
    fields = [("csrf_token", token), ("address", " Mari@X.ee "), ("preset", "spam"), ("minutes", "")]
    status, _, headers = post(mailbox, "/scenarios/preset", fields, cookie)
    assert status == 303 and headers["Location"].endswith("/scenarios?saved=1")
    assert rules(mailbox) == [
        {"match": "mari@x.ee", "action": "spam", "times": 1},  # in place of her old rule
        {"match": "*@gmial.com", "action": "spam"},
    ]
    fields = [("csrf_token", token), ("address", "o*ga@x.ee"), ("preset", "late"), ("minutes", "1,5")]
    assert post(mailbox, "/scenarios/preset", fields, cookie)[0] == 303
    assert rules(mailbox)[0] == {"match": r"re:^o\*ga@x\.ee$", "action": "delay", "seconds": 90.0, "times": 1}
    _, html = call(mailbox, "GET", "/scenarios?lang=en")[:2]
    html = html.decode()
    assert "The next e-mail to re:^o\\*ga@x\\.ee$ arrives 90 seconds late." in html
    assert "The next e-mail to mari@x.ee goes to spam." in html
    assert "Every e-mail to *@gmial.com goes to spam. <small>(a pattern: every address that fits it)" in html


@pytest.mark.parametrize(
    ("fields", "field", "says"),
    [
        ([("preset", "spam")], "preset-address", "Sisesta saaja e-posti aadress"),
        (
            [("address", "pole aadress"), ("preset", "spam")],
            "preset-address",
            "Sisesta saaja e-posti aadress",
        ),
        ([("address", "a@b.ee"), ("preset", "kaotsi")], "preset-preset", "Vali, mis kirjaga juhtub."),
        ([("address", "a@b.ee"), ("preset", "late"), ("minutes", "0")], "preset-minutes", "Sisesta viivitus"),
        (
            [("address", "a@b.ee"), ("preset", "late"), ("minutes", "11")],
            "preset-minutes",
            "Sisesta viivitus",
        ),
        (
            [("address", "a@b.ee"), ("preset", "late"), ("minutes", "nan")],
            "preset-minutes",
            "Sisesta viivitus",
        ),
        (
            [("address", "a@b.ee"), ("preset", "late"), ("minutes", "1e309")],
            "preset-minutes",
            "Sisesta viivitus",
        ),
        ([("address", "a@b.ee"), ("preset", "late")], "preset-minutes", "Sisesta viivitus"),
    ],
)
def test_a_preset_that_cannot_be_is_refused_at_its_field(mailbox, fields, field, says):
    token, cookie, _ = form_session(mailbox)
    status, html, _ = post(mailbox, "/scenarios/preset?lang=et", [("csrf_token", token), *fields], cookie)
    assert status == 400
    assert f'<strong id="{field}-error" class="error field-error">{says}' in html
    assert f'href="#{field}"' in html  # the summary on top leads to it
    if field != "preset-preset":
        assert re.search(rf'id="{field}"[^>]*aria-invalid="true" aria-describedby="{field}-error', html)
    assert rules(mailbox) == []


def test_removing_one_rule_and_clearing_everything(mailbox):
    call(
        mailbox,
        "PUT",
        "/api/v1/rules",
        [
            {"match": "a@x.ee", "action": "drop", "times": 2},
            {"match": "b@x.ee", "action": "delay", "seconds": 5},
        ],
    )
    call(mailbox, "PUT", "/api/v1/chaos", {"Authentication": {"Probability": 30}})  # the test logs in not
    token, cookie, html = form_session(mailbox)
    assert "Juhuslikud vead etapis Sisselogimine (AUTH): 30 juhtu 100-st ebaõnnestuvad koodiga 535." in html
    send(mailbox, to="a@x.ee")  # uses the rule once: it is still named by what it does
    status, _, _ = post(
        mailbox, "/scenarios/remove", [("csrf_token", token), ("rule", '["a@x.ee", "drop", null]')], cookie
    )
    assert status == 303 and rules(mailbox) == [{"match": "b@x.ee", "action": "delay", "seconds": 5.0}]
    assert post(mailbox, "/scenarios/remove", [("csrf_token", token), ("rule", "not json")], cookie)[0] == 303
    assert (
        post(mailbox, "/scenarios/remove", [("rule", '["b@x.ee", "delay", 5.0]')], cookie)[0] == 400
    )  # no token
    assert len(rules(mailbox)) == 1

    status, html = call(mailbox, "GET", "/scenarios/clear?lang=en")[:2]
    assert status == 200 and "Clear all rules and chaos?" in html.decode()
    assert post(mailbox, "/scenarios/clear", [], cookie)[0] == 400  # no token
    status, _, headers = post(mailbox, "/scenarios/clear", [("csrf_token", token)], cookie)
    assert status == 303 and headers["Location"].endswith("/scenarios?saved=cleared")
    assert rules(mailbox) == []
    assert {trigger["Probability"] for trigger in call(mailbox, "GET", "/api/v1/chaos")[1].values()} == {0}


def test_saving_over_rules_that_changed_meanwhile_is_refused(mailbox):
    """A "the next e-mail" rule used up while the form was open would come back if the form were saved."""
    call(mailbox, "PUT", "/api/v1/rules", [{"match": "a@x.ee", "action": "spam", "times": 1}])
    token, cookie, html = form_session(mailbox)
    fingerprint = re.search(r'name="fingerprint" value="(\w+)"', html)[1]
    send(mailbox, to="a@x.ee")
    assert rules(mailbox) == []
    fields = [
        ("csrf_token", token),
        ("fingerprint", fingerprint),
        ("match", "a@x.ee"),
        ("action", "spam"),
        ("seconds", ""),
        ("times", "1"),
    ]
    fields += [
        (f"{kind}_{stage}", value)
        for stage in ("Sender", "Recipient", "Data", "Authentication")
        for kind, value in (("probability", "0"), ("code", "451"))
    ]
    status, html, _ = post(mailbox, "/scenarios?lang=en", fields, cookie)
    assert status == 409 and "The rules changed while this form was open" in html
    assert rules(mailbox) == []
    fresh = re.search(r'name="fingerprint" value="(\w+)"', html)[1]
    fields[1] = ("fingerprint", fresh)  # saved again, knowingly
    assert post(mailbox, "/scenarios", fields, cookie)[0] == 303
    assert rules(mailbox) == [{"match": "a@x.ee", "action": "spam", "times": 1}]


def test_an_error_in_a_later_row_names_that_row(mailbox):
    token, cookie, _ = form_session(mailbox)
    fields = [("csrf_token", token)]
    for match, seconds in (("", ""), ("b@x.ee", "soon"), ("", "")):
        fields += [("match", match), ("action", "delay"), ("seconds", seconds), ("times", "")]
    status, html, _ = post(mailbox, "/scenarios?lang=ru", fields, cookie)
    assert status == 400
    assert (
        '<strong id="seconds-2-error" class="error field-error">правило 2: для задержки нужно число секунд'
        in html
    )
    assert 'id="seconds-2" name="seconds" inputmode="decimal" value="soon" aria-invalid="true"' in html
    assert re.search(r'id="match-2" name="match" value="b@x.ee"', html)  # the rows stay where they were


def test_mark_unread_and_delete_forms_return_to_the_same_list(mailbox):
    send(mailbox, subject="Loetav")
    message = mailbox.wait_for(subject="Loetav")
    token, cookie, _ = form_session(mailbox, f"/message/{message.id}")
    assert call(mailbox, "GET", "/api/v1/messages")[1]["unread"] == 0  # opening it read it
    status, _, headers = post(
        mailbox,
        f"/message/{message.id}/unread",
        [("csrf_token", token), ("folder", "inbox"), ("q", "Loetav")],
        cookie,
    )
    assert status == 303 and headers["Location"] == "/?folder=inbox&q=Loetav"
    assert call(mailbox, "GET", "/api/v1/messages")[1]["unread"] == 1
    status, _, headers = post(
        mailbox,
        f"/message/{message.id}/delete",
        [("csrf_token", token), ("folder", "spam"), ("start", "x")],
        cookie,
    )
    assert status == 303 and headers["Location"] == "/?folder=spam"
    assert mailbox.messages() == []
