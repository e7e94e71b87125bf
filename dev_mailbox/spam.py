"""SpamAssassin's verdict on a message: the score and every rule that fired, with its description.

The mailbox runs a spamd of its own (Debian's `spamd` package) as a child process: on a free
loopback port, with local tests only (`--local`: no DNS, no blocklists, no Razor, Pyzor or DCC),
no Bayes and no user preferences, in a temporary home directory of its own. It starts on first use
(or at once with `start()`), and stops with the mailbox. It is asked over the spamd protocol
(REPORT), as `spamc -R` would; the answer is shaped like Mailpit's `/api/v1/message/{ID}/sa-check`.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Debian puts spamd in /usr/sbin, which a user's PATH often leaves out.
SEARCH_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/local/sbin"])
PROTOCOL = "SPAMC/1.5"
START_TIMEOUT = 120.0  # loading and compiling the rules takes a few seconds, more on a busy machine
CHECK_TIMEOUT = 30.0
PORT_ATTEMPTS = 3
# Bigger messages are not checked (spamc's own default limit is 500 KB).
MAX_CHECKED_BYTES = 1024 * 1024
MAX_ANSWER_BYTES = 1024 * 1024
CACHED_VERDICTS = 1000
# No state that would make one run score differently from the next, and nothing from the network.
SETTINGS = ("use_bayes 0", "bayes_auto_learn 0", "dns_available no", "skip_rbl_checks 1")

_SUMMARY = re.compile(r"^\s*(?P<spam>\w+)\s*;\s*(?P<score>-?[\d.]+)\s*/\s*(?P<threshold>-?[\d.]+)")
_RULE = re.compile(r"^\s*(?P<score>-?\d+(?:\.\d+)?)\s+(?P<name>[A-Za-z0-9_]+)\s+(?P<description>.*)$")


def find_spamd() -> str | None:
    """Where spamd is installed, or None."""
    return shutil.which("spamd", path=SEARCH_PATH)


@dataclass(frozen=True)
class Rule:
    name: str
    score: float
    description: str

    def as_api(self) -> dict[str, Any]:
        return {"Score": self.score, "Name": self.name, "Description": self.description}


@dataclass(frozen=True)
class Verdict:
    """What SpamAssassin made of one message."""

    score: float
    threshold: float
    is_spam: bool
    rules: tuple[Rule, ...]

    def as_api(self) -> dict[str, Any]:
        """Mailpit's SpamAssassinResponse."""
        return {
            "IsSpam": self.is_spam,
            "Error": "",
            "Score": self.score,
            "Rules": [rule.as_api() for rule in self.rules],
        }


