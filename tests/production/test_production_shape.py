"""The production shape under trouble: mail down, a sender killed, a double submit across instances,
a web worker killed mid-request, the database and Redis gone and back. See conftest.py for the shape.

Each test uses addresses at a domain of its own, so that what it counts is its own."""

import http.client
import os
import re
import shutil
import signal
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import pytest
import redis
from babel.support import Translations

from tests.conftest import APPLICATION_FORM
from tests.production.conftest import (
    ROOT,
    Browser,
    Service,
    free_port,
    report,
    wait_until,
)
from webapp import isikukood
from webapp.request_log import TOKEN_LIKE

APPLICATION_LINK = re.compile(r"https://portal\.test(/taotlus/vorm/[\w-]+)")
# A request cut off by a killed process: the connection closes with no answer, or is reset.
CUT_OFF = (http.client.HTTPException, ConnectionError)


def child_code(n: int) -> str:
    return isikukood.make(date(2014 + n % 6, 1 + n % 12, 1 + n % 28), female=n % 2 == 0, serial=n % 1000)


def step_one_form(email: str, n: int, token: str) -> dict:
    return {"email": email, "child_personal_code": child_code(n), "keep_email": email, "csrf_token": token}


def step_one(browser: Browser, email: str, n: int = 0, csrf_token: str | None = None) -> None:
    """Esita taotlus sisse logimata: the address and the child's code → Edasi."""
    token = csrf_token or browser.get("/taotlus/").csrf_token()
    page = browser.post("/taotlus/", step_one_form(email, n, token))
    assert page.status == 303, page.text[:500]


def step_one_for_all(stack, emails: list[str], network: int, browsers: int) -> None:
    """`browsers` parents' browsers, each at an address of its own, half on each instance, send step 1
    for `emails` between them, eight at a time."""
    ports = [stack.web["a"].port, stack.web["b"].port]

    def submit(index: int) -> None:
        browser = Browser(ports[index % 2], f"10.{network}.{index // 250}.{index % 250 + 1}")
        token = browser.get("/taotlus/").csrf_token()
        for n, email in enumerate(emails[index::browsers]):
            step_one(browser, email, index + n * browsers, token)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(submit, range(browsers)))


def application_link(stack, browser: Browser, email: str, n: int = 0) -> str:
    """Step 1, then the link in the e-mail, read through the mailbox's API."""
    step_one(browser, email, n)
    found = APPLICATION_LINK.search(stack.mailbox.text_to(email))
    assert found, f"no application link in the e-mail to {email}"
    return found.group(1)


def outbox_of(stack, domain: str) -> list:
    return stack.rows(
        "SELECT id, message_id, status, attempts, claimed_until, sent_at FROM outbox_message"
        " WHERE recipient LIKE :recipients ORDER BY id",
        recipients=f"%@{domain}",
    )


def count_by_status(stack, domain: str) -> Counter:
    return Counter(row.status for row in outbox_of(stack, domain))


def delivered_once_each(stack, domain: str) -> tuple[int, int]:
    """(lost, duplicates): every e-mail of the outbox in the mailbox, counted by Message-ID."""
    expected = {row.message_id.strip("<>") for row in outbox_of(stack, domain)}
    arrived = Counter(message["MessageID"].strip("<>") for message in stack.mailbox.messages(domain))
    assert set(arrived) <= expected, "the mailbox holds an e-mail the outbox never had"
    return len(expected - set(arrived)), sum(count - 1 for count in arrived.values())


def applications_of(stack, email: str) -> int:
    return stack.scalar("SELECT count(*) FROM application WHERE email = :email", email=email)


def translated(message: str, language: str) -> str:
    """What the portal shows for this message id in `language` (the id itself until it is translated)."""
    return Translations.load(str(ROOT / "translations"), [language]).gettext(message)


