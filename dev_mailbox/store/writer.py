"""The group-commit writer. Every write runs on one event loop (the SMTP server's, in a
running mailbox): the writes queued within a millisecond are committed together, so many SMTP
clients share one fsync, and each one gets its result only after the COMMIT holding its
message has returned."""

import asyncio
import logging
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from dev_mailbox.event_loop import LoopThread

T = TypeVar("T")
Job = Callable[[sqlite3.Connection], Any]
log = logging.getLogger(__name__)

# Writes queued within this many seconds share one transaction and one fsync. 1 ms gathers the
# 250s of several SMTP clients (with none, most commits held one message) at little latency.
GROUP_COMMIT_WINDOW = 0.001


class Writer:
    """The one connection that writes, used only on `loop`; safe to hand writes from any thread.

    Without a loop it runs one of its own. A loop it was given (the loop the SMTP server runs
    on: storing a message then needs no hand-over of the GIL between threads after every
    SQLite call, which dominated ingest time with a writer thread of its own) belongs to the
    caller, who stops it before close().
    """

    def __init__(self, connection: sqlite3.Connection, loop: asyncio.AbstractEventLoop | None) -> None:
        self._writer_connection = connection
        self._pending: list[tuple[Job, Future]] = []
        self._changed = threading.Condition()
        self.version = 0
        self.closed = False
        self.last_write = 0.0  # loop time when the last queued writes were committed
        self._own_loop = LoopThread() if loop is None else None
        self.loop = loop or self._own_loop.loop

    def submit(self, job: Callable[[sqlite3.Connection], T]) -> "Future[T]":
        """Queue a write; the future resolves once the transaction holding it is committed."""
        future: Future[T] = Future()
        if self.closed:
            future.set_exception(RuntimeError("the mailbox store is closed"))
        elif self._on_loop():
            self._enqueue(job, future)
        else:
            try:
                self.loop.call_soon_threadsafe(self._enqueue, job, future)
            except RuntimeError:  # closed meanwhile
                future.set_exception(RuntimeError("the mailbox store is closed"))
        return future

    def write(self, job: Callable[[sqlite3.Connection], T]) -> T:
        return self.submit(job).result()

    def _on_loop(self) -> bool:
        try:
            return asyncio.get_running_loop() is self.loop
        except RuntimeError:  # no loop runs in this thread
            return False

    def _enqueue(self, job: Job, future: Future) -> None:
        self._pending.append((job, future))
        if len(self._pending) == 1:
            # Every write that arrives in the next millisecond shares the commit (group commit).
            self.loop.call_later(GROUP_COMMIT_WINDOW, self._flush)

    def _flush(self) -> None:
        batch, self._pending = self._pending, []
        if batch:
            self._commit_batch(batch)

    def commit_now(self, job: Job) -> Future:
        """(On the loop.) Run one job in a transaction of its own at once, telling nobody
        waiting for changes (see wait_for_change); the future is done on return."""
        done: Future = Future()
        self._commit_batch([(job, done)], notify=False)
        return done

    def _commit_batch(self, batch: list[tuple[Job, Future]], notify: bool = True) -> None:
        connection = self._writer_connection
        # A job whose caller gave up before it ran (an SMTP client gone) is not done at all:
        # the client had no 250, so it will send again.
        batch = [(job, future) for job, future in batch if future.set_running_or_notify_cancel()]
        if not batch:
            return
        outcomes: list[tuple[Future, Any, BaseException | None]] = []
        try:
            connection.execute("BEGIN IMMEDIATE")
            # A savepoint per job when there are several: one bad job fails alone, the others
            # still commit. A lone job needs none: its failure rolls the transaction back.
            isolate = len(batch) > 1
            for job, future in batch:
                if isolate:
                    connection.execute("SAVEPOINT job")
                try:
                    result = job(connection)
                except Exception as error:  # handed to the waiting caller, not swallowed
                    connection.execute("ROLLBACK TO job" if isolate else "ROLLBACK")
                    outcomes.append((future, None, error))
                else:
                    outcomes.append((future, result, None))
                if isolate:
                    connection.execute("RELEASE job")
            if connection.in_transaction:
                connection.execute("COMMIT")
        except sqlite3.Error as error:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            outcomes = [(future, None, error) for _, future in batch]
        self._committed(connection, failed=any(error for _, _, error in outcomes))
        for future, result, error in outcomes:
            if error is None:
                future.set_result(result)
            else:
                future.set_exception(error)
        if notify:
            # Measured from after the COMMIT: a slow fsync is not a quiet moment.
            self.last_write = self.loop.time()
            self.notify()

    def _committed(self, connection: sqlite3.Connection, failed: bool) -> None:
        """After each transaction (`failed`: all or part of it rolled back), before any of its
        callers hears of it."""

    def notify(self) -> None:
        """Wake everyone waiting for a change (see wait_for_change)."""
        with self._changed:
            self.version += 1
            self._changed.notify_all()

    def wait_for_change(self, since: int, timeout: float) -> int:
        """Block until the store changed after version `since` (or timeout); the new version."""
        with self._changed:
            self._changed.wait_for(lambda: self.version != since or self.closed, timeout)
            return self.version

    def close(self) -> None:
        """Finish every write handed over, then close the connection."""
        if self.closed:
            return
        if self._own_loop is None and self.loop.is_running():
            raise RuntimeError("stop the event loop before closing the store on it")
        self.closed = True
        if self._own_loop is not None:
            self._own_loop.stop()
        # The loop has stopped, after running whatever was handed to it: finish from here.
        self._flush()
        if self._own_loop is not None:
            self._own_loop.close()
        self._writer_connection.close()
        with self._changed:
            self._changed.notify_all()
