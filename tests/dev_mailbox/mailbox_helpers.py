"""Helpers for the dev mailbox tests: sending real mail and calling the real HTTP API.

A module of its own (not conftest) so that the name cannot clash with other test folders' conftest.
"""

import http.client
import json
import smtplib
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