def test_mail_down_while_500_apply_then_each_e_mail_arrives_exactly_once(stack):
    domain, count = "maildown.example.ee", 500
    emails = [f"parent{n}@{domain}" for n in range(count)]
    stack.mailbox.set_chaos({"Recipient": {"ErrorCode": 451, "Probability": 100}})
    started = time.monotonic()
    step_one_for_all(stack, emails, network=1, browsers=50)
    submitted = time.monotonic() - started

    # All there, all waiting; the senders have been refused (and back off), and nothing got through.
    waiting = outbox_of(stack, domain)
    assert Counter(row.status for row in waiting) == {"pending": count}
    tried = sum(row.attempts > 0 for row in waiting)
    refused = sum(row.attempts for row in waiting)
    assert tried > 0
    assert stack.mailbox.messages(domain) == []

    stack.mailbox.set_chaos({})
    back = time.monotonic()
    wait_until(lambda: count_by_status(stack, domain) == {"sent": count}, 120, "all sent", every=0.5)
    delivered = time.monotonic() - back

    lost, duplicates = delivered_once_each(stack, domain)
    assert (lost, duplicates) == (0, 0)
    assert re.search(
        rf"outbox_id=\d+ domain={re.escape(domain)} attempt=1 status=pending reply='451 ", stack.logs()
    )
    report(
        f"mail down: {count} step-1 submissions over 2 instances in {submitted:.1f}s; meanwhile {refused}"
        f" attempts at {tried} of the e-mails refused with 451, none undeliverable; mail back: all {count}"
        f" delivered in {delivered:.1f}s, lost {lost}, duplicates {duplicates}"
    )


def post_at_once(path: str, browsers: list[Browser], forms: list[dict]) -> list:
    together = threading.Barrier(len(browsers))

    def send(browser: Browser, form: dict):
        together.wait(10)
        return browser.post(path, form)

    with ThreadPoolExecutor(len(browsers)) as pool:
        return list(pool.map(send, browsers, forms))


def test_the_same_link_posted_to_both_instances_at_once_makes_one_application(stack):
    a, b = stack.web["a"], stack.web["b"]
    for n in range(3):
        email = f"parent{n}@twice.example.ee"
        link = application_link(stack, Browser(a.port, f"10.2.0.{n + 1}"), email, n)
        # The parent's two tabs, or a double click that the proxy sent to both instances.
        tabs = [Browser(a.port, f"10.2.1.{n + 1}"), Browser(b.port, f"10.2.1.{n + 1}")]
        forms = [{**APPLICATION_FORM, "csrf_token": tab.get(link).csrf_token()} for tab in tabs]
        answers = post_at_once(link, tabs, forms)
        assert [answer.status for answer in answers] == [303, 303]
        assert all(answer.location.endswith("/taotlus/valmis") for answer in answers)
        for tab in tabs:  # each with its own session, on its own instance
            done = tab.get("/taotlus/valmis")
            assert done.status == 200
            assert translated("DONE!", "et") in done.text
        assert applications_of(stack, email) == 1
        receipts = stack.scalar(
            "SELECT count(*) FROM outbox_message WHERE recipient = :email AND link_token_id IS NULL",
            email=email,
        )
        assert receipts == 1


