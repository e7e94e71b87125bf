"""The portal served in-process on a free loopback port, and Debian's Chromium: what the browser tests and
`flask guide build` both run against."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import Flask
from werkzeug.serving import make_server

CHROMIUM = "/usr/bin/chromium"
# Chromium as root in a closed network: no sandbox, and no calls home that would only time out.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def launch_chromium(playwright):
    """Debian's Chromium through Playwright (`playwright install` has nothing to download here)."""
    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} is missing: `make test` installs Debian's chromium")
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


class LiveServer:
    """A WSGI app on a free port of 127.0.0.1, in a thread."""

    def __init__(self, app) -> None:
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


@contextmanager
def serve_portal(app: Flask) -> Iterator[str]:
    """Serve the portal until the block ends; its e-mailed links point at the address it got. Stops the
    sender thread too, when the app runs one."""
    from webapp.extensions import db

    server = LiveServer(app)
    app.config["BASE_URL"] = server.url  # known only once the server has its port
    try:
        yield server.url
    finally:
        if sender := app.extensions.get("outbox_sender"):
            sender.stop()
        server.stop()
        with app.app_context():
            db.session.remove()
