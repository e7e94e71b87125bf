"""Flask extensions, created once and bound to the app in the factory."""

from collections.abc import Callable

import sqlalchemy as sa
from flask import current_app
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    # Named constraints so that Alembic migrations work the same on SQLite and PostgreSQL.
    metadata = sa.MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login = LoginManager()
# Flask-Login's "basic" protection only marks a session not fresh when the client's address or browser
# changes, and the portal never asks for a fresh login: it would write that mark into every anonymous
# session on its second page (a row, instead of none). Sessions are protected by living on the server:
# a new id at login, idle and absolute lifetimes, logout everywhere (webapp/sessions.py).
login.session_protection = None
csrf = CSRFProtect()
babel = Babel()
limiter = Limiter(key_func=get_remote_address)


def configured_limit(name: str) -> Callable[[], str]:
    """A rate limit read from the app's configuration when a request comes (deployments and tests
    set their own)."""
    return lambda: current_app.config[name]