def test_a_sender_killed_mid_batch_the_other_delivers_the_rest_after_the_lease(stack):
    domain, count = "killed.example.ee", 100
    killed, other = stack.senders["sender-1"], stack.senders["sender-2"]
    # 50 ms before each 250: a batch of 50 takes seconds, so the kill lands in the middle of one.
    stack.mailbox.set_rules([{"match": f"*@{domain}", "action": "delay", "seconds": 0.05}])
    for sender in (killed, other):
        sender.signal_group(signal.SIGSTOP)
    try:
        step_one_for_all(stack, [f"parent{n}@{domain}" for n in range(count)], network=3, browsers=10)
        wait_until(lambda: count_by_status(stack, domain) == {"pending": count}, 30, "all waiting")
        killed.signal_group(signal.SIGCONT)
        wait_until(lambda: count_by_status(stack, domain)["sent"] >= 5, 60, "the first few sent")
        killed.kill()  # kill -9, in the middle of its batch of 50
        kill_time = time.monotonic()
        held = [row for row in outbox_of(stack, domain) if row.status == "pending" and row.claimed_until]
        assert held, "the killed sender held no claimed e-mail"
    finally:
        other.signal_group(signal.SIGCONT)
    wait_until(lambda: count_by_status(stack, domain) == {"sent": count}, 90, "all sent", every=0.5)
    took_over = time.monotonic() - kill_time
    stack.mailbox.set_rules([])

    # What the killed sender held went out only once its lease had run out, and by the other sender.
    sent_at = {row.id: row.sent_at for row in outbox_of(stack, domain)}
    assert all(sent_at[row.id] >= row.claimed_until for row in held)
    lost, duplicates = delivered_once_each(stack, domain)
    assert lost == 0
    # Only the e-mail in flight at the kill can arrive twice: the server's 250 came, the commit did not.
    assert duplicates <= 1
    report(
        f"sender killed: kill -9 with {len(held)} of its claimed e-mails unsent; the other sender"
        f" delivered them after the {stack.base_env['OUTBOX_CLAIM_SECONDS']}s lease, all {count} sent"
        f" {took_over:.1f}s after the kill; lost {lost}, duplicates by Message-ID {duplicates}"
    )
    stack.start_sender("sender-1")


def only_worker(master: int) -> int:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    assert len(children) == 1, f"gunicorn {master} has workers {children}"
    return int(children[0])


def test_a_web_worker_killed_mid_transaction_leaves_no_half_application(stack):
    web = stack.web["a"]
    email = "parent@workerkill.example.ee"
    browser = Browser(web.port, "10.4.0.1")
    link = application_link(stack, browser, email)
    form = {**APPLICATION_FORM, "csrf_token": browser.get(link).csrf_token()}

    # Hold the submission inside its transaction: the receipt e-mail's INSERT waits for this lock.
    with stack.connect() as lock, stack.connect(autocommit=True) as watcher, ThreadPoolExecutor(1) as pool:
        lock.execute("LOCK TABLE outbox_message IN SHARE MODE")
        posting = pool.submit(browser.post, link, form)

        def waiting_backend():
            return watcher.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock'"
                " AND query ILIKE 'INSERT INTO outbox_message%%'",
                (stack.database,),
            ).fetchone()

        (backend,) = wait_until(waiting_backend, 30, "the submission waiting on the lock")
        written = {
            name
            for (name,) in watcher.execute(
                "SELECT c.relname FROM pg_locks l JOIN pg_class c ON c.oid = l.relation"
                " WHERE l.pid = %s AND l.granted AND l.mode = 'RowExclusiveLock' AND c.relkind = 'r'",
                (backend,),
            )
        }
        assert "link_token" in written  # the link is marked used, not yet committed
        os.kill(only_worker(web.pid), signal.SIGKILL)
        lock.rollback()
        with pytest.raises(CUT_OFF):
            posting.result(30)

        def backend_gone() -> bool:
            query = "SELECT count(*) FROM pg_stat_activity WHERE pid = %s"
            return watcher.execute(query, (backend,)).fetchone()[0] == 0

        wait_until(backend_gone, 30, "the killed worker's transaction to end")

    assert applications_of(stack, email) == 0
    assert stack.scalar("SELECT count(*) FROM outbox_message WHERE recipient = :e", e=email) == 1  # the link
    used = stack.scalar("SELECT count(*) FROM link_token WHERE email = :e AND used_at IS NOT NULL", e=email)
    assert used == 0
    report(f"web worker killed mid-transaction (it had written: {', '.join(sorted(written))}): nothing kept")

    # gunicorn has a new worker; the parent sends the form again and is done.
    stack.wait_for_web(web)
    again = browser.post(link, form)
    assert again.status == 303, again.text[:500]
    assert translated("DONE!", "et") in browser.get("/taotlus/valmis").text
    assert applications_of(stack, email) == 1


