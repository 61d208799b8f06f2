"""The outbox sender: delivers persisted outbox rows through the Graph API.

Runs inside the Rasa server process (the only process that sends), on its
own event loop in a thread (``SenderThread``) so that a reply does not wait
for Rasa's busy loop. It polls the ``outbox`` table for due rows (other
processes, like the handover service, only insert) and is also woken in
process as soon as a transaction that enqueued something commits.

Rules:
* Per conversation, rows go out one at a time in id order. A row that waits
  for a retry keeps every later row of its conversation waiting, so a
  citizen never reads answer 2 before answer 1. Conversations do not wait
  for each other.
* Timeouts, 5xx and rate limits are retried with exponential backoff and
  jitter (``Retry-After`` respected) up to ``max_attempts``; permanent errors
  (131026, 131047, 131051, 100, other 4xx) are recorded on the row and not
  retried.
* Free-form messages more than 24 hours after the citizen's last message are
  failed locally with 131047, as Meta would.
* A row is marked sent only after Meta accepted it; a crash in between sends
  it again after the restart (at least once; Meta has no idempotency key).
"""
from __future__ import annotations

import asyncio
import json
import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable

from sqlalchemy import exists, select, update
from sqlalchemy.orm import aliased

from bot.db.conversations import DELIVERY_RANK, SERVICE_WINDOW, as_utc
from bot.db.models import Conversation, MessageStatus, OutboxMessage
from bot.outbox import utcnow
from connectors.graph import GraphApiError, GraphClient, OutsideServiceWindow
from connectors.storage import Store

log = logging.getLogger(__name__)

# Kinds that may be sent outside the 24-hour window.
WINDOW_FREE_KINDS = frozenset({"read", "template"})


@dataclass(frozen=True)
class SenderConfig:
    poll_interval_s: float = 0.3
    retry_base_s: float = 0.5
    retry_max_s: float = 60.0
    max_attempts: int = 8
    read_max_attempts: int = 3      # a late "typing..." is worse than none
    concurrency: int = 16
    batch: int = 200


@dataclass(frozen=True)
class Job:
    id: int
    conversation_id: int
    wa_id: str
    kind: str
    body: dict
    attempts: int
    last_inbound_at: datetime | None


@dataclass(frozen=True)
class Outcome:
    state: str                      # sent, retry, failed
    wamid: str | None = None
    error_code: int | None = None
    error_title: str | None = None
    delay_s: float = 0.0


def backoff_delay(attempts: int, base_s: float, max_s: float,
                  rand: Callable[[], float] = random.random) -> float:
    """Delay before retry number ``attempts`` (1-based): exponential, capped, with jitter.

    The jitter (50-100 % of the step) spreads retries of many conversations
    after one outage, so they do not hit a recovering API all at once.
    """
    step = min(max_s, base_s * 2 ** max(0, attempts - 1))
    return step * (0.5 + 0.5 * rand())


def build_payload(job: Job) -> dict[str, Any]:
    """The Graph API body: the stored body plus product and recipient."""
    if job.kind == "read":    # a read receipt names the message, not the recipient
        return {"messaging_product": "whatsapp", **job.body}
    return {"messaging_product": "whatsapp", "recipient_type": "individual", "to": job.wa_id,
            **job.body}


def classify(job: Job, error: GraphApiError, config: SenderConfig) -> Outcome:
    """Retry or give up, by error type and attempts used (including this one)."""
    attempts = job.attempts + 1
    limit = config.read_max_attempts if job.kind == "read" else config.max_attempts
    if error.retryable and attempts < limit:
        delay = backoff_delay(attempts, config.retry_base_s, config.retry_max_s)
        if error.retry_after is not None:
            delay = max(delay, min(error.retry_after, config.retry_max_s))
        return Outcome("retry", error_code=error.code, error_title=error.title, delay_s=delay)
    return Outcome("failed", error_code=error.code, error_title=error.title)


# ---------------------------------------------------------------- repository

