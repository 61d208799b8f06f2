"""Outbox rows and the core schema on SQLite and PostgreSQL (bot.outbox, bot.db.models, 0001_core)."""
from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData, select, update
from sqlalchemy.exc import IntegrityError

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from helpers.db import db_url, pg_database_url, sessions  # noqa: E402,F401  (fixtures)

from bot import outbox  # noqa: E402
from bot.db import conversations as repo  # noqa: E402
from bot.db.engine import make_engine  # noqa: E402
from bot.db.models import Base, OutboxMessage  # noqa: E402
from connectors.sender import Outcome, due_jobs, record_outcome  # noqa: E402

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
CORE_TABLES = {"conversations", "inbound_messages", "outbox", "message_statuses", "conversation_events"}


def test_migration_0001_matches_the_models(db_url):
    """Editing models.py without regenerating 0001_core.py (or the reverse) fails here."""
    core = MetaData()
    for name in CORE_TABLES:
        Base.metadata.tables[name].to_metadata(core)
    engine = make_engine(db_url)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), core)
    engine.dispose()
    ours = [d for d in diff if _table_of(d) in CORE_TABLES]
    assert ours == []


def _table_of(diff) -> str | None:
    item = diff[0] if isinstance(diff, list) else diff
    for part in item[1:]:
        name = getattr(part, "name", None)
        table = getattr(part, "table", None)
        if table is not None:
            return table.name
        if isinstance(part, str) and part in CORE_TABLES:
            return part
        if name in CORE_TABLES:
            return name
    return None


def _conversation(sessions, wa_id="31600000001") -> int:
    cid = repo.get_or_create_conversation(sessions, wa_id, now=T0)
    with sessions.begin() as s:
        s.execute(update(repo.Conversation).where(repo.Conversation.id == cid).values(last_inbound_at=T0))
    return cid


def test_due_rows_are_the_first_pending_of_each_conversation(sessions):
    a, b = _conversation(sessions, "31600000001"), _conversation(sessions, "31600000002")
    with sessions.begin() as s:
        a1, a2 = (outbox.enqueue_text(s, a, t, now=T0).id for t in ("a1", "a2"))
        b1 = outbox.enqueue_text(s, b, "b1", now=T0).id
    with sessions.begin() as s:
        assert [j.id for j in due_jobs(s, T0, 10)] == [a1, b1]
        [job] = [j for j in due_jobs(s, T0, 10) if j.id == a1]
        assert job.wa_id == "31600000001" and job.body == {"type": "text", "text": {"body": "a1"}}
        # a1 waits for a retry: nothing of conversation a is due, b still is
        record_outcome(s, job, Outcome("retry", error_code=131000, delay_s=30), T0)
    with sessions.begin() as s:
        assert [j.id for j in due_jobs(s, T0, 10)] == [b1]
        assert [j.id for j in due_jobs(s, T0 + timedelta(seconds=31), 10)] == [a1, b1]
        record_outcome(s, due_jobs(s, T0 + timedelta(seconds=31), 10)[0], Outcome("sent", wamid="wamid.X"), T0)
    with sessions.begin() as s:
        assert [j.id for j in due_jobs(s, T0 + timedelta(seconds=31), 10)] == [a2, b1]
        row = s.get(OutboxMessage, a1)
        assert (row.state, row.attempts, row.wamid, row.error_code) == ("sent", 2, "wamid.X", None)


def test_failed_row_no_longer_blocks(sessions):
    a = _conversation(sessions)
    with sessions.begin() as s:
        first, second = (outbox.enqueue_text(s, a, t, now=T0).id for t in ("een", "twee"))
    with sessions.begin() as s:
        record_outcome(s, due_jobs(s, T0, 10)[0], Outcome("failed", error_code=131026, error_title="Message undeliverable"), T0)
    with sessions.begin() as s:
        assert [j.id for j in due_jobs(s, T0, 10)] == [second]
        assert s.get(OutboxMessage, first).error_title == "Message undeliverable"


def test_replies_to_one_inbound_message_cannot_be_written_twice(sessions):
    stored = repo.store_inbound(sessions, repo.NewInbound(wamid="wamid.A", wa_id="31600000001", kind="text",
                                                          text="Hallo", sent_at=T0), now=T0)
    with sessions.begin() as s:
        outbox.enqueue_text(s, stored.conversation_id, "antwoord", inbound_id=stored.inbound_id, seq=1)
    with pytest.raises(IntegrityError):
        with sessions.begin() as s:
            outbox.enqueue_text(s, stored.conversation_id, "antwoord", inbound_id=stored.inbound_id, seq=1)


def test_read_receipt_body(sessions):
    a = _conversation(sessions)
    with sessions.begin() as s:
        row = outbox.enqueue_read(s, a, "wamid.IN", typing=True)
        assert (row.kind, row.author) == ("read", "system")
        assert json.loads(row.body) == {"status": "read", "message_id": "wamid.IN",
                                        "typing_indicator": {"type": "text"}}


def test_on_commit_wakes_only_after_a_commit_that_enqueued(sessions):
    a = _conversation(sessions)
    calls = []
    remove = outbox.on_commit(lambda: calls.append(1))
    try:
        with sessions.begin() as s:
            s.execute(select(OutboxMessage.id))
        assert calls == []
        with pytest.raises(RuntimeError):
            with sessions.begin() as s:
                outbox.enqueue_text(s, a, "weg")
                raise RuntimeError("rolled back")
        with sessions.begin() as s:
            s.execute(select(OutboxMessage.id))
        assert calls == []
        with sessions.begin() as s:
            outbox.enqueue_text(s, a, "verstuur")
        assert calls == [1]
    finally:
        remove()


def test_body_text_for_transcripts():
    assert outbox.body_text({"type": "text", "text": {"body": "Hallo"}}) == "Hallo"
    interactive = {"type": "interactive", "interactive": {"type": "button", "body": {"text": "Kies"},
                   "action": {"buttons": [{"type": "reply", "reply": {"id": "/a", "title": "A"}}]}}}
    assert outbox.body_text(interactive) == "Kies\n[A]"