def test_a_web_instance_killed_during_a_burst_leaves_each_application_whole_or_absent(stack):
    domain, count = "burst.example.ee", 24
    web = stack.web["b"]
    parents = [Browser(web.port, f"10.5.0.{n + 1}") for n in range(count)]
    emails = [f"parent{n}@{domain}" for n in range(count)]
    links = [
        application_link(stack, Browser(stack.web["a"].port, "10.5.1.1"), email, n)
        for n, email in enumerate(emails)
    ]
    forms = [
        {**APPLICATION_FORM, "csrf_token": parent.get(link).csrf_token()}
        for parent, link in zip(parents, links, strict=True)
    ]

    def submit(n: int):
        try:
            return parents[n].post(links[n], forms[n]).status
        except CUT_OFF:
            return None

    with ThreadPoolExecutor(6) as pool:
        answers = pool.map(submit, range(count))

        def some_done() -> bool:
            return stack.scalar("SELECT count(*) FROM application WHERE email LIKE :d", d=f"%@{domain}") >= 3

        wait_until(some_done, 60, "the first applications")
        web.kill()  # kill -9 of gunicorn's master and its worker
        statuses = list(answers)

    for email in emails:
        whole = {
            "application": applications_of(stack, email),
            "link used": stack.scalar(
                "SELECT count(*) FROM link_token WHERE email = :e AND used_at IS NOT NULL", e=email
            ),
            "receipt": stack.scalar(
                "SELECT count(*) FROM outbox_message WHERE recipient = :e AND link_token_id IS NULL", e=email
            ),
        }
        assert set(whole.values()) in ({0}, {1}), f"{email}: {whole}"
    kept = sum(applications_of(stack, email) for email in emails)
    answered = sum(status == 303 for status in statuses)
    assert answered <= kept  # every parent told VALMIS has the application
    report(
        f"web instance killed during a burst of {count} applications: {answered} answered, {kept} saved"
        f" whole, {count - kept} not at all, none half-written"
    )

    stack.start_web("b", port=web.port)  # back, on the same port, for the tests after this one


def test_database_down_gives_a_translated_503_and_the_portal_recovers_by_itself(stack):
    web = stack.web["a"]
    parent = Browser(web.port, "10.6.0.1")
    step_one(parent, "before@down.example.ee", 1)  # the parent's session now lives in the database
    russian = Browser(web.port, "10.6.0.2", language="ru")
    token = russian.get("/taotlus/").csrf_token()  # a visitor with nothing stored yet
    title = "The portal is unavailable for a moment"
    with stack.admin() as admin:
        admin.execute(f'ALTER DATABASE "{stack.database}" WITH ALLOW_CONNECTIONS false')
        try:
            # A restart: every connection cut, new ones refused.
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (stack.database,)
            )
            for page, language in [
                (parent.get("/taotlus/saadetud"), "et"),  # the session cannot even be read
                (russian.post("/taotlus/", step_one_form("x@down.example.ee", 2, token)), "ru"),
            ]:
                assert page.status == 503, page.text[:500]
                assert page.headers["Retry-After"] == "30"
                assert f'<html lang="{language}">' in page.text
                assert translated(title, language) in page.text
                assert "Traceback" not in page.text
            # A page that needs nothing from the database still opens for a newcomer.
            newcomer = Browser(web.port, "10.6.0.4", language="ru").get("/taotlus/")
            assert (newcomer.status, '<html lang="ru">' in newcomer.text) == (200, True)
            assert Browser(web.port, "10.6.0.3").get("/healthz").status == 200
            ready = Browser(web.port, "10.6.0.3").get("/readyz")
            assert (ready.status, '"database":"unreachable"' in ready.text) == (503, True)
        finally:
            admin.execute(f'ALTER DATABASE "{stack.database}" WITH ALLOW_CONNECTIONS true')

    down_ended = time.monotonic()
    wait_until(lambda: parent.get("/taotlus/saadetud").status == 200, 30, "the portal serving again")
    recovered = time.monotonic() - down_ended
    assert Browser(web.port, "10.6.0.3").get("/readyz").status == 200
    # The senders waited it out too: a new application's e-mail arrives.
    assert all(sender.alive for sender in stack.senders.values())
    step_one(parent, "parent@afterdown.example.ee")
    stack.mailbox.text_to("parent@afterdown.example.ee")
    assert "Database unavailable:" in web.log
    report(
        f"database down: 503 pages (et, ru), /readyz 503, /healthz 200; serving again {recovered:.1f}s after"
    )


