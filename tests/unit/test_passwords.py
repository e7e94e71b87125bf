import pytest
from flask_babel import force_locale

from webapp import passwords
from webapp.passwords import MAX_LENGTH, ZXCVBN_PREFIX

GOOD = "Kolm sinist jõehobu!"


def verdict(password, first="Mari-Liis", last="Mägi", min_score=3, repeat=None):
    return passwords.check(password, first, last, min_score, repeat=repeat)


@pytest.fixture(autouse=True)
def estonian(app):
    with app.test_request_context(), force_locale("et"):
        yield


def test_a_good_password_is_accepted():
    result = verdict(GOOD)
    assert result.accepted and result.score >= 3 and result.problems == []


def test_at_least_ten_code_points_after_nfkc():
    assert "Parool peab olema vähemalt 10 märki pikk." in verdict("Kx9#mQ2!z").problems
    # Nine emoji are nine code points (not 36 bytes, not 18 UTF-16 units): too short.
    assert "Parool peab olema vähemalt 10 märki pikk." in verdict("🦊🐙🌵🚲🎻🧭🪁🍋🦉").problems
    # NFKC turns the "ﬁ" ligature into two letters: 9 typed characters become 10.
    assert "Parool peab olema vähemalt 10 märki pikk." not in verdict("ﬁ7Qz#pW3v").problems


@pytest.mark.parametrize("popular", ["password123", "qwertyuiop", "1234567890", "Parool2026", "aaaaaaaaaaaa"])
def test_popular_or_simple_passwords_are_refused_with_translated_feedback(popular):
    result = verdict(popular)
    assert "Seda parooli on liiga lihtne ära arvata. Vali vähem levinud parool." in result.problems
    assert all(text in {str(t) for t in passwords.ZXCVBN_FEEDBACK.values()} for text in result.suggestions)


def test_zxcvbn_feedback_is_translated_into_russian():
    with force_locale("ru"):
        result = verdict("asdfghjkl;")
    assert "Этот пароль слишком легко угадать. Выберите менее распространённый." in result.problems
    assert any("клавиш" in suggestion for suggestion in result.suggestions), result


@pytest.mark.parametrize(
    "password",
    ["JURI-sinine-jõehobu", "jüri sinine jõehobu", "Sinine jõehobu Juri!"],
)
def test_own_name_is_refused_ignoring_case_and_diacritics(password):
    result = verdict(password, first="Jüri", last="Tamm")
    assert "Parool ei tohi sisaldada sinu ees- ega perekonnanime (Jüri)." in result.problems


@pytest.mark.parametrize("password", ["liis-kevadine-kask", "MARI kevadine kask 7", "Kevadine MÄGI kask"])
def test_each_part_of_a_double_name_is_refused(password):
    assert any("ees- ega perekonnanime" in problem for problem in verdict(password).problems)


def test_short_name_parts_do_not_refuse_ordinary_words():
    assert verdict("Butterfly-kevad-Tõrva!", first="Ly", last="Oo").accepted


def test_only_spaces_is_refused_clearly():
    assert verdict(" " * 12).problems == ["Parool ei saa koosneda ainult tühikutest."]


def test_very_long_input_is_refused_before_any_slow_check(monkeypatch):
    monkeypatch.setattr(passwords, "zxcvbn", lambda *_a, **_k: pytest.fail("zxcvbn must not run"))
    assert verdict("x" * 10_000).problems == [f"Parool võib olla kõige rohkem {MAX_LENGTH} märki pikk."]


def test_a_too_long_password_lists_only_what_was_checked():
    result = verdict("x" * (MAX_LENGTH + 1), repeat="x" * (MAX_LENGTH + 1))
    too_long = f"Parool võib olla kõige rohkem {MAX_LENGTH} märki pikk."
    assert result.problems == [too_long] and result.score == 0
    assert [(rule, met) for rule, _label, met in result.checklist] == [
        (passwords.Rule.LENGTH, False),
        (passwords.Rule.MATCH, True),
    ]
    assert result.checklist[0][1] == too_long  # not "at least 10 characters", crossed out


