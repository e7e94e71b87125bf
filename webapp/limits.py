"""Rate limits, keyed on what they protect.

A limit on logins or links counts per account, address or link, so that nobody can lock a parent out
from elsewhere and a guesser gets no more tries by changing networks. A looser limit per client only
stops floods: a school's Wi-Fi is one address. The client's address is the one ProxyFix found through
TRUSTED_PROXIES hops, never a header anyone could write. Every limit is in config.RATE_LIMITS.

In demo mode a room of parents shares one Wi-Fi address and follows the trainer at the same moment:
there the per-client limits count per browser session instead; the per-address caps stay.
"""

import hashlib
from collections.abc import Callable

from flask import current_app, request, session
from flask_login import current_user

from webapp.config import is_demo
from webapp.extensions import configured_limit, limiter


def _hashed(kind: str, value: str) -> str:
    # Hashed: the limiter's storage (Redis) never holds an e-mail address or a personal code.
    return f"{kind}:{hashlib.sha256(value.encode()).hexdigest()[:32]}"


def client() -> str:
    # A browser's session: stored, or (a visitor who has only opened a form) its anonymous id.
    session_id = getattr(session, "session_id", None) or getattr(session, "anonymous_id", None)
    if session_id and is_demo(current_app.config):
        return _hashed("participant", session_id)
    return f"client:{request.remote_addr or 'unknown'}"


def typed(field: str) -> Callable[[], str]:
    """The value typed into a form field (an address, a personal code), as the app would store it."""

    def key() -> str:
        return _hashed(field, request.form.get(field, "").strip().lower()[:254])

    return key


def account() -> str:
    return f"account:{current_user.get_id()}" if current_user.is_authenticated else client()


def link() -> str:
    return _hashed("link", str((request.view_args or {}).get("token", ""))[:100])


def limit(name: str, key: Callable[[], str], methods: list[str] | None = None):
    """The configured limit `name`, counted per `key`; endpoints with the same name share the count."""
    return limiter.limit(configured_limit(name), key_func=key, scope=name, methods=methods)
