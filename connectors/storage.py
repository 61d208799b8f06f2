"""Running the (synchronous) SQLAlchemy repository from the channel's event loop.

Database calls go to a small thread pool so a slow commit never blocks the
webhook's event loop. SQLite gets one thread: it has one writer anyway, and
one thread per process keeps its lock waits short; PostgreSQL gets several.
"""
from __future__ import annotations

import asyncio
import functools
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, TypeVar

from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from bot.db.engine import make_engine, make_session_factory

log = logging.getLogger(__name__)
T = TypeVar("T")


class Store:
    """An engine, its sessions and the threads that use them."""

    def __init__(self, url: str, threads: int | None = None) -> None:
        self.url = url
        self.is_sqlite = make_url(url).get_backend_name() == "sqlite"
        self.engine = make_engine(url)
        self.sessions = make_session_factory(self.engine)
        self._executor = ThreadPoolExecutor(
            max_workers=threads or (1 if self.is_sqlite else 8), thread_name_prefix="balie-db")

    async def tx(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``fn(session, *args)`` in one transaction, committed when it returns."""
        return await self._run(self._in_transaction, fn, *args, **kwargs)

    async def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``fn(sessions, *args)`` for repository functions that own their transaction."""
        return await self._run(fn, self.sessions, *args, **kwargs)

    def _in_transaction(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        with self.sessions.begin() as session:
            return fn(session, *args, **kwargs)

    async def _run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        call = functools.partial(self._retrying, fn, *args, **kwargs)
        return await loop.run_in_executor(self._executor, call)

    def _retrying(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        # SQLite answers "database is locked" when another process holds the
        # write lock past the busy timeout; a short pause and retry is enough.
        for attempt in range(5):
            try:
                return fn(*args, **kwargs)
            except OperationalError as exc:
                if not (self.is_sqlite and "locked" in str(exc.orig)) or attempt == 4:
                    raise
                log.warning("database locked, retrying (%d)", attempt + 1)
                time.sleep(0.05 * 2 ** attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        self.engine.dispose()
