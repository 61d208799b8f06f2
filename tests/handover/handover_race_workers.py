"""Worker processes for the handover race tests (importable by spawned children)."""
from __future__ import annotations

from datetime import datetime, timezone


def claim_worker(url: str, conversation_id: int, agent: tuple, config, rounds: int,
                 start, forced, results) -> None:
    """Each round: wait for everyone, claim the chat, report won / stale / invalid.

    In forced rounds an engine hook holds this process just before its
    conditional UPDATE until the other process is there too, so both acted on
    the same snapshot and only the WHERE clause can pick the winner.
    """
    from sqlalchemy import event

    from bot.db.engine import make_engine, make_session_factory
    from bot.errors import InvalidTransition
    from handover import desk
    from handover.auth import AgentRef
    from handover.errors import StaleState

    engine = make_engine(url)
    sessions = make_session_factory(engine)
    me = AgentRef(*agent)
    hold = {"on": False}

    @event.listens_for(engine, "before_cursor_execute")
    def _meet_before_update(_conn, _cursor, statement, *_args):
        if hold["on"] and statement.lstrip().upper().startswith("UPDATE HANDOVER_STATES"):
            hold["on"] = False
            forced.wait(timeout=60)

    try:
        for number in range(rounds):
            hold["on"] = number % 2 == 0
            start.wait(timeout=60)
            with sessions() as session:
                try:
                    desk.claim(session, config, me, conversation_id, datetime.now(timezone.utc))
                    session.commit()
                    outcome = "won"
                except InvalidTransition as exc:
                    # desk wraps both: the cause tells where this process lost
                    lost_at_update = isinstance(exc.__cause__, StaleState)
                    outcome = "stale" if lost_at_update else "invalid"
                except Exception as exc:  # reported, so the test shows it instead of hanging
                    outcome = f"error {type(exc).__name__}: {exc}"
            if hold["on"]:            # lost before reaching the UPDATE: free the partner
                hold["on"] = False
                forced.wait(timeout=60)
            results.put((number, me.id, outcome))
            start.wait(timeout=60)    # round done; the parent resets the chat
    finally:
        engine.dispose()


def request_worker(url: str, conversation_ids: list, config, start, results) -> None:
    """Each round: both processes ask to hand over the same new conversation."""
    from bot.db.engine import make_engine, make_session_factory
    from handover import core

    engine = make_engine(url)
    sessions = make_session_factory(engine)
    try:
        for cid in conversation_ids:
            start.wait(timeout=60)
            with sessions() as session:
                try:
                    queued = core.queue_conversation(session, cid, "ask_human",
                                                     datetime.now(timezone.utc), config)
                    session.commit()
                    results.put((cid, "queued" if queued else "no-op"))
                except Exception as exc:
                    results.put((cid, f"error {type(exc).__name__}: {exc}"))
    finally:
        engine.dispose()
