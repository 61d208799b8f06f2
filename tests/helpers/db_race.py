"""Worker processes for the race tests (importable by spawned children)."""
from __future__ import annotations

from datetime import datetime, timezone


def store_same_message(url: str, wamid: str, barrier, results) -> None:
    """Wait for every process, then store the same message; report what happened."""
    from bot.db.conversations import NewInbound, store_inbound
    from bot.db.engine import make_engine, make_session_factory

    engine = make_engine(url)
    sessions = make_session_factory(engine)
    message = NewInbound(wamid=wamid, wa_id="31600000077", kind="text", text="Hallo",
                         sent_at=datetime.now(timezone.utc))
    barrier.wait()
    try:
        stored = store_inbound(sessions, message)
        results.put("duplicate" if stored.duplicate else "stored")
    except Exception as exc:  # reported, so the test shows it instead of hanging
        results.put(f"error {type(exc).__name__}: {exc}")
    finally:
        engine.dispose()
