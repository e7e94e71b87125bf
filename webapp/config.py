"""Configuration from the environment. Only an explicit development, test or demo setting gets the
defaults that are safe on one machine; anything else is production, and `webapp.doctor` refuses to
start it with an unsafe setting."""

import os
from datetime import timedelta
from pathlib import Path

DEFAULT_SECRET_KEY = "dev-only-secret-change-me"  # noqa: S105 - refused in production
# The settings that may use the defaults above. An unset, misspelt or unknown APP_ENV is production.
LOCAL_ENVIRONMENTS = ("development", "test", "demo")
MAIL_IMPLICIT_TLS_PORT = 465


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _minutes(name: str, default: float) -> timedelta:
    return timedelta(minutes=float(os.environ.get(name, default)))


def environment_name() -> str:
    return os.environ.get("APP_ENV", "production").strip().lower() or "production"


def is_production(config) -> bool:
    return config["ENV_NAME"] not in LOCAL_ENVIRONMENTS


def is_demo(config) -> bool:
    """`make demo`: a room of parents on the machine's network address, a trainer, and reset."""
    return config["ENV_NAME"] == "demo"


# `make demo` keeps the dev mailbox's access token here, so that its links, and `flask demo reset`
# in another terminal, work across restarts.
DEMO_MAILBOX_TOKEN_FILE = "demo_mailbox.token"  # noqa: S105 - a file name


def demo_mailbox_token(instance_path: Path) -> str | None:
    try:
        return (instance_path / DEMO_MAILBOX_TOKEN_FILE).read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


def from_environment(instance_path: Path) -> dict:
    """Settings read from the environment; the defaults fit `make run`, and production must set its own."""
    env = os.environ.get
    env_name = environment_name()
    local = env_name in LOCAL_ENVIRONMENTS
    mail_port = int(env("MAIL_PORT", "1025"))
    # The demo has a database of its own: its reset never touches the one `make run` uses.
    database_file = "demo.sqlite3" if env_name == "demo" else "parent_access.sqlite3"
    settings = {
        "ENV_NAME": env_name,
        "SECRET_KEY": env("SECRET_KEY", DEFAULT_SECRET_KEY),
        "SQLALCHEMY_DATABASE_URI": env("DATABASE_URL", f"sqlite:///{instance_path / database_file}"),
        "MAIL_SERVER": env("MAIL_SERVER", "127.0.0.1"),
        "MAIL_PORT": mail_port,
        "MAIL_USE_TLS": _bool("MAIL_USE_TLS", False),
        # Implicit TLS (SMTPS): the connection is encrypted from its first byte.
        "MAIL_USE_SSL": _bool("MAIL_USE_SSL", mail_port == MAIL_IMPLICIT_TLS_PORT),
        # A CA bundle for a relay whose certificate a private authority signed; else the system's.
        "MAIL_TLS_CA_FILE": env("MAIL_TLS_CA_FILE") or None,
        "MAIL_USERNAME": env("MAIL_USERNAME", ""),
        "MAIL_PASSWORD": env("MAIL_PASSWORD", ""),
        "MAIL_DEFAULT_SENDER": env("MAIL_DEFAULT_SENDER", "Näidiskool <noreply@kool.example>"),
        "MAIL_TIMEOUT": float(env("MAIL_TIMEOUT", "10")),
        # A person at the school whom replies reach (else they go to the sender's address); empty: none.
        "MAIL_REPLY_TO": env("MAIL_REPLY_TO", "").strip(),
        # DKIM: every e-mail is signed with this key when all three are set (production refuses some).
        "DKIM_SELECTOR": env("DKIM_SELECTOR", "").strip(),
        "DKIM_DOMAIN": env("DKIM_DOMAIN", "").strip().lower().rstrip("."),
        "DKIM_PRIVATE_KEY_FILE": env("DKIM_PRIVATE_KEY_FILE", "").strip(),
        "BASE_URL": env("BASE_URL", "http://127.0.0.1:5000").rstrip("/"),
        "SCHOOL_NAME": env("SCHOOL_NAME", "Näidiskool"),
        "SCHOOL_IT_EMAIL": env("SCHOOL_IT_EMAIL", "it@kool.example"),
        "RATELIMIT_STORAGE_URI": env("RATELIMIT_STORAGE_URI", "memory://"),
        "RATELIMIT_ENABLED": _bool("RATELIMIT_ENABLED", True),
        # Reverse proxies in front of the portal whose X-Forwarded-For/-Proto are believed.
        "TRUSTED_PROXIES": int(env("TRUSTED_PROXIES", "0")),
        "APPLY_LINK_TTL": timedelta(hours=float(env("APPLY_LINK_TTL_HOURS", "24"))),
        # The approval e-mail's login link; a link the parent asks for lives REQUESTED_LOGIN_LINK_TTL.
        "APPROVAL_LINK_TTL": timedelta(days=float(env("APPROVAL_LINK_TTL_DAYS", "7"))),
        "REQUESTED_LOGIN_LINK_TTL": _minutes("REQUESTED_LOGIN_LINK_TTL_MINUTES", 60),
        "PASSWORD_MIN_SCORE": int(env("PASSWORD_MIN_SCORE", "3")),
        "OUTBOX_THREAD": _bool("OUTBOX_THREAD", False),
        # Sessions end after this long without a request (idle) and this long after login (absolute).
        "PARENT_SESSION_IDLE": _minutes("PARENT_SESSION_IDLE_MINUTES", 120),
        "PARENT_SESSION_MAX": _minutes("PARENT_SESSION_MAX_MINUTES", 24 * 60),
        "STAFF_SESSION_IDLE": _minutes("STAFF_SESSION_IDLE_MINUTES", 30),
        "STAFF_SESSION_MAX": _minutes("STAFF_SESSION_MAX_MINUTES", 10 * 60),
        # Production only over HTTPS: the cookie is Secure, and __Host- keeps it to this exact origin.
        "SESSION_COOKIE_SECURE": not local or _bool("SESSION_COOKIE_SECURE", False),
        "SESSION_COOKIE_NAME": "portal_session" if local else "__Host-portal_session",
        # The demo ID-card / Smart-ID providers log anyone in who types a known code.
        "IDENTITY_DEMO": _bool("IDENTITY_DEMO", local),
        "LOG_LEVEL": env("LOG_LEVEL", "INFO").strip().upper(),
        # Redis down: each process counts in its own memory (and logs that it does) until Redis is back.
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": _bool("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True),
        # The dev mailbox, for the demo: where people open it, where the portal calls its API (on
        # this machine), and the access token both share (the mailbox reads the same variable).
        "DEV_MAILBOX_URL": env("DEV_MAILBOX_URL", "http://127.0.0.1:8025").rstrip("/"),
        "DEV_MAILBOX_API_URL": (
            env("DEV_MAILBOX_API_URL") or env("DEV_MAILBOX_URL", "http://127.0.0.1:8025")
        ).rstrip("/"),
        "DEV_MAILBOX_TOKEN": env("DEV_MAILBOX_TOKEN")
        or (demo_mailbox_token(instance_path) if env_name == "demo" else None),
    }
    if settings["RATELIMIT_STORAGE_URI"].startswith("redis"):
        # An unreachable Redis may cost a request a second, never hang it.
        settings["RATELIMIT_STORAGE_OPTIONS"] = {"socket_connect_timeout": 1.0, "socket_timeout": 1.0}
    # Every rate limit can be set from the environment under its own name (see README).
    settings.update({name: env(name) for name in RATE_LIMITS if env(name)})
    settings.update({name: float(env(name)) for name in OUTBOX_TIMINGS if env(name)})
    return settings