def due_jobs(session, now: datetime, limit: int) -> list[Job]:
    """The first pending row of each conversation, when it is due."""
    earlier = aliased(OutboxMessage)
    blocked = exists().where(earlier.conversation_id == OutboxMessage.conversation_id,
                             earlier.state == "pending", earlier.id < OutboxMessage.id)
    rows = session.execute(
        select(OutboxMessage, Conversation.wa_id, Conversation.last_inbound_at)
        .join(Conversation, Conversation.id == OutboxMessage.conversation_id)
        .where(OutboxMessage.state == "pending", OutboxMessage.next_attempt_at <= now, ~blocked)
        .order_by(OutboxMessage.id).limit(limit)).all()
    return [_job(row, wa_id, last_inbound_at) for row, wa_id, last_inbound_at in rows]


def _job(row: OutboxMessage, wa_id: str, last_inbound_at) -> Job:
    try:
        body = json.loads(row.body)
    except ValueError:
        body = {}
    return Job(row.id, row.conversation_id, wa_id, row.kind, body if isinstance(body, dict) else {},
               row.attempts, as_utc(last_inbound_at))


def record_outcome(session, job: Job, outcome: Outcome, now: datetime) -> None:
    values: dict[str, Any] = {"attempts": OutboxMessage.attempts + 1,
                              "error_code": outcome.error_code,
                              "error_title": (outcome.error_title or "")[:512] or None}
    if outcome.state == "sent":
        values.update(state="sent", sent_at=now, wamid=outcome.wamid,
                      delivery=_early_delivery(session, outcome.wamid))
    elif outcome.state == "retry":
        values.update(next_attempt_at=now + timedelta(seconds=outcome.delay_s))
    else:
        values.update(state="failed")
    session.execute(update(OutboxMessage)
                    .where(OutboxMessage.id == job.id, OutboxMessage.state == "pending")
                    .values(**values))


def _early_delivery(session, wamid: str | None) -> str | None:
    # A status webhook can beat us to it: use what already arrived for this wamid.
    if not wamid:
        return None
    seen = set(session.execute(select(MessageStatus.status)
                               .where(MessageStatus.wamid == wamid)).scalars())
    if "failed" in seen:
        return "failed"
    ranked = sorted((DELIVERY_RANK[s], s) for s in seen if s in DELIVERY_RANK)
    return ranked[-1][1] if ranked else None


# -------------------------------------------------------------------- worker

