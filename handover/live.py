"""Live updates for the console: poll the database, wake the SSE streams.

The WhatsApp channel runs in another process (Rasa), so nothing calls us
when a chat is queued or a citizen writes. One poller per service reads a
cheap fingerprint of the shared tables every ``poll_interval_s``; when it
changes, every open event stream is woken and tells its console to refetch.
The console never polls; the database sees one small query per interval,
however many agents are logged in.
"""
from __future__ import annotations

import asyncio
import logging

from sqlalchemy import func, select

from bot.db.models import InboundMessage, MessageStatus, OutboxMessage
from handover.models import ConversationNote, HandoverState

log = logging.getLogger(__name__)


def fingerprint(session) -> tuple:
    """Changes whenever a message arrives or is sent, a note is added or a state moves.

    Versions only grow, so their sum changes with every transition; the count
    of pending outbox rows changes when the sender delivers one, and a new
    status row when Meta reports delivered or read.
    """
    return tuple(session.execute(select(
        select(func.coalesce(func.max(InboundMessage.id), 0)).scalar_subquery(),
        select(func.coalesce(func.max(OutboxMessage.id), 0)).scalar_subquery(),
        select(func.count(OutboxMessage.id)).where(OutboxMessage.state == "pending").scalar_subquery(),
        select(func.coalesce(func.max(MessageStatus.id), 0)).scalar_subquery(),
        select(func.coalesce(func.max(ConversationNote.id), 0)).scalar_subquery(),
        select(func.count(HandoverState.conversation_id)).scalar_subquery(),
        select(func.coalesce(func.sum(HandoverState.version), 0)).scalar_subquery(),
    )).one())


class ChangeFeed:
    """A sequence number that goes up when the fingerprint changes."""

    def __init__(self, session_factory, interval_s: float):
        self._session_factory = session_factory
        self._interval_s = interval_s
        self._seq = 0
        self._last: tuple | None = None
        self._changed: asyncio.Condition | None = None

    @property
    def seq(self) -> int:
        return self._seq

    def _read(self) -> tuple:
        with self._session_factory() as session:
            return fingerprint(session)

    async def run(self) -> None:
        """Poll until cancelled; a failing poll is logged and retried, never fatal."""
        self._changed = asyncio.Condition()
        while True:
            try:
                current = await asyncio.to_thread(self._read)
            except Exception:   # the DB may be briefly locked or down: keep serving
                log.exception("live update poll failed")
            else:
                if current != self._last:
                    self._last, self._seq = current, self._seq + 1
                    async with self._changed:
                        self._changed.notify_all()
            await asyncio.sleep(self._interval_s)

    async def wait(self, seen: int, timeout_s: float) -> int:
        """The new sequence number, or ``seen`` after ``timeout_s`` without change."""
        if self._changed is None or self._seq != seen:
            if self._changed is None:
                await asyncio.sleep(min(timeout_s, self._interval_s))
            return self._seq
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(lambda: self._seq != seen), timeout_s)
            except asyncio.TimeoutError:
                pass
        return self._seq