def test_redis_down_the_portal_keeps_serving_with_limits_in_memory(stack):
    server = shutil.which("redis-server")
    assert server, "redis-server is missing (Debian package redis-server)"
    port = free_port()
    argv = [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    own_redis = Service("redis", argv, {}, stack.directory)
    client = redis.Redis(port=port, socket_timeout=2)

    def redis_up() -> bool:
        own_redis.fail_unless_running()
        try:
            return client.ping()
        except redis.ConnectionError:
            return False

    own_redis.start()
    try:
        wait_until(redis_up, 10, "our own redis-server")
        web = stack.start_web(
            "c", RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{port}/0", APPLY_PER_CLIENT_LIMIT="4 per hour"
        )
        parent = Browser(web.port, "10.7.0.1")
        token = parent.get("/taotlus/").csrf_token()
        for n in range(2):
            step_one(parent, f"parent{n}@redisdown.example.ee", n, token)
        assert client.dbsize() > 0  # the limits were counted in Redis

        own_redis.kill()
        answers = []
        for n in range(2, 8):
            form = {
                "email": f"parent{n}@redisdown.example.ee",
                "child_personal_code": child_code(n),
                "keep_email": f"parent{n}@redisdown.example.ee",
                "csrf_token": token,
            }
            answers.append(parent.post("/taotlus/", form).status)
        # Served on; the limit still holds, counted in the process's memory from the fall back on.
        assert answers == [303, 303, 303, 303, 429, 429]
        assert "falling back to in-memory storage" in web.log
        assert parent.get("/healthz").status == 200

        own_redis.start()
        wait_until(redis_up, 10, "redis-server again")

        def recovered() -> bool:
            parent.get("/taotlus/")  # the limiter looks at Redis again on a request, backing off
            return "Rate limit storage recovered" in web.log

        wait_until(recovered, 45, "the limiter back on Redis", every=0.5)
        report(
            "Redis down: the portal served on, limits counted in memory (429 after 4); Redis back: used again"
        )
    finally:
        own_redis.stop()
        client.close()
        if "c" in stack.web:
            stack.web.pop("c").stop()


def test_logs_name_routes_not_tokens_and_the_senders_log_each_attempt(stack):
    web = stack.web["a"]
    email = "parent@logs.example.ee"
    parent = Browser(web.port, "10.8.0.1")
    link = application_link(stack, parent, email)
    assert parent.post(link, {**APPLICATION_FORM, "csrf_token": parent.get(link).csrf_token()}).status == 303
    assert parent.secure_cookies == {"__Host-portal_session"}

    assert (
        parent.get("/healthz", **{"X-Request-ID": "proxy-42.a_b"}).headers["X-Request-ID"] == "proxy-42.a_b"
    )
    forged = parent.get("/healthz", **{"X-Request-ID": "x" * 65}).headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{16}", forged)

    stack.mailbox.text_to(email)  # the receipt is out
    logs = stack.logs()
    token = link.rsplit("/", 1)[1]
    assert token not in logs
    assert TOKEN_LIKE.search(logs) is None, TOKEN_LIKE.search(logs)
    assert re.search(
        r"request_id=\w+ method=POST path=/taotlus/vorm/<token> status=303 duration_ms=[\d.]+", logs
    )
    assert re.search(
        r"delivery outbox_id=\d+ domain=logs\.example\.ee attempt=1 status=sent reply='250 ", logs
    )
    assert email not in logs and "parent1@maildown" not in logs