class OutboxSender:
    """The background task that empties the outbox."""

    def __init__(self, store: Store, client: GraphClient, config: SenderConfig = SenderConfig(),
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.store = store
        self.client = client
        self.config = config
        self.clock = clock
        self._in_flight: set[int] = set()          # conversation ids with a send under way
        # A poll that started before a send was recorded can still return that
        # row as pending; ``_finished_at`` (conversation -> epoch of its last
        # recorded send) lets dispatch skip such stale rows.
        self._epoch = 0
        self._finished_at: dict[int, int] = {}
        self._tasks: set[asyncio.Task] = set()
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._main: asyncio.Task | None = None
        self._limit: asyncio.Semaphore | None = None
        self._stopping = False

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._limit = asyncio.Semaphore(self.config.concurrency)
        self._main = asyncio.create_task(self._run(), name="balie-outbox-sender")

    def wake(self) -> None:
        """Look for due rows now; safe to call from any thread."""
        if self._loop is not None and self._wake is not None:
            try:
                self._loop.call_soon_threadsafe(self._wake.set)
            except RuntimeError:   # the loop closed: shutting down, nothing to wake
                pass

    async def stop(self) -> None:
        # A flag, not only cancel(): on Python 3.11 wait_for() can swallow a
        # cancellation that arrives just as the event fires.
        self._stopping = True
        if self._main is not None:
            self.wake()
            done, _ = await asyncio.wait({self._main}, timeout=5)
            if not done:
                self._main.cancel()
                await asyncio.gather(self._main, return_exceptions=True)
        if self._tasks:   # let sends under way finish and be recorded
            await asyncio.wait(set(self._tasks), timeout=15.0)

    async def _run(self) -> None:
        while not self._stopping:
            try:
                await self.dispatch_due()
            except Exception:   # database away: keep the loop alive and try again
                log.exception("outbox poll failed")
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self.config.poll_interval_s)
            except asyncio.TimeoutError:
                pass
            self._wake.clear()

    async def dispatch_due(self) -> int:
        """Start a send for each conversation whose first row is due; returns how many."""
        epoch = self._epoch
        jobs = await self.store.tx(due_jobs, self.clock(), self.config.batch)
        started = 0
        for job in jobs:
            if job.conversation_id in self._in_flight or self._finished_at.get(job.conversation_id, 0) > epoch:
                continue
            self._in_flight.add(job.conversation_id)
            task = asyncio.create_task(self._deliver(job))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            started += 1
        self._forget_before(epoch)
        return started

    def _forget_before(self, epoch: int) -> None:
        # Entries no newer than this poll's start cannot hide a row from later polls.
        for conversation_id in [c for c, e in self._finished_at.items() if e <= epoch]:
            del self._finished_at[conversation_id]

    async def drain(self, timeout_s: float = 10.0) -> None:
        """Send until nothing is due (for tests and tools that run without the loop)."""
        if self._limit is None:
            self._limit = asyncio.Semaphore(self.config.concurrency)
        deadline = asyncio.get_running_loop().time() + timeout_s
        while asyncio.get_running_loop().time() < deadline:
            started = await self.dispatch_due()
            if self._tasks:
                await asyncio.wait(set(self._tasks))
            elif not started:
                return

    async def _deliver(self, job: Job) -> None:
        try:
            async with self._limit:
                outcome = await self._attempt(job)
            await self._record(job, outcome)
        finally:
            self._epoch += 1
            self._finished_at[job.conversation_id] = self._epoch
            self._in_flight.discard(job.conversation_id)
            self.wake()   # the conversation's next row may go now

    async def _attempt(self, job: Job) -> Outcome:
        now = self.clock()
        if job.kind not in WINDOW_FREE_KINDS and not _window_open(job, now):
            log.info("outbox %d not sent: outside the 24-hour window", job.id)
            return Outcome("failed", error_code=OutsideServiceWindow.codes[0],
                           error_title="Re-engagement message")
        try:
            wamid = await self.client.send(build_payload(job))
        except GraphApiError as error:
            outcome = classify(job, error, self.config)
            log.log(logging.WARNING if outcome.state == "failed" else logging.INFO,
                    "outbox %d %s: %s %s", job.id, outcome.state, type(error).__name__, error.code)
            return outcome
        log.info("outbox %d sent (%s) as %s", job.id, job.kind, wamid)
        return Outcome("sent", wamid=wamid)

    async def _record(self, job: Job, outcome: Outcome) -> None:
        for attempt in range(5):
            try:
                await self.store.tx(record_outcome, job, outcome, self.clock())
                return
            except Exception:
                log.exception("could not record outbox %d (try %d)", job.id, attempt + 1)
                await asyncio.sleep(0.2 * 2 ** attempt)


def _window_open(job: Job, now: datetime) -> bool:
    return job.last_inbound_at is not None and now - job.last_inbound_at < SERVICE_WINDOW


class SenderThread:
    """Runs an OutboxSender on its own event loop in a daemon thread.

    The Rasa server's loop is often busy for tens of milliseconds at a time
    (model inference runs on it); a sender on that loop would make every
    reply wait for it at each step. On its own loop, a committed reply goes
    out at once. ``make_client`` builds the HTTP client inside the new loop.
    """

    def __init__(self, store: Store, make_client: Callable[[], GraphClient],
                 config: SenderConfig = SenderConfig()) -> None:
        self._store = store
        self._make_client = make_client
        self._config = config
        self.sender: OutboxSender | None = None
        self._thread = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = None
        self._error: BaseException | None = None

    def start(self, timeout_s: float = 10.0) -> None:
        import threading

        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._main, name="balie-outbox-sender", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout_s) or self._error is not None:
            raise RuntimeError("outbox sender thread did not start") from self._error

    def _main(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        try:
            loop.run_until_complete(self._serve())
        except BaseException as exc:  # reported through start() or the log
            self._error = exc
            self._ready.set()
            log.exception("outbox sender thread stopped")
        finally:
            loop.close()

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        client = self._make_client()
        self.sender = OutboxSender(self._store, client, self._config)
        self.sender.start()
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            await self.sender.stop()
            await client.aclose()

    def wake(self) -> None:
        if self.sender is not None:
            self.sender.wake()

    async def stop(self, timeout_s: float = 20.0) -> None:
        if self._loop is not None and self._stop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join, timeout_s)
