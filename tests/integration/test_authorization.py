"""Every staff and parent route against every kind of visitor: allowed, or refused."""

import pytest

from tests.conftest import School, last_link, log_in_staff, submit_application
from webapp.extensions import db
from webapp.models import SchoolClass

VISITORS = ["anonymous", "parent", "other_parent", "teacher_of_other_class", "class_teacher", "admin"]
LOGIN_PAGES = {"/", "/kool/sisene"}


@pytest.fixture
def world(app, school):
    """Mari applied for a 5A child and was approved; Olga for a 6B child and was approved."""
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
    with app.app_context():
        class_5a = db.session.scalar(db.select(SchoolClass.id).filter_by(name="5A"))
    return visitors, pending, class_5a


# (method, path template, who may) — every route behind a login.
ROUTES = [
    ("GET", "/profiil/", {"parent", "other_parent"}),
    ("GET", "/profiil/muuda", {"parent", "other_parent"}),
    ("POST", "/profiil/muuda", {"parent", "other_parent"}),
    ("POST", "/profiil/parool/tugevus", {"parent", "other_parent"}),
    ("GET", "/kool/", {"teacher_of_other_class", "class_teacher", "admin"}),
    ("GET", "/kool/taotlus/{pending}", {"class_teacher", "admin"}),
    ("POST", "/kool/taotlus/{pending}/keeldu", {"class_teacher", "admin"}),
    ("POST", "/kool/taotlus/{pending}/kinnita", {"class_teacher", "admin"}),
    ("GET", "/kool/klass/{class_5a}", {"class_teacher", "admin"}),
    ("POST", "/logi-valja", {"parent", "other_parent", "teacher_of_other_class", "class_teacher", "admin"}),
]


def expected(visitor: str, allowed: set[str]) -> str:
    if visitor in allowed:
        return "allowed"
    return "to login" if visitor == "anonymous" else "forbidden"


def outcome(response) -> str:
    if response.status_code in {200, 303, 409, 422}:
        return "allowed"
    if response.status_code == 302 and response.headers["Location"].split("?")[0] in LOGIN_PAGES:
        return "to login"
    return "forbidden" if response.status_code == 403 else f"status {response.status_code}"


@pytest.mark.parametrize("visitor", VISITORS)
def test_every_route_allows_or_refuses_this_visitor(world, visitor):
    visitors, pending, class_5a = world
    wrong = []
    for method, path, allowed in ROUTES:
        url = path.format(pending=pending, class_5a=class_5a)
        # An empty reason keeps the reject route from deciding: every route meets the same state.
        response = visitors[visitor].open(url, method=method, data={"reason": ""} if "keeldu" in url else {})
        if outcome(response) != expected(visitor, allowed):
            wrong.append(f"{method} {url}: {outcome(response)}, expected {expected(visitor, allowed)}")
    assert wrong == []


def test_a_teacher_sees_only_their_classes_applications(app, world):
    visitors, pending, _class_5a = world
    assert f"/kool/taotlus/{pending}" in visitors["class_teacher"].get("/kool/").get_data(as_text=True)
    assert f"/kool/taotlus/{pending}" not in visitors["teacher_of_other_class"].get("/kool/").get_data(
        as_text=True
    )


def test_a_parent_sees_only_their_own_children(world):
    visitors, _pending, _class_5a = world
    assert "Juri Magi" in visitors["parent"].get("/profiil/").get_data(as_text=True)
    assert "Juri Magi" not in visitors["other_parent"].get("/profiil/").get_data(as_text=True)


def test_unknown_application_and_class_are_404_for_staff(world):
    visitors, _pending, _class_5a = world
    assert visitors["admin"].get("/kool/taotlus/99999").status_code == 404
    assert visitors["admin"].get("/kool/klass/99999").status_code == 404
    assert visitors["admin"].get("/kool/taotlus/not-a-number").status_code == 404
