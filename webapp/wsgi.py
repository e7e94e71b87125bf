"""The WSGI entry point for a production server: `gunicorn -c gunicorn.conf.py webapp.wsgi:app`.

create_app() reads .env and refuses to start with an unsafe production setting (webapp.doctor), so a
worker that would serve unsafely never comes up.
"""

from webapp import create_app

app = create_app()
