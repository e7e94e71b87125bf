"""Every route in the app's URL map against every kind of visitor: allowed, refused, or public.

The routes come from `app.url_map`, so a new route cannot slip past: without an entry in WHO_MAY it fails
`test_every_route_has_an_authorisation_entry`, and an entry whose route is gone fails it too."""

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import School, last_link, log_in_staff, submit_application
from webapp.extensions import db
from webapp.models import OutboxMessage, Parent, SchoolClass, Student

VISITORS = ["anonymous", "parent", "other_parent", "teacher_of_other_class", "class_teacher", "admin"]
PARENTS = frozenset({"parent", "other_parent"})
STAFF = frozenset({"teacher_of_other_class", "class_teacher", "admin"})
# Pages about one application, class, member or bounced e-mail of 5A: its class teacher and the admin.
CLASS_STAFF = frozenset({"class_teacher", "admin"})
PUBLIC = "public"  # anyone, logged in or not: no visitor is refused or sent to log in
# Health checks for a load balancer: anyone, no login; 503 is their answer for "not ready" (this
# test's database is made without migrations, so /readyz says so).
PROBE = "probe"

# (method, rule as in the URL map) → who may use it. HEAD and OPTIONS are Flask's, not listed.
WHO_MAY: dict[tuple[str, str], frozenset[str] | str] = {
    # Logging in and the pages around it.
    ("GET", "/"): PUBLIC,
    ("GET", "/healthz"): PROBE,
    ("GET", "/readyz"): PROBE,
    ("POST", "/logi-sisse"): PUBLIC,
    ("POST", "/saada-link"): PUBLIC,
    ("GET", "/link-saadetud"): PUBLIC,
    ("GET", "/sisene/<token>"): PUBLIC,
    ("POST", "/sisene/<token>"): PUBLIC,
    ("POST", "/sisene/<token>/uus"): PUBLIC,
    ("GET", "/tuvasta/<slug>"): PUBLIC,
    ("POST", "/tuvasta/<slug>"): PUBLIC,
    ("POST", "/tuvasta/<slug>/kinnita"): PUBLIC,
    ("GET", "/kool/sisene"): PUBLIC,
    ("POST", "/kool/sisene"): PUBLIC,
    ("POST", "/logi-valja"): PARENTS | STAFF,
    # Help, language, static files.
    ("GET", "/abi"): PUBLIC,
    ("POST", "/keel"): PUBLIC,
    ("GET", "/konto/uus"): PUBLIC,
    ("GET", "/konto/taotle"): PUBLIC,
    ("GET", "/static/<path:filename>"): PUBLIC,
    # Applying, without an account.
    ("GET", "/taotlus/"): PUBLIC,
    ("POST", "/taotlus/"): PUBLIC,
    ("POST", "/taotlus/kontrolli/<form_name>/<field_name>"): PUBLIC,
    ("GET", "/taotlus/saadetud"): PUBLIC,
    ("POST", "/taotlus/saada-uuesti"): PUBLIC,
    ("GET", "/taotlus/vorm/<token>"): PUBLIC,
    ("POST", "/taotlus/vorm/<token>"): PUBLIC,
    ("GET", "/taotlus/valmis"): PUBLIC,
    # The parent's profile. The links e-mailed about a change (confirm the new address, undo the change)
    # work without a login: opening the mailbox is the proof.
    ("GET", "/profiil/"): PARENTS,
    ("GET", "/profiil/muuda"): PARENTS,
    ("POST", "/profiil/muuda"): PARENTS,
    ("POST", "/profiil/parool/tugevus"): PARENTS,
    ("POST", "/profiil/e-post"): PARENTS,
    ("GET", "/profiil/e-post/<token>"): PUBLIC,
    ("POST", "/profiil/e-post/<token>"): PUBLIC,
    ("GET", "/profiil/tagasi/<token>"): PUBLIC,
    ("POST", "/profiil/tagasi/<token>"): PUBLIC,
    # The school's side.
    ("GET", "/kool/"): STAFF,
    ("GET", "/kool/taotlus/<int:application_id>"): CLASS_STAFF,
    ("POST", "/kool/taotlus/<int:application_id>/keeldu"): CLASS_STAFF,
    ("POST", "/kool/taotlus/<int:application_id>/kinnita"): CLASS_STAFF,
    ("GET", "/kool/klass/<int:class_id>"): CLASS_STAFF,
    ("GET", "/kool/klass/<int:class_id>/vanem/<int:parent_id>"): CLASS_STAFF,
    ("POST", "/kool/klass/<int:class_id>/vanem/<int:parent_id>"): CLASS_STAFF,
    ("GET", "/kool/klass/<int:class_id>/opilane/<int:student_id>"): CLASS_STAFF,
    ("POST", "/kool/klass/<int:class_id>/opilane/<int:student_id>"): CLASS_STAFF,
    ("POST", "/kool/tagasiporge/<int:message_id>"): CLASS_STAFF,
}

