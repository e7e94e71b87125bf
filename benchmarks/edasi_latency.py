"""From the portal's **Edasi** to the message readable in the dev mailbox's JSON API.

The portal (werkzeug, threaded, its sender thread woken by the commit) and the dev mailbox run on
loopback; each round is a real browser-like POST of step 1 followed by polling the API's search until
the message is there. Baseline in the same run: a plain smtplib send straight to the mailbox, read the
same way (what the mailbox alone costs). Goal: p95 under 500 ms. Run: python -m benchmarks.edasi_latency
"""

import http.cookiejar
import json
import re
import smtplib
import statistics
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from datetime import date
from email.message import EmailMessage
from pathlib import Path

from werkzeug.serving import make_server

from benchmarks.report import percentile, quiet_servers, write_section
from dev_mailbox.testing import MailboxHandle
from webapp import create_app, isikukood
from webapp.extensions import db
from webapp.sender import SenderThread

ROUNDS = 100
GOAL_MS = 500.0
CHILD = isikukood.make(date(date.today().year - 9, 3, 4), female=True, serial=21)


def _wait_readable(api_url: str, address: str) -> None:
    query = urllib.parse.quote(f"to:{address}")
    while True:
        with urllib.request.urlopen(f"{api_url}/api/v1/search?query={query}", timeout=5) as response:  # noqa: S310
            if json.loads(response.read())["messages_count"]:
                return
        time.sleep(0.002)


def main() -> None:
    quiet_servers()
    with tempfile.TemporaryDirectory() as folder:
        mailbox = MailboxHandle(Path(folder) / "mailbox.sqlite3")
        mailbox.start()
        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/portal.sqlite3",
                "MAIL_PORT": mailbox.smtp_port,
                "OUTBOX_THREAD": False,  # started below, once the tables exist
                "RATELIMIT_ENABLED": False,
                "SECRET_KEY": "benchmark",
            }
        )
        with app.app_context():
            db.create_all()
        app.extensions["outbox_sender"] = SenderThread(app)
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        portal = f"http://127.0.0.1:{server.server_port}"
        app.config["BASE_URL"] = portal
        browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        try:
            edasi, baseline = [], []
            for round_number in range(ROUNDS):
                page = browser.open(portal + "/taotlus/").read().decode()
                token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
                address = f"vanem{round_number}@example.ee"
                form = urllib.parse.urlencode(
                    {"csrf_token": token, "email": address, "child_personal_code": CHILD}
                ).encode()
                start = time.perf_counter()
                browser.open(portal + "/taotlus/", data=form).read()
                _wait_readable(mailbox.api_url, address)
                edasi.append((time.perf_counter() - start) * 1000)

                direct = f"otse{round_number}@example.ee"
                message = EmailMessage()
                message["From"], message["To"], message["Subject"] = "bench@kool.example", direct, "Otse"
                message.set_content("Tere!")
                start = time.perf_counter()
                with smtplib.SMTP(mailbox.smtp_host, mailbox.smtp_port, timeout=5) as smtp:
                    smtp.send_message(message)
                _wait_readable(mailbox.api_url, direct)
                baseline.append((time.perf_counter() - start) * 1000)
        finally:
            app.extensions["outbox_sender"].stop()
            server.shutdown()
            server.server_close()
            mailbox.stop()
            with app.app_context():
                db.engine.dispose()

    p95, base_p95 = percentile(edasi, 95), percentile(baseline, 95)
    write_section(
        "Edasi to readable in the mailbox API",
        "\n".join(
            [
                f"{ROUNDS} rounds, one at a time, portal and dev mailbox on loopback, SQLite for both.",
                "",
                "| path | p50 ms | p95 ms | max ms |",
                "|---|---|---|---|",
                "| POST Edasi → outbox → sender → SMTP → mailbox → API search | "
                f"{statistics.median(edasi):.1f} | {p95:.1f} | {max(edasi):.1f} |",
                f"| baseline, same run: smtplib straight to the mailbox → API search | "
                f"{statistics.median(baseline):.1f} | {base_p95:.1f} | {max(baseline):.1f} |",
                "",
                f"p95 {p95:.1f} ms against the goal of {GOAL_MS:.0f} ms: "
                f"{'met' if p95 < GOAL_MS else 'NOT met'}; {p95 / base_p95:.1f}× the mailbox alone.",
            ]
        ),
    )


if __name__ == "__main__":
    main()