# The sender's timings in seconds (defaults below), each settable from the environment under its name.
OUTBOX_TIMINGS = (
    "OUTBOX_RETRY_BASE_SECONDS",
    "OUTBOX_RETRY_MAX_SECONDS",
    "OUTBOX_POLL_SECONDS",
    "OUTBOX_CLAIM_SECONDS",
)


# Limits that protect an account or an address are keyed on it; the per-client ones only stop floods
# (a school's Wi-Fi is one address). Flask-Limiter's notation; several limits with ";".
RATE_LIMITS = {
    "LOGIN_PER_ACCOUNT_LIMIT": "10 per 15 minutes",
    "LOGIN_PER_CLIENT_LIMIT": "200 per 15 minutes",
    "LOGIN_LINK_PER_LINK_LIMIT": "10 per hour",
    "LOGIN_LINK_PER_CLIENT_LIMIT": "300 per hour",
    "LINK_REQUEST_PER_ADDRESS_LIMIT": "10 per hour",
    "LINK_REQUEST_PER_CLIENT_LIMIT": "200 per hour",
    "APPLY_PER_CLIENT_LIMIT": "200 per hour",
    "PASSWORD_CHECK_PER_ACCOUNT_LIMIT": "60 per minute",
    "PASSWORD_CHECK_PER_CLIENT_LIMIT": "600 per minute",
    "EMAIL_CHANGE_PER_ACCOUNT_LIMIT": "10 per hour",
    "EMAIL_CHANGE_PER_CLIENT_LIMIT": "200 per hour",
}

DEFAULTS = {
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    # Forms are small; anything bigger is an attack or a mistake, answered with 413.
    "MAX_CONTENT_LENGTH": 64 * 1024,
    "MAX_FORM_MEMORY_SIZE": 64 * 1024,
    "WTF_CSRF_TIME_LIMIT": None,
    "BABEL_DEFAULT_LOCALE": "et",
    "BABEL_DEFAULT_TIMEZONE": "Europe/Tallinn",
    "LANGUAGES": ("et", "ru", "en"),
    "OUTBOX_RETRY_BASE_SECONDS": 5.0,
    "OUTBOX_RETRY_MAX_SECONDS": 900.0,
    "OUTBOX_POLL_SECONDS": 1.0,
    # How long a sender's claim on a batch lasts: should it die, another sender takes the batch over
    # after this. Longer than a batch takes to send, or a slow sender's e-mails would go out twice.
    "OUTBOX_CLAIM_SECONDS": 120.0,
    # At most this many link e-mails an hour to one address, asked for by anyone; beyond it the
    # answer stays the same but nothing is sent.
    "LINKS_PER_ADDRESS_PER_HOUR": 3,
    # A session that logged in from a login link may set a new password without the old one this long.
    "LINK_LOGIN_GRACE": timedelta(minutes=10),
    # No rate-limit headers on every answer (they cost Redis round trips, and the limiter would stretch
    # a 503's Retry-After to the limit's window): the 429 page sets its own Retry-After.
    "RATELIMIT_HEADERS_ENABLED": False,
    **RATE_LIMITS,
}