def test_zxcvbn_only_ever_sees_a_bounded_prefix(monkeypatch):
    seen = []
    real = passwords.zxcvbn
    monkeypatch.setattr(
        passwords, "zxcvbn", lambda password, **kw: seen.append(password) or real(password, **kw)
    )
    verdict("Ab1!" * (MAX_LENGTH // 4))
    assert [len(password) for password in seen] == [ZXCVBN_PREFIX]


@pytest.mark.parametrize(
    "password", ["Мой кот любит сметану 7", "🦊🐙🌵 jõehobu 🚲🎻🧭", "Жёлтый-трамвай-на-Нарве"]
)
def test_cyrillic_and_emoji_passwords_work(password):
    assert verdict(password).accepted
    assert passwords.verify(passwords.hash_password(password), password)


def test_hashes_are_argon2id_and_verify():
    hashed = passwords.hash_password(GOOD)
    assert hashed.startswith("$argon2id$")
    assert passwords.verify(hashed, GOOD)
    assert not passwords.verify(hashed, GOOD + "x")
    assert not passwords.verify(None, GOOD)  # no account: False, after the same work
    assert not passwords.verify("not a hash", GOOD)
    # NFKC both ways: the ligature typed on one device matches the letters typed on another.
    assert passwords.verify(passwords.hash_password("ﬁsh-Kolm-jõehobu"), "fish-Kolm-jõehobu")


def test_fold_and_name_parts():
    assert passwords.fold("Jüri ŠARLOTA Ülle") == "juri sarlota ulle"
    assert passwords.name_parts("Mari-Liis", "Õun-Mägi", "Ly") == [
        ("mari", "Mari"),
        ("liis", "Liis"),
        ("oun", "Õun"),
        ("magi", "Mägi"),
    ]


@pytest.mark.parametrize(
    ("first", "last", "password", "quoted"),
    [
        ("Tõnis", "Õunapuu", "õunapuu-kevadel-99", "Õunapuu"),
        ("Tõnis", "Õunapuu", "TONIS sõidab Narva 7", "Tõnis"),
    ],
)
def test_the_own_name_refusal_quotes_the_name_as_written(first, last, password, quoted):
    verdict = passwords.check(password, first, last, 0)
    assert any(f"({quoted})" in str(problem) for problem in verdict.problems), verdict.problems


def test_every_failing_rule_is_reported_at_once_in_the_order_of_the_list():
    result = verdict("mari123", repeat="mari124")
    assert result.problems == [
        "Parool peab olema vähemalt 10 märki pikk.",
        "Seda parooli on liiga lihtne ära arvata. Vali vähem levinud parool.",
        "Parool ei tohi sisaldada sinu ees- ega perekonnanime (Mari).",
        "Paroolid ei ole samad.",
    ]
    assert set(result.refusals) == set(passwords.Rule)
    assert [met for _rule, _label, met in result.checklist] == [False, False, False, False]
    assert result.rules_met == 0
    with force_locale("en"):
        assert [label for _rule, label, _met in result.checklist] == [
            "At least 10 characters",
            "Not a common or simple password",
            "Does not contain your first or last name",
            "The two passwords match",
        ]


def test_spaces_only_and_too_short_are_both_reported():
    assert verdict(" " * 5).problems == [
        "Parool peab olema vähemalt 10 märki pikk.",
        "Parool ei saa koosneda ainult tühikutest.",
    ]


def test_the_repeat_is_compared_after_nfkc_and_only_when_given():
    assert verdict("ﬁsh-Kolm-jõehobu", repeat="fish-Kolm-jõehobu").accepted
    assert verdict(GOOD, repeat="").refusals == {passwords.Rule.MATCH: "Paroolid ei ole samad."}
    # Without a repeat (the staff command), there is no match rule to show.
    assert [rule for rule, _label, _met in verdict(GOOD).checklist] == [
        passwords.Rule.LENGTH,
        passwords.Rule.NOT_COMMON,
        passwords.Rule.NOT_NAME,
    ]


@pytest.mark.parametrize(
    ("password", "repeat"),
    [
        ("Mari-Liis-Kevadine-77", None),  # zxcvbn finds it very strong; it holds the parent's name
        ("Tantsiv jõehobu Mägi 2026!", "Tantsiv jõehobu Mägi 2026!"),
        (GOOD, GOOD + "?"),  # strong, but the repeat differs
        (GOOD, ""),  # strong, not repeated yet
    ],
)
def test_the_shown_score_never_looks_good_while_a_rule_fails(password, repeat):
    result = verdict(password, repeat=repeat)
    assert result.strength >= 3, "the case needs a password zxcvbn alone would call strong"
    assert not result.accepted
    assert result.score <= 1 and result.label in ("väga nõrk", "nõrk")


def test_an_accepted_password_shows_zxcvbns_own_score():
    result = verdict(GOOD, repeat=GOOD)
    assert result.accepted and result.score == result.strength >= 3
    assert result.rules_met == len(result.checklist) == 4
