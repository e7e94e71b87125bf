"""Helpers for the dev mailbox tests: sending real mail and calling the real HTTP API.

A module of its own (not conftest) so that the name cannot clash with other test folders' conftest.
"""

import http.client
import json
import os
import queue
import signal
import smtplib
import subprocess
import sys
import threading
from email.message import EmailMessage


def make_message(
    to: str = "parent@example.com",
    subject: str = "Tere",
    text: str = "Hello",
    html: str | None = None,
    sender: str = "Kool <noreply@kool.example>",
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    return message


def send(mailbox, message: EmailMessage | None = None, **fields) -> dict:
    """Send over real SMTP; returns smtplib's refused-recipients dict."""
    with smtplib.SMTP(mailbox.smtp_host, mailbox.smtp_port, timeout=10) as client:
        return client.send_message(message or make_message(**fields))


def call(mailbox, method: str, path: str, body: bytes | dict | list | None = None, headers=None):
    """(status, parsed JSON or bytes, headers) from the mailbox's HTTP server."""
    data = json.dumps(body).encode() if isinstance(body, dict | list) else body
    host, port = mailbox.api_url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.request(method, path, body=data, headers=headers or {})
        response = connection.getresponse()
        payload = response.read()
    finally:
        connection.close()
    if response.headers.get_content_type() == "application/json":
        return response.status, json.loads(payload), response.headers
    return response.status, payload, response.headers


def nested_parts(depth: int, kind: str = "mixed", subject: str = "pesa") -> bytes:
    """A message of multipart/`kind` parts nested `depth` deep around one text part, "sees".
    In a digest each part has no headers of its own, so it is a whole message: a level more."""
    headerless = b"\r\n" if kind == "digest" else b""
    opening = b"".join(
        f'Content-Type: multipart/{kind}; boundary="b{level}"\r\n\r\n--b{level}\r\n'.encode() + headerless
        for level in range(depth)
    )
    closing = b"".join(headerless + f"--b{level}--\r\n".encode() for level in reversed(range(depth)))
    head = f"Subject: {subject}\r\n".encode()
    return head + opening + b"Content-Type: text/plain\r\n\r\nsees\r\n" + closing


def run_python(*arguments: str, check: bool = True, env: dict | None = None) -> subprocess.CompletedProcess:
    """This interpreter with fixed arguments: no untrusted input reaches the command line.
    `env` is added to this process's environment."""
    return subprocess.run(  # noqa: S603
        [sys.executable, *arguments],
        capture_output=True,
        text=True,
        check=check,
        env={**os.environ, **(env or {})},
    )


class RunningCLI:
    """`python -m dev_mailbox` in a child process, on free ports; `env` is added to the environment."""

    def __init__(self, *arguments: str, env: dict | None = None) -> None:
        self.process = subprocess.Popen(  # noqa: S603 - this interpreter, fixed arguments
            [sys.executable, "-m", "dev_mailbox", "--smtp-port", "0", "--http-port", "0", *arguments],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env={**os.environ, **(env or {})},
        )
        # Read by a thread, so that a line that never comes fails the test instead of hanging it.
        self._lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        smtp_line, http_line = self.next_line(), self.next_line()
        self.smtp_host, port = smtp_line.rsplit(" ", 1)[1].strip().split(":")
        self.smtp_port = int(port)
        self.api_url = http_line.rsplit(" ", 1)[1].strip()

    def _read(self) -> None:
        for line in self.process.stdout:
            self._lines.put(line)

    def next_line(self, timeout: float = 15.0) -> str:
        """The next line the mailbox printed, without its newline."""
        try:
            return self._lines.get(timeout=timeout).rstrip("\n")
        except queue.Empty:
            self.process.kill()
            raise AssertionError(f"dev_mailbox printed no further line within {timeout:g} s") from None

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=10)
        self.process.stdout.close()
        return code
