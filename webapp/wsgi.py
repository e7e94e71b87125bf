"""The WSGI entry point for a production server: `gunicorn -c gunicorn.conf.py webapp.wsgi:app`.

create_app() reads .env and refuses to start with an unsafe production setting (webapp.doctor), so a
worker that would serve unsafely never comes up.
"""

from webapp import create_app

app = create_app()

# Compiled here, once, in gunicorn's master (preload_app): every worker starts with them, a worker
# replaced after max_requests too, instead of compiling them during its first requests (150 ms for all).
for name in app.jinja_env.list_templates():
    app.jinja_env.get_template(name)