# Asked last: logging out ends the session (on the server too, so a copied cookie would not help).
ENDS_SESSION = {("POST", "/logi-valja")}

LOGIN_PAGES = {"/", "/kool/sisene"}
URL_PARAMETER = re.compile(r"<(?:[^<>:]+:)?([^<>:]+)>")  # <int:class_id> → class_id
# An allowed POST with an empty form may answer with its validation error, or a decision refused (409).
ALLOWED_STATUSES = {200, 303, 400, 409, 422}
# 404: a route may refuse by not saying whether the thing exists (the bounce correction does).
REFUSED_STATUSES = {403, 404}
# What every POST sends: a blank name, and nothing else, so every form fails validation and changes
# nothing. (Leaving the name out would not do: WTForms keeps the object's own value for a field the form
# leaves out, and the member edit pages would save.) Approve has no field; approving the pending
# application changes no route's answer (a decided application is still shown, approving it again is 409).
BLANK_FORM = {"first_name": ""}


@dataclass
class World:
    visitors: dict[str, FlaskClient]
    url_values: dict[str, str | int]  # a value for each URL parameter name in the app's rules


@pytest.fixture
def world(app, school) -> World:
    """Mari applied for a 5A child and was approved; Olga for a 6B child and was approved; a father's
    application for the 5A child is pending; a step-1 e-mail about the 5A child bounced."""
    admin = app.test_client()
    log_in_staff(admin, School.admin)
    visitors = {"anonymous": app.test_client(), "admin": admin}
    for name, code, email in [
        ("parent", school.child_5a, "mari@example.ee"),
        ("other_parent", school.child_6b, "olga@example.ee"),
    ]:
        application = submit_application(app, app.test_client(), code, email=email)
        admin.post(f"/kool/taotlus/{application}/kinnita")
        visitors[name] = app.test_client()
        assert visitors[name].post(last_link(app, "/sisene/")).status_code == 303
    pending = submit_application(app, app.test_client(), school.child_5a, email="isa@example.ee")
    for name, email in [("teacher_of_other_class", School.teacher_6b), ("class_teacher", School.teacher_5a)]:
        visitors[name] = app.test_client()
        log_in_staff(visitors[name], email)
    step_one = {
        "email": "vale@example.ee",
        "child_personal_code": school.child_5a,
        "keep_email": "vale@example.ee",
    }
    assert app.test_client().post("/taotlus/", data=step_one).status_code == 303
    with app.app_context():
        bounced = db.session.scalar(sa.select(OutboxMessage.id).filter_by(recipient="vale@example.ee"))
        db.session.execute(
            sa.update(OutboxMessage)
            .where(OutboxMessage.id == bounced)
            .values(status="undeliverable", last_error="550 5.1.1 no such user")
        )
        db.session.commit()
        url_values = {
            "application_id": pending,
            "class_id": db.session.scalar(sa.select(SchoolClass.id).filter_by(name="5A")),
            "parent_id": db.session.scalar(sa.select(Parent.id).filter_by(email="mari@example.ee")),
            "student_id": db.session.scalar(sa.select(Student.id).filter_by(personal_code=school.child_5a)),
            "message_id": bounced,
            "token": "not-a-real-token",
            "filename": _a_static_file(app),
            "slug": "smart-id",
            "form_name": "start",
            "field_name": "email",
        }
    return World(visitors, url_values)


def _a_static_file(app: Flask) -> str:
    folder = Path(app.static_folder)
    return min(path for path in folder.rglob("*") if path.is_file()).relative_to(folder).as_posix()


