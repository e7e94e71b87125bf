"""gunicorn's settings for the portal: `gunicorn -c gunicorn.conf.py webapp.wsgi:app` (`make prod`).

Everything here can be set from the environment (or .env): PORT, LISTEN_ADDRESS, WEB_CONCURRENCY,
WEB_TIMEOUT. The portal itself reads the rest (DATABASE_URL, RATELIMIT_STORAGE_URI, ...).
"""

import gc
import os

from dotenv import find_dotenv, load_dotenv

# Before anything below reads the environment: .env fills in what it leaves unset, as for `flask`.
load_dotenv(find_dotenv(usecwd=True))

# Loopback by default: the portal speaks plain HTTP and belongs behind an HTTPS reverse proxy on the same
# machine. A proxy on another machine: LISTEN_ADDRESS=0.0.0.0 (or this machine's private address),
# firewalled to the proxy, and TRUSTED_PROXIES=1.
bind = f"{os.environ.get('LISTEN_ADDRESS', '127.0.0.1')}:{int(os.environ.get('PORT', '8000'))}"

# Sync workers, one request each at a time: a request's work is the database, and the proxy in front
# buffers slow clients. 2 per core + 1, at most 8: each holds its own database connections, and
# PostgreSQL's default is 100 connections for every web process and sender on every machine.
MOST_WORKERS = 8
workers = int(os.environ.get("WEB_CONCURRENCY") or min(2 * (os.cpu_count() or 1) + 1, MOST_WORKERS))
worker_class = "sync"
# The app is built once, in the master, before the workers are forked: a setting production refuses
# stops gunicorn at once with the list of them, the workers share the password dictionaries' memory,
# and a worker that dies is replaced at once. New code needs a restart, not a HUP.
preload_app = True


def pre_fork(_server, _worker) -> None:
    """What the master built (the app, the password dictionaries) is left out of the workers' garbage
    collections: a full collection of it took 25-30 ms, a pause for every request waiting on that worker.
    Pages are not copied into each worker by the collector touching them either."""
    gc.freeze()


def post_fork(_server, _worker) -> None:
    """A forked worker opens database connections of its own, never the master's."""
    from webapp.extensions import db
    from webapp.wsgi import app

    with app.app_context():
        db.engine.dispose(close=False)


# A worker silent this long is killed and replaced (a stuck request); a request that slow is a bug.
timeout = int(os.environ.get("WEB_TIMEOUT", "30"))
# On SIGTERM (a deploy, Ctrl+C in `make prod` is quicker) requests in progress get this long to finish.
graceful_timeout = 30
# Behind a proxy that keeps its connections to us open.
keepalive = 5
# A fresh worker now and then, at random moments: a slow leak never grows large, and workers never
# all restart at once.
max_requests = 2000
max_requests_jitter = 200

# X-Forwarded-* are believed only through the portal's TRUSTED_PROXIES (ProxyFix), so gunicorn itself
# believes no one: it would otherwise take X-Forwarded-Proto from any local process.
forwarded_allow_ips = ""

# Logs go to stderr (journald, docker). gunicorn's own access log is off: it would write each path as
# requested, and e-mailed links carry their secret in the path. The portal logs one line per request
# instead (webapp/request_log.py): request id, method, path with the token replaced, status, duration.
errorlog = "-"
accesslog = None
loglevel = os.environ.get("LOG_LEVEL", "info").lower()

# No control socket (gunicorn 25.1+): two instances on one machine would share its default path.
control_socket_disable = True
proc_name = "parent-access"
