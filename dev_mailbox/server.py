"""The whole mailbox (store + SMTP + web) started and stopped as one, in background threads."""

import threading
from pathlib import Path

from werkzeug.serving import BaseWSGIServer, make_server

from dev_mailbox import scenarios
from dev_mailbox.access import AccessPolicy
from dev_mailbox.event_loop import LoopThread
from dev_mailbox.smtp import SMTPServer
from dev_mailbox.spam import Spamd, find_spamd
from dev_mailbox.store import Store

MiB = 1024 * 1024
DEFAULT_MAX_SIZE = 10 * MiB
DEFAULT_SMTP_TIMEOUT = 60.0


class Mailbox:
    """A mail catcher: SMTP in, SQLite in the middle, web inbox and JSON API out.

    Port 0 picks a free port on the first start; later starts reuse the same ports, so a client
    configured once finds the mailbox again after stop() and start(). The web side is served to
    loopback host names only, unless it needs `access_token`: when given, or (made at random)
    when `http_host` is not a loopback address; `access_url` is then the link that opens it.
    Spam scores come from a SpamAssassin daemon of the mailbox's own (`spamd`: the program, "auto"
    finds it, None: no spam scores), started when first needed or by `spamd.start()`, stopped by stop().
    """

    def __init__(
        self,
        db_path: str | Path,
        smtp_host: str = "127.0.0.1",
        smtp_port: int = 1025,
        http_host: str = "127.0.0.1",
        http_port: int = 8025,
        *,
        max_size: int = DEFAULT_MAX_SIZE,
        max_messages: int | None = None,
        max_age_days: float | None = None,
        rules: list[scenarios.Rule] | None = None,
        chaos: scenarios.Chaos | None = None,
        smtp_timeout: float = DEFAULT_SMTP_TIMEOUT,
        access_token: str | None = None,
        spamd: str | None = "auto",
    ) -> None:
        self.db_path = Path(db_path)
        self.smtp_host = smtp_host
        self.smtp_port = smtp_port
        self.http_host = http_host
        self.http_port = http_port
        self.max_size = max_size
        self.max_messages = max_messages
        self.max_age_days = max_age_days
        self.smtp_timeout = smtp_timeout
        self.access = AccessPolicy.for_address(http_host, access_token)
        self.spamd = Spamd(find_spamd() if spamd == "auto" else spamd)
        self._initial_rules = rules
        self._initial_chaos = chaos
        self.store: Store | None = None
        # SMTP sessions and the store's writes share one event loop: storing a message then
        # needs no hand-over of the GIL between threads after every SQLite call.
        self._loop: LoopThread | None = None
        self._smtp: SMTPServer | None = None
        self._http: BaseWSGIServer | None = None
        self._http_thread: threading.Thread | None = None

    @property
    def web_url(self) -> str:
        host = f"[{self.http_host}]" if ":" in self.http_host else self.http_host
        return f"http://{host}:{self.http_port}"

    @property
    def access_token(self) -> str | None:
        return self.access.token

    @property
    def access_url(self) -> str:
        """The inbox's address, with the token that opens it when one is needed."""
        return f"{self.web_url}/?token={self.access.token}" if self.access.token else f"{self.web_url}/"

    @property
    def running(self) -> bool:
        return self.store is not None

    def start(self) -> None:
        if self.running:
            return
        from dev_mailbox.web import create_app  # Flask only when the web side actually starts

        loop = LoopThread()
        store = None
        try:
            store = Store(self.db_path, self.max_messages, self.max_age_days, loop=loop.loop)
            if self._initial_rules is not None:
                store.save_rules(self._initial_rules)
            if self._initial_chaos is not None:
                store.save_chaos(self._initial_chaos)
            self._smtp = SMTPServer(
                store, loop.loop, self.smtp_host, self.smtp_port, self.max_size, self.smtp_timeout
            )
            self.smtp_port = self._smtp.start()
            app = create_app(store, self.access, self.spamd)
            self._http = make_server(self.http_host, self.http_port, app, threaded=True)
        except BaseException:
            if self._smtp is not None:
                self._smtp.stop()
                self._smtp = None
            self._close(loop, store)
            raise
        self.http_port = self._http.server_port
        self._http_thread = threading.Thread(
            target=self._http.serve_forever, args=(0.05,), name="mailbox-http", daemon=True
        )
        self._http_thread.start()
        self._loop = loop
        self.store = store

    def stop(self) -> None:
        if not self.running:
            return
        self._http.shutdown()
        self._http.server_close()
        self._http_thread.join()
        self._smtp.stop()
        self.spamd.stop()
        self._close(self._loop, self.store)
        self._loop = self.store = None

    @staticmethod
    def _close(loop: LoopThread, store: Store | None) -> None:
        """Stop the loop first: closing the store then commits, from here, what it was handed last."""
        loop.stop()
        if store is not None:
            store.close()
        loop.close()

    def __enter__(self) -> "Mailbox":
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
