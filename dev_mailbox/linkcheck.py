"""Every link in a message with its HTTP status, shaped like Mailpit's `/api/v1/message/{ID}/link-check`.

Each link is asked for with HEAD, and with GET when the server does not allow HEAD (405, 501); the
body of a GET is not read. Nothing a link page does on POST is ever done: the portal's links (login,
application, address change) show a page on GET and act only when its button POSTs, so a check
leaves them usable. Only http and https, at most MAX_LINKS links, TIMEOUT seconds each; redirects
are reported as they are, or followed (`follow`) at most MAX_REDIRECTS times, and only to http(s).
Links to this computer and the local network are checked too: the portal under test lives there.
"""

import http.client
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

MAX_LINKS = 100
TIMEOUT = 10.0
MAX_REDIRECTS = 3
PARALLEL = 8
USER_AGENT = "dev_mailbox link check"
HEAD_NOT_ALLOWED = (405, 501)


@dataclass(frozen=True)
class LinkStatus:
    url: str
    status_code: int  # 0: no HTTP answer
    status: str  # the HTTP reason phrase, or what went wrong

    @property
    def broken(self) -> bool:
        return self.status_code == 0 or self.status_code >= 400

    def as_api(self) -> dict[str, Any]:
        return {"URL": self.url, "StatusCode": self.status_code, "Status": self.status}


@dataclass(frozen=True)
class LinkReport:
    links: tuple[LinkStatus, ...]
    skipped: int  # links over MAX_LINKS, not checked

    @property
    def errors(self) -> int:
        return sum(link.broken for link in self.links)

    def as_api(self) -> dict[str, Any]:
        """Mailpit's LinkCheckResponse."""
        return {"Errors": self.errors, "Links": [link.as_api() for link in self.links]}


class _Refused(Exception):
    """A link or redirect this check does not follow."""


def checkable(url: str) -> bool:
    """http(s) with a host and without a user name or password in it."""
    try:
        parts = urlsplit(url)
        return parts.scheme in ("http", "https") and bool(parts.hostname) and parts.username is None
    except ValueError:
        return False


class _Redirects(urllib.request.HTTPRedirectHandler):
    max_redirections = MAX_REDIRECTS

    def __init__(self, follow: bool) -> None:
        self.follow = follow

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        if not self.follow:
            return None  # the 3xx itself is the answer
        if not checkable(newurl):
            raise _Refused(f"redirect to an address that is not http(s): {newurl[:200]}")
        redirected = super().redirect_request(req, fp, code, msg, headers, newurl)
        if redirected is not None:
            redirected.method = req.get_method()  # HEAD stays HEAD
        return redirected


def _opener(follow: bool) -> urllib.request.OpenerDirector:
    # No proxy from the environment: a proxy would not reach the portal on this computer.
    return urllib.request.build_opener(urllib.request.ProxyHandler({}), _Redirects(follow))


def _reason(code: int) -> str:
    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return ""


def _request(url: str, method: str, follow: bool, timeout: float) -> int:
    request = urllib.request.Request(url, method=method, headers={"User-Agent": USER_AGENT})  # noqa: S310
    try:
        with _opener(follow).open(request, timeout=timeout) as response:  # only http(s): checkable()
            return response.status
    except urllib.error.HTTPError as error:  # 4xx, 5xx, and a 3xx not followed
        error.close()
        return error.code


def check_link(url: str, follow: bool = False, timeout: float = TIMEOUT) -> LinkStatus:
    """One link's status: HEAD, then GET when HEAD is not allowed."""
    if not checkable(url):
        return LinkStatus(url, 0, "not an http(s) address")
    try:
        code = _request(url, "HEAD", follow, timeout)
        if code in HEAD_NOT_ALLOWED:
            code = _request(url, "GET", follow, timeout)
    except _Refused as refused:
        return LinkStatus(url, 0, str(refused))
    except urllib.error.URLError as error:
        return LinkStatus(url, 0, str(error.reason))
    except (OSError, http.client.HTTPException, ValueError) as error:
        return LinkStatus(url, 0, str(error) or type(error).__name__)
    return LinkStatus(url, code, _reason(code))


def check_links(links: list[str], follow: bool = False, timeout: float = TIMEOUT) -> LinkReport:
    """Each link once, in order, at most MAX_LINKS, several at a time."""
    unique = list(dict.fromkeys(links))
    checked = unique[:MAX_LINKS]
    if not checked:
        return LinkReport((), 0)
    with ThreadPoolExecutor(min(PARALLEL, len(checked)), thread_name_prefix="mailbox-link-check") as pool:
        statuses = tuple(pool.map(lambda url: check_link(url, follow, timeout), checked))
    return LinkReport(statuses, len(unique) - len(checked))
