"""JSON API in the shape of Mailpit's v1 API, so QA tools written for Mailpit work unchanged.

Errors are JSON objects {"Error": "..."} with a 4xx status (see web.py for the app-wide
handler); malformed input never gives a 500.
State changes use PUT and DELETE only: a cross-site page cannot send those without a CORS
preflight, which this API never grants, so the API needs no CSRF token.
"""

import json
import re
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, abort, current_app, jsonify, request

from dev_mailbox import checks, scenarios
from dev_mailbox.mime import parse_message, part_content
from dev_mailbox.search import Filter, SearchError, parse_query
from dev_mailbox.store import LogEntry, Store, Summary

_MIME_TYPE = re.compile(r"[\w.+-]+/[\w.+-]+")
DEFAULT_LIMIT = 50
MAX_LIMIT = 1000
EVENT_HEARTBEAT = 15.0

api = Blueprint("api", __name__, url_prefix="/api")


def store() -> Store:
    return current_app.extensions["dev_mailbox.store"]


class BadRequest(Exception):
    """Input the API cannot act on; becomes a 400 with this message."""


@api.errorhandler(BadRequest)
def _bad_request(error: BadRequest) -> tuple[Response, int]:
    return jsonify({"Error": str(error)}), 400


def timestamp(seconds: float) -> str:
    """RFC 3339 in UTC with milliseconds, as Mailpit writes its times."""
    moment = datetime.fromtimestamp(seconds, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def tags(summary: Summary) -> list[str]:
    """Mailpit's Tags: the X-Tags header's, and "spam" for the spam folder; sorted."""
    found = {tag.lower(): tag for tag in summary.tags}
    if summary.folder == "spam":
        found.setdefault("spam", "spam")
    return sorted(found.values(), key=str.lower)


def summary_json(summary: Summary) -> dict[str, Any]:
    return {
        "ID": summary.id,
        "MessageID": summary.message_id,
        "Read": summary.read,
        "From": summary.sender,
        "To": summary.to,
        "Cc": summary.cc,
        "Bcc": summary.bcc,
        "ReplyTo": summary.reply_to,
        "Subject": summary.subject,
        "Created": timestamp(summary.created),
        "Tags": tags(summary),
        "Size": summary.size,
        "Attachments": summary.attachments,
        "Snippet": summary.snippet,
    }


def message_json(summary: Summary, raw: bytes) -> dict[str, Any]:
    parsed = parse_message(raw)
    return {
        "ID": summary.id,
        "MessageID": summary.message_id,
        "From": summary.sender,
        "To": summary.to,
        "Cc": summary.cc,
        "Bcc": summary.bcc,
        "ReplyTo": summary.reply_to,
        "ReturnPath": parsed.return_path or summary.envelope_from,
        "Subject": summary.subject,
        "Date": timestamp(parsed.date.timestamp() if parsed.date else summary.created),
        "Tags": tags(summary),
        "Text": parsed.text,
        "HTML": parsed.html,
        "Size": summary.size,
        "Inline": [part.as_api() for part in parsed.inline],
        "Attachments": [part.as_api() for part in parsed.attachments],
    }


def log_json(entry: LogEntry) -> dict[str, Any]:
    return {
        "Created": timestamp(entry.created),
        "Action": entry.action,
        "Sender": entry.sender,
        "Recipient": entry.recipient,
        "Reason": entry.reason,
        "Subject": entry.subject,
        "MessageIDs": entry.message.split(",") if entry.message else [],
    }


def _page() -> tuple[int, int]:
    try:
        start = int(request.args.get("start", 0))
        limit = int(request.args.get("limit", DEFAULT_LIMIT))
    except ValueError:
        raise BadRequest("start and limit must be whole numbers") from None
    if start < 0 or not 0 < limit <= MAX_LIMIT:
        raise BadRequest(f"start must be 0 or more and limit from 1 to {MAX_LIMIT}")
    return start, limit


def _json_body() -> Any:
    """The request's JSON, or None for an empty body; malformed JSON is a 400."""
    if not request.get_data():
        return None
    try:
        return json.loads(request.get_data())
    except (ValueError, UnicodeDecodeError) as error:
        raise BadRequest(f"malformed JSON: {error}") from None


def _ids(body: Any) -> list[str] | None:
    """Mailpit's {"IDs": [...]}; a missing or empty list means every message."""
    if body is None:
        return None
    if not isinstance(body, dict):
        raise BadRequest('expected a JSON object like {"IDs": ["..."]}')
    ids = body.get("IDs")
    if ids is None or ids == []:
        return None
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise BadRequest("IDs must be a list of message ID strings")
    return ids


def _search_filter() -> Filter:
    query = request.args.get("query", "").strip()
    if not query:
        raise BadRequest("query is required")
    try:
        return parse_query(query, zone=current_app.extensions["dev_mailbox.time_zone"])
    except SearchError as error:
        raise BadRequest(str(error)) from None


def _listing(where: Filter | None) -> Response:
    start, limit = _page()
    total, unread = store().counts()
    messages, matched = store().find(where, start, limit, count=where is not None)
    return jsonify(
        {
            "total": total,
            "unread": unread,
            "count": len(messages),
            "messages_count": total if matched is None else matched,
            "start": start,
            "tags": store().tags(),
            "messages": [summary_json(summary) for summary in messages],
        }
    )


@api.get("/v1/messages")
def list_messages() -> Response:
    return _listing(None)


@api.delete("/v1/messages")
def delete_messages() -> Response:
    store().delete(_ids(_json_body()))
    return jsonify({"Deleted": True})


@api.put("/v1/messages")
def set_read() -> Response:
    """Mailpit's read status: {"IDs": [...], "Read": true} (Read left out is false, as in Mailpit),
    or {"Search": "...", "Read": ...} for the messages a search finds; neither: every message."""
    body = _json_body()
    if body is not None and not isinstance(body, dict):
        raise BadRequest('expected {"IDs": [...], "Read": true|false}')
    body = body or {}
    ids, read, query = _ids(body), body.get("Read", False), body.get("Search", "")
    if not isinstance(read, bool) or not isinstance(query, str):
        raise BadRequest('expected {"IDs": [...], "Read": true|false} or {"Search": "...", "Read": ...}')
    if ids is not None and query.strip():
        raise BadRequest("You may specify either IDs or a search query, not both")
    if query.strip():
        try:
            where = parse_query(query, zone=current_app.extensions["dev_mailbox.time_zone"])
        except SearchError as error:
            raise BadRequest(str(error)) from None
        ids = [summary.id for summary in store().find(where, 0, 2**31, count=False)[0]]
        if not ids:
            return Response("ok", mimetype="text/plain")
    store().set_read(ids, read)
    return Response("ok", mimetype="text/plain")


@api.get("/v1/search")
def search() -> Response:
    return _listing(_search_filter())


@api.delete("/v1/search")
def delete_search() -> Response:
    deleted = store().delete(where=_search_filter())
    return jsonify({"Deleted": deleted})


def _message(message_id: str) -> tuple[Summary, bytes]:
    found = store().get(message_id)
    if found is None:
        abort(404, description=f"message {message_id!r} not found")
    return found


@api.get("/v1/message/<message_id>")
def message(message_id: str) -> Response:
    summary, raw = _message(message_id)
    if not summary.read:
        store().set_read([summary.id], True)  # opening a message reads it, as in Mailpit
    return jsonify(message_json(summary, raw))


@api.get("/v1/message/<message_id>/headers")
def headers(message_id: str) -> Response:
    _, raw = _message(message_id)
    grouped: dict[str, list[str]] = {}
    for name, value in parse_message(raw).headers:
        grouped.setdefault(name, []).append(value)
    return jsonify(grouped)


@api.get("/v1/message/<message_id>/raw")
def raw_source(message_id: str) -> Response:
    _, raw = _message(message_id)
    return Response(raw, mimetype="text/plain", headers={"X-Content-Type-Options": "nosniff"})


@api.get("/v1/message/<message_id>/part/<part_id>")
def part(message_id: str, part_id: str) -> Response:
    _, raw = _message(message_id)
    found = part_content(raw, part_id)
    if found is None:
        abort(404, description=f"message {message_id!r} has no part {part_id!r}")
    described, content = found
    # A garbled Content-Type from the message must not become a garbled response header.
    mimetype = described.content_type if _MIME_TYPE.fullmatch(described.content_type) else ""
    response = Response(content, mimetype=mimetype or "application/octet-stream")
    # Always a download: an attached HTML file must not run in the inbox's origin.
    response.headers["Content-Disposition"] = "attachment"
    if described.file_name:
        response.headers.set("Content-Disposition", "attachment", filename=described.file_name)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@api.get("/v1/message/<message_id>/sa-check")
def spam_check(message_id: str) -> Response:
    """SpamAssassin's score and rules (Mailpit's shape); without spamd, Error says how to get it."""
    summary, raw = _message(message_id)
    return jsonify(checks.spam_check_json(summary.id, raw))


@api.get("/v1/message/<message_id>/link-check")
def link_check(message_id: str) -> Response:
    """Every link's HTTP status; ?follow=true follows redirects (as Mailpit's)."""
    _, raw = _message(message_id)
    return jsonify(checks.link_check(raw).as_api())


@api.get("/v1/message/<message_id>/html-check")
def html_check(message_id: str) -> Response | tuple[Response, int]:
    """The HTML and CSS against e-mail clients' support for them (Mailpit's shape)."""
    _, raw = _message(message_id)
    try:
        return jsonify(checks.html_check(raw))
    except checks.HtmlCheckProblem as problem:
        return jsonify({"Error": str(problem)}), problem.status


@api.get("/v1/chaos")
def get_chaos() -> Response:
    return jsonify(scenarios.chaos_as_api(store().chaos))


@api.put("/v1/chaos")
def put_chaos() -> Response:
    try:
        chaos = scenarios.parse_chaos(_json_body())
    except scenarios.ScenarioError as error:
        raise BadRequest(str(error)) from None
    store().save_chaos(chaos)
    return jsonify(scenarios.chaos_as_api(chaos))


@api.get("/v1/rules")
def get_rules() -> Response:
    return jsonify([rule.as_api() for rule in store().rules])


@api.put("/v1/rules")
def put_rules() -> Response:
    try:
        rules = scenarios.parse_rules(_json_body())
    except scenarios.ScenarioError as error:
        raise BadRequest(str(error)) from None
    store().save_rules(rules)
    return jsonify([rule.as_api() for rule in rules])


@api.get("/v1/log")
def delivery_log() -> Response:
    start, limit = _page()
    return jsonify({"start": start, "entries": [log_json(e) for e in store().log(limit, start)]})


@api.delete("/v1/log")
def clear_delivery_log() -> Response:
    """Empty the delivery log (a demo's reset; Mailpit has no log to clear)."""
    store().clear_log()
    return jsonify({"Deleted": True})


@api.get("/events")
def events() -> Response:
    """Server-sent events: one "change" event whenever messages arrive or change."""
    return change_events(store())


def change_events(mailbox: Store) -> Response:
    """The event stream: "change" with the store's version whenever it changes, a comment between."""

    def stream():
        version = mailbox.version
        yield "retry: 1000\n\n"
        while not mailbox.closed:
            latest = mailbox.wait_for_change(version, EVENT_HEARTBEAT)
            if latest == version:
                yield ": keep-alive\n\n"  # lets a dead connection surface as a write error
                continue
            version = latest
            yield f"event: change\ndata: {version}\n\n"

    return Response(
        stream(),
        mimetype="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