def routes(app: Flask) -> list[tuple[str, str]]:
    """Every (method, rule) the app answers, HEAD and OPTIONS aside."""
    return [
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"})
    ]


def fill(rule: str, url_values: dict[str, str | int]) -> str:
    """The rule with each <converter:name> replaced by the world's value for that name."""
    return URL_PARAMETER.sub(lambda found: str(url_values[found.group(1)]), rule)


def verdict(response) -> str:
    """What the answer means for the visitor: allowed, refused, to login, or unexpected."""
    if response.status_code == 302 and urlsplit(response.headers["Location"]).path in LOGIN_PAGES:
        return "to login"
    if response.status_code in ALLOWED_STATUSES:
        return "allowed"
    return "refused" if response.status_code in REFUSED_STATUSES else "unexpected"


def expected(visitor: str, allowed: frozenset[str]) -> str:
    if visitor in allowed:
        return "allowed"
    return "to login" if visitor == "anonymous" else "refused"


def test_every_route_has_an_authorisation_entry(app):
    in_app = routes(app)
    wrong = [
        f"new route without an authorisation entry: {method} {rule}"
        for method, rule in in_app
        if (method, rule) not in WHO_MAY
    ]
    wrong += [
        f"authorisation entry for a route that no longer exists: {method} {rule}"
        for method, rule in WHO_MAY.keys() | ENDS_SESSION
        if (method, rule) not in in_app
    ]
    assert not wrong, "\n".join(wrong)


def wrong_answer(
    client: FlaskClient, method: str, url: str, who: frozenset[str] | str, visitor: str
) -> str | None:
    """What is wrong with the route's answer to this visitor, or None."""
    try:
        with client.open(url, method=method, data=BLANK_FORM) as response:
            got, status = verdict(response), response.status_code
    except Exception as error:  # one route's crash must not hide the other routes' answers
        return f"raised {error!r}"
    if who == PROBE:
        return None if status in (200, 503) else f"{got} ({status}), but the route is a health check"
    if who == PUBLIC:
        refused = got == "to login" or status == 403 or status >= 500
        return f"{got} ({status}), but the route is public" if refused else None
    want = expected(visitor, who)
    return f"{got} ({status}), expected {want}" if got != want else None


@pytest.mark.parametrize("visitor", VISITORS)
def test_every_route_allows_or_refuses_this_visitor(app, world, visitor):
    wrong = []
    client = world.visitors[visitor]
    for method, rule in sorted(routes(app), key=lambda route: route in ENDS_SESSION):
        if (method, rule) not in WHO_MAY:
            continue  # test_every_route_has_an_authorisation_entry names it
        if missing := set(URL_PARAMETER.findall(rule)) - world.url_values.keys():
            wrong.append(f"{method} {rule}: the world has no value for {', '.join(sorted(missing))}")
            continue
        url = fill(rule, world.url_values)
        if problem := wrong_answer(client, method, url, WHO_MAY[method, rule], visitor):
            wrong.append(f"{method} {url}: {problem}")
    assert not wrong, "\n".join(wrong)


def test_a_teacher_sees_only_their_classes_applications(world):
    application = f"/kool/taotlus/{world.url_values['application_id']}"
    assert application in world.visitors["class_teacher"].get("/kool/").get_data(as_text=True)
    assert application not in world.visitors["teacher_of_other_class"].get("/kool/").get_data(as_text=True)


def test_a_teacher_sees_only_their_classes_bounced_mail(world):
    correction = f"/kool/tagasiporge/{world.url_values['message_id']}"
    assert correction in world.visitors["class_teacher"].get("/kool/").get_data(as_text=True)
    assert correction not in world.visitors["teacher_of_other_class"].get("/kool/").get_data(as_text=True)


def test_a_parent_sees_only_their_own_children(world):
    assert "Juri Magi" in world.visitors["parent"].get("/profiil/").get_data(as_text=True)
    assert "Juri Magi" not in world.visitors["other_parent"].get("/profiil/").get_data(as_text=True)


def test_unknown_application_and_class_are_404_for_staff(world):
    admin = world.visitors["admin"]
    assert admin.get("/kool/taotlus/99999").status_code == 404
    assert admin.get("/kool/klass/99999").status_code == 404
    assert admin.get("/kool/taotlus/not-a-number").status_code == 404
