from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine

from webapp import tokens
from webapp.extensions import db
from webapp.models import LinkToken
from webapp.tokens import Purpose, TokenState

START = datetime(2026, 12, 1, 9, 0)
DAY = timedelta(hours=24)


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield


def issue_apply_token() -> str:
    secret, _token = tokens.issue(
        Purpose.APPLY, "mari@example.ee", DAY, "et", child_personal_code="51703040003"
    )
    db.session.commit()
    return secret


def test_only_a_hash_of_a_long_random_secret_is_stored(ctx):
    secret = issue_apply_token()
    assert len(secret) >= 43  # 32 random bytes, URL-safe base64
    stored = db.session.scalar(sa.select(LinkToken))
    assert secret not in stored.token_hash
    assert len(stored.token_hash) == 64


def test_valid_until_it_expires_with_a_frozen_clock(ctx):
    with time_machine.travel(START, tick=False) as clock:
        secret = issue_apply_token()
        clock.shift(DAY - timedelta(seconds=1))
        assert tokens.find(Purpose.APPLY, secret)[0] is TokenState.VALID
        clock.shift(timedelta(seconds=1))
        state, token = tokens.find(Purpose.APPLY, secret)
        assert state is TokenState.EXPIRED
        assert tokens.consume(token) is False


def test_used_token_cannot_be_used_again(ctx):
    secret = issue_apply_token()
    state, token = tokens.find(Purpose.APPLY, secret)
    assert state is TokenState.VALID
    assert tokens.consume(token) is True
    db.session.commit()
    assert tokens.find(Purpose.APPLY, secret)[0] is TokenState.USED
    assert tokens.consume(token) is False


def test_find_does_not_use_the_token(ctx):
    secret = issue_apply_token()
    for _ in range(3):
        assert tokens.find(Purpose.APPLY, secret)[0] is TokenState.VALID


@pytest.mark.parametrize("secret", ["", "x", "A" * 43, "A" * 10_000, "../../etc/passwd"])
def test_unknown_or_forged_token(ctx, secret):
    issue_apply_token()
    assert tokens.find(Purpose.APPLY, secret) == (TokenState.UNKNOWN, None)


def test_token_of_another_purpose_is_unknown(ctx):
    secret = issue_apply_token()
    assert tokens.find(Purpose.LOGIN, secret) == (TokenState.UNKNOWN, None)
    assert tokens.find(Purpose.EMAIL_CHANGE, secret) == (TokenState.UNKNOWN, None)


def test_truncated_token_is_unknown(ctx):
    secret = issue_apply_token()
    assert tokens.find(Purpose.APPLY, secret[:-1])[0] is TokenState.UNKNOWN
