"""One worker per conversation: a chat's messages in order, chats side by side.

``submit(conversation_id)`` makes sure a worker runs for that conversation.
The worker reads the conversation's pending messages from the database (in
the order the citizen sent them) and processes them one at a time, then
looks again; it stops when none are left. Because the database, not the
webhook, says what is pending, the same code recovers messages left pending
by a crash.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Awaitable, Callable

log = logging.getLogger(__name__)


class Dispatcher:
    def __init__(self, pending_ids: Callable[[int], Awaitable[list[int]]],
                 process: Callable[[int], Awaitable[object]]) -> None:
        self._pending_ids = pending_ids
        self._process = process
        self._workers: dict[int, asyncio.Task] = {}
        self._again: set[int] = set()       # submitted while its worker was busy

    def submit(self, conversation_id: int) -> None:
        if conversation_id in self._workers:
            self._again.add(conversation_id)
            return
        task = asyncio.create_task(self._work(conversation_id), name=f"balie-chat-{conversation_id}")
        self._workers[conversation_id] = task

    def busy(self, conversation_id: int) -> bool:
        return conversation_id in self._workers

    @property
    def active(self) -> int:
        return len(self._workers)

    async def _work(self, conversation_id: int) -> None:
        try:
            while True:
                self._again.discard(conversation_id)
                ids = await self._pending_ids(conversation_id)
                for inbound_id in ids:
                    await self._process_one(inbound_id)
                if not ids and conversation_id not in self._again:
                    return
        except asyncio.CancelledError:
            raise
        except Exception as exc:   # database away: the periodic sweep resubmits later
            log.error("conversation %d: worker stopped (%s)", conversation_id, type(exc).__name__)
        finally:
            self._workers.pop(conversation_id, None)
            self._again.discard(conversation_id)

    async def _process_one(self, inbound_id: int) -> None:
        try:
            await self._process(inbound_id)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # Left pending; the sweep tries again. Type only: no message text in logs.
            log.error("inbound %d: processing failed (%s)", inbound_id, type(exc).__name__)
            raise

    async def stop(self) -> None:
        tasks = list(self._workers.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def idle(self, timeout_s: float = 30.0) -> None:
        """Wait until no worker runs (tests)."""
        deadline = asyncio.get_running_loop().time() + timeout_s
        while self._workers and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.01)
