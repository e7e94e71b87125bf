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


def state_of(purpose: Purpose, secret: str) -> TokenState:
    try:
        tokens.check(purpose, secret)
    except tokens.LinkUnusable as unusable:
        return unusable.state
    return TokenState.VALID


def test_valid_until_it_expires_with_a_frozen_clock(ctx):
    with time_machine.travel(START, tick=False) as clock:
        secret = issue_apply_token()
        clock.shift(DAY - timedelta(seconds=1))
        assert state_of(Purpose.APPLY, secret) is TokenState.VALID
        clock.shift(timedelta(seconds=1))
        assert state_of(Purpose.APPLY, secret) is TokenState.EXPIRED
        with pytest.raises(tokens.LinkUnusable) as refused:
            tokens.redeem(Purpose.APPLY, secret)
        assert refused.value.state is TokenState.EXPIRED and refused.value.status_code == 410


def test_used_token_cannot_be_used_again(ctx):
    secret = issue_apply_token()
    assert tokens.redeem(Purpose.APPLY, secret).used_at is not None
    db.session.commit()
    assert state_of(Purpose.APPLY, secret) is TokenState.USED
    with pytest.raises(tokens.LinkUnusable) as refused:
        tokens.redeem(Purpose.APPLY, secret)
    assert refused.value.state is TokenState.USED and refused.value.link is not None


def test_a_revoked_token_says_it_was_replaced(ctx):
    secret = issue_apply_token()
    tokens.revoke((Purpose.APPLY,), email="mari@example.ee")
    db.session.commit()
    assert state_of(Purpose.APPLY, secret) is TokenState.REPLACED
    with pytest.raises(tokens.LinkUnusable):
        tokens.redeem(Purpose.APPLY, secret)


def test_check_does_not_use_the_token(ctx):
    secret = issue_apply_token()
    for _ in range(3):
        assert tokens.check(Purpose.APPLY, secret).used_at is None


@pytest.mark.parametrize("secret", ["", "x", "A" * 43, "A" * 10_000, "../../etc/passwd"])
def test_unknown_or_forged_token(ctx, secret):
    issue_apply_token()
    with pytest.raises(tokens.LinkUnusable) as refused:
        tokens.redeem(Purpose.APPLY, secret)
    assert refused.value.state is TokenState.UNKNOWN and refused.value.link is None
    assert refused.value.status_code == 404


def test_token_of_another_purpose_is_unknown(ctx):
    secret = issue_apply_token()
    assert state_of(Purpose.LOGIN, secret) is TokenState.UNKNOWN
    assert state_of(Purpose.EMAIL_CHANGE, secret) is TokenState.UNKNOWN
    assert state_of((Purpose.UNDO_EMAIL_CHANGE, Purpose.UNDO_PASSWORD_CHANGE), secret) is TokenState.UNKNOWN


def test_truncated_token_is_unknown(ctx):
    secret = issue_apply_token()
    assert state_of(Purpose.APPLY, secret[:-1]) is TokenState.UNKNOWN
