"""Configuration from the environment, with safe defaults for one machine."""

import os
from datetime import timedelta
from pathlib import Path

DEFAULT_SECRET_KEY = "dev-only-secret-change-me"  # noqa: S105 - refused outside development


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def from_environment(instance_path: Path) -> dict:
    """Settings read from the environment; every one has a default fit for `make run`."""
    env = os.environ.get
    return {
        "ENV_NAME": env("APP_ENV", "development"),
        "SECRET_KEY": env("SECRET_KEY", DEFAULT_SECRET_KEY),
        "SQLALCHEMY_DATABASE_URI": env(
            "DATABASE_URL", f"sqlite:///{instance_path / 'parent_access.sqlite3'}"
        ),
        "MAIL_SERVER": env("MAIL_SERVER", "127.0.0.1"),
        "MAIL_PORT": int(env("MAIL_PORT", "1025")),
        "MAIL_USE_TLS": _bool("MAIL_USE_TLS", False),
        "MAIL_USERNAME": env("MAIL_USERNAME", ""),
        "MAIL_PASSWORD": env("MAIL_PASSWORD", ""),
        "MAIL_DEFAULT_SENDER": env("MAIL_DEFAULT_SENDER", "Näidiskool <noreply@kool.example>"),
        "MAIL_TIMEOUT": float(env("MAIL_TIMEOUT", "10")),
        "BASE_URL": env("BASE_URL", "http://127.0.0.1:5000").rstrip("/"),
        "SCHOOL_NAME": env("SCHOOL_NAME", "Näidiskool"),
        "SCHOOL_IT_EMAIL": env("SCHOOL_IT_EMAIL", "it@kool.example"),
        "RATELIMIT_STORAGE_URI": env("RATELIMIT_STORAGE_URI", "memory://"),
        "RATELIMIT_ENABLED": _bool("RATELIMIT_ENABLED", True),
        "APPLY_LINK_TTL": timedelta(hours=float(env("APPLY_LINK_TTL_HOURS", "24"))),
        "LOGIN_LINK_TTL": timedelta(days=float(env("LOGIN_LINK_TTL_DAYS", "7"))),
        "PASSWORD_MIN_SCORE": int(env("PASSWORD_MIN_SCORE", "3")),
        "OUTBOX_THREAD": _bool("OUTBOX_THREAD", False),
        "SESSION_COOKIE_SECURE": _bool("SESSION_COOKIE_SECURE", False),
        # The demo ID-card / Smart-ID providers log anyone in who types a known code: never in production.
        "IDENTITY_DEMO": _bool("IDENTITY_DEMO", env("APP_ENV", "development") != "production"),
    }


DEFAULTS = {
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "REMEMBER_COOKIE_HTTPONLY": True,
    "REMEMBER_COOKIE_SAMESITE": "Lax",
    # Forms are small; anything bigger is an attack or a mistake, answered with 413.
    "MAX_CONTENT_LENGTH": 64 * 1024,
    "MAX_FORM_MEMORY_SIZE": 64 * 1024,
    "WTF_CSRF_TIME_LIMIT": None,
    "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
    "BABEL_DEFAULT_LOCALE": "et",
    "BABEL_DEFAULT_TIMEZONE": "Europe/Tallinn",
    "LANGUAGES": ("et", "ru", "en"),
    "OUTBOX_RETRY_BASE_SECONDS": 5.0,
    "OUTBOX_RETRY_MAX_SECONDS": 900.0,
    "OUTBOX_POLL_SECONDS": 1.0,
    # Per-address cap on link e-mails; beyond it the answer stays the same but nothing is sent.
    "APPLY_LINKS_PER_ADDRESS_PER_HOUR": 3,
    "RATELIMIT_HEADERS_ENABLED": True,
    # Per client address; anything that sends mail or checks a secret has one.
    "APPLY_RATE_LIMIT": "30 per hour",
    "RESEND_RATE_LIMIT": "10 per hour",
    "LOGIN_RATE_LIMIT": "10 per minute;100 per day",
    "LOGIN_LINK_RATE_LIMIT": "10 per hour",
    "PASSWORD_CHECK_RATE_LIMIT": "60 per minute",
    "EMAIL_CHANGE_RATE_LIMIT": "10 per hour",
}


def refuse_unsafe(config: dict) -> None:
    """Production must not run with the published development secret."""
    if config["ENV_NAME"] == "production" and config["SECRET_KEY"] == DEFAULT_SECRET_KEY:
        raise RuntimeError("SECRET_KEY must be set in production (APP_ENV=production).")