class SpamCheckError(Exception):
    """No verdict. `reason`: "not-installed", "too-large", "not-started" or "failed"; `detail`:
    what spamd said (technical, untranslated)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


def _points(text: str) -> float:
    """ "-0.0" (a tiny negative score, as spamd rounds it) reads as 0.0."""
    return round(float(text), 1) + 0.0


def parse_report(headers: dict[str, str], body: str) -> Verdict:
    """A REPORT answer: the "Spam:" header, then the rules table of the report text."""
    summary = _SUMMARY.match(headers.get("spam", ""))
    if summary is None:
        raise SpamCheckError("failed", f"no verdict in spamd's answer: {headers!r}")
    rules: list[list] = []
    in_table = False
    for line in body.splitlines():
        if not in_table:
            in_table = line.startswith("Content analysis details")
            continue
        if not line.strip() or line.lstrip().startswith(("pts ", "----")):
            continue
        rule = _RULE.match(line)
        if rule:
            rules.append([rule["name"], _points(rule["score"]), rule["description"].strip()])
        elif rules and line[:1].isspace():  # a long description goes on, indented, on the next line
            rules[-1][2] = f"{rules[-1][2]} {line.strip()}"
    return Verdict(
        score=_points(summary["score"]),
        threshold=_points(summary["threshold"]),
        is_spam=summary["spam"].lower() in ("true", "yes"),
        rules=tuple(Rule(name, score, description) for name, score, description in rules),
    )


def ask(port: int, command: str, message: bytes = b"", timeout: float = CHECK_TIMEOUT) -> tuple[dict, str]:
    """One spamd protocol request: the answer's headers (lower-case names) and body."""
    head = f"{command} {PROTOCOL}\r\n"
    if message or command != "PING":
        head += f"Content-length: {len(message)}\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as connection:
        connection.sendall(head.encode("ascii") + b"\r\n" + message)
        connection.shutdown(socket.SHUT_WR)
        chunks: list[bytes] = []
        received = 0
        while chunk := connection.recv(65536):
            chunks.append(chunk)
            received += len(chunk)
            if received > MAX_ANSWER_BYTES:
                raise SpamCheckError("failed", "spamd's answer is too long")
    answer = b"".join(chunks).decode("utf-8", "replace")
    head_part, _blank, body = answer.replace("\r\n", "\n").partition("\n\n")
    status, *header_lines = head_part.split("\n")
    if not status.startswith("SPAMD/") or " 0 " not in f"{status} ":
        raise SpamCheckError("failed", status or "spamd closed the connection without answering")
    headers = {}
    for line in header_lines:
        name, _colon, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return headers, body


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _terminate(process: subprocess.Popen, home: Path) -> None:
    """End spamd (which ends and reaps the children it forked), then anything left in its process
    group, and remove its home. It keeps nothing worth a long wait: 2 s to end by itself (a loaded
    machine made a 10 s wait outlast the mailbox's own shutdown deadline)."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(2)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass  # none left
    shutil.rmtree(home, ignore_errors=True)


class Spamd:
    """The mailbox's own spamd: started on first use or by start(), stopped by stop().

    check() waits for it to be ready. Verdicts are kept by message id: a stored message never
    changes, and the rules do not either while spamd runs.
    """

    def __init__(self, executable: str | None) -> None:
        """`executable`: spamd's path (find_spamd() finds it); None: no spam checks."""
        self.executable = executable
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._starter: threading.Thread | None = None
        self._process: subprocess.Popen | None = None
        self._finalizer: weakref.finalize | None = None
        self._port: int | None = None
        self._failure = ""
        self._stopping = False
        self._verdicts: OrderedDict[str, Verdict] = OrderedDict()

    @property
    def installed(self) -> bool:
        return self.executable is not None

    def start(self) -> None:
        """Start spamd in the background unless it runs or is starting; returns at once."""
        if not self.installed:
            return
        with self._lock:
            self._stopping = False
            alive = self._process is not None and self._process.poll() is None
            if (self._starter and self._starter.is_alive()) or (alive and not self._failure):
                return
            self._ready.clear()
            self._failure = ""
            self._starter = threading.Thread(target=self._launch, name="mailbox-spamd-start", daemon=True)
            self._starter.start()

    def _launch(self) -> None:
        try:
            for _attempt in range(PORT_ATTEMPTS):
                if self._spawn(_free_port()):
                    return
        except OSError as error:
            self._failure = str(error)
        finally:
            self._ready.set()

    def _spawn(self, port: int) -> bool:
        """Run spamd on `port` until it answers PING; False when it exited (the port was taken)."""
        home = Path(tempfile.mkdtemp(prefix="dev_mailbox-spamd-"))
        command = [
            self.executable,
            "--local",
            "--nouser-config",
            f"--listen=127.0.0.1:{port}",
            "--max-children=2",
            "--min-children=1",
            f"--helper-home-dir={home}",
            f"--pidfile={home / 'spamd.pid'}",
            f"--syslog={home / 'spamd.log'}",
            *(f"--cf={setting}" for setting in SETTINGS),
        ]
        environment = {**os.environ, "HOME": str(home), "LANG": "C", "LC_ALL": "C"}
        with (home / "stderr.log").open("wb") as errors:
            process = subprocess.Popen(  # noqa: S603 - spamd, with arguments of our own
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=errors,
                env=environment,
                cwd=home,
                start_new_session=True,  # its own process group: stop() ends its children too
            )
        finalizer = weakref.finalize(self, _terminate, process, home)  # also when Python exits
        with self._lock:
            self._process, self._finalizer, self._port = process, finalizer, port
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline and not self._stopping:
            if process.poll() is not None:
                self._failure = self._log_tail(home) or f"spamd exited with status {process.returncode}"
                finalizer()
                return False
            try:
                headers, _body = ask(port, "PING", timeout=2)
            except (OSError, SpamCheckError):
                time.sleep(0.2)
                continue
            self._failure = ""
            return True
        self._failure = "spamd did not answer in time" if not self._stopping else "stopped"
        finalizer()
        return True

    @staticmethod
    def _log_tail(home: Path) -> str:
        lines: list[str] = []
        for name in ("stderr.log", "spamd.log"):
            try:
                lines += (home / name).read_text("utf-8", "replace").splitlines()
            except OSError:
                pass
        return "\n".join(lines[-5:])

    def cached(self, key: str) -> Verdict | None:
        """The verdict kept under `key`, if any (nothing is checked)."""
        return self._verdicts.get(key)

    def check(self, message: bytes, key: str | None = None, timeout: float = START_TIMEOUT) -> Verdict:
        """SpamAssassin's verdict on `message` (kept under `key`); SpamCheckError when there is none."""
        if key is not None and key in self._verdicts:
            return self._verdicts[key]
        if not self.installed:
            raise SpamCheckError("not-installed")
        if len(message) > MAX_CHECKED_BYTES:
            raise SpamCheckError("too-large", str(len(message)))
        process = self._process
        if process is None or process.poll() is not None:
            self.start()
        if not self._ready.wait(timeout) or self._failure or self._port is None:
            raise SpamCheckError("not-started", self._failure)
        try:
            headers, body = ask(self._port, "REPORT", message)
        except OSError as error:
            raise SpamCheckError("failed", str(error)) from None
        verdict = parse_report(headers, body)
        if key is not None:
            with self._lock:
                self._verdicts[key] = verdict
                while len(self._verdicts) > CACHED_VERDICTS:
                    self._verdicts.popitem(last=False)
        return verdict

    def stop(self) -> None:
        """Stop spamd (and a start under way)."""
        self._stopping = True
        starter = self._starter
        if starter is not None:
            starter.join()
        with self._lock:
            if self._finalizer is not None:
                self._finalizer()
            self._process = self._finalizer = self._starter = None
            self._port = None
            self._ready.clear()
