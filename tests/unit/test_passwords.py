import pytest
from flask_babel import force_locale

from webapp import passwords
from webapp.passwords import MAX_LENGTH, ZXCVBN_PREFIX

GOOD = "Kolm sinist jõehobu!"


def verdict(password, first="Mari-Liis", last="Mägi", min_score=3):
    return passwords.check(password, first, last, min_score)


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
    assert "Parool ei tohi sisaldada sinu ees- ega perekonnanime (Juri)." in result.problems


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
    assert passwords.name_parts("Mari-Liis", "Õun-Mägi", "Ly") == ["mari", "liis", "oun", "magi"]
