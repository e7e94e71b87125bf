"""Names as the roster writes them: the form says how, and staff see both spellings side by side."""

from tests.conftest import School, last_link, log_in_staff, page_text, submit_application


def test_a_name_typed_in_cyrillic_shows_the_rosters_spelling_beside_it(app, school):
    application_id = submit_application(
        app, app.test_client(), school.child_5a, child_first_name="Юрий", child_last_name="Мяги"
    )
    staff = app.test_client()
    log_in_staff(staff, School.teacher_5a)
    text = page_text(staff.get(f"/kool/taotlus/{application_id}"))
    assert "Lapse nimi ei klapi nimekirjaga" in text
    assert "Taotlusesse kirjutatud Юрий Мяги" in text and "Nimekirjas Juri Magi" in text


def test_the_application_form_says_how_to_write_the_childs_name(app, client, school):
    client.post(
        "/taotlus/",
        data={"email": "m@example.ee", "child_personal_code": school.child_5a, "keep_email": "m@example.ee"},
    )
    form = client.get(last_link(app, "/taotlus/vorm/")).get_data(as_text=True)
    assert form.count("ladina tähtedega") == 2  # under both of the child's name fields
