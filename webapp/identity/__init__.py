"""Logging in with ID-card or Smart-ID: the seed's first way out when the e-mail address was wrong.

The providers here are demo providers, marked as such on every page; a real one (e.g. TARA over
OpenID Connect) implements the same `IdentityProvider` interface in providers.py.
"""

from flask import Blueprint

bp = Blueprint("identity", __name__, url_prefix="/tuvasta")

from webapp.identity import views  # noqa: E402,F401 - registers the routes on bp
