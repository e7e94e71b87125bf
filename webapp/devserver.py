"""`make run`: the dev mailbox, the portal and its sender together on one machine, until Ctrl+C."""

import os
import subprocess
import sys
import time

from werkzeug.serving import run_simple

from webapp import create_app
from webapp.demo import login_lines

PORTAL_HOST, PORTAL_PORT = "127.0.0.1", 5000


def main() -> None:
    mailbox = subprocess.Popen([sys.executable, "-m", "dev_mailbox"])  # noqa: S603 - our own package
    os.environ.setdefault("OUTBOX_THREAD", "1")
    app = create_app()
    time.sleep(0.5)  # let the mailbox print its own lines first
    print(
        "\n".join(
            [
                "",
                f"  Portal (parents and staff): http://{PORTAL_HOST}:{PORTAL_PORT}/",
                "  Dev mailbox, web inbox:     http://127.0.0.1:8025/",
                f"  Dev mailbox, SMTP:          {app.config['MAIL_SERVER']}:{app.config['MAIL_PORT']}",
                *login_lines(),
                "  Ctrl+C stops everything.",
                "",
            ]
        ),
        flush=True,
    )
    try:
        run_simple(PORTAL_HOST, PORTAL_PORT, app, threaded=True, use_reloader=False)
    finally:
        app.extensions["outbox_sender"].stop()
        mailbox.terminate()
        mailbox.wait(10)


if __name__ == "__main__":
    main()
