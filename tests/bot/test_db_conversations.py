"""The conversation repository (bot.db.conversations) on SQLite and PostgreSQL."""
from __future__ import annotations

import json
import multiprocessing
import sys
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from helpers.db import db_url, pg_database_url, sessions  # noqa: E402,F401  (fixtures)
from helpers.db_race import store_same_message  # noqa: E402

from bot.db import conversations as repo  # noqa: E402
from bot.db.models import (  # noqa: E402
    Conversation, ConversationEvent, InboundMessage, MessageStatus, OutboxMessage,
)
from bot.outbox import enqueue_text  # noqa: E402

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


def new(wamid="wamid.A", wa_id="31600000001", text="Hallo", at=T0, **kw):
    return repo.NewInbound(wamid=wamid, wa_id=wa_id, kind=kw.pop("kind", "text"), text=text,
                           sent_at=at, **kw)


def test_store_inbound_once_with_read_receipt(sessions):
    first = repo.store_inbound(sessions, new(profile_name="Inwoner"), now=T0)
    again = repo.store_inbound(sessions, new(), now=T0)
    assert not first.duplicate and again.duplicate and again.inbound_id is None
    assert first.conversation_id == again.conversation_id
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(InboundMessage)) == 1
        [read] = s.execute(select(OutboxMessage)).scalars().all()
        assert read.kind == "read" and (read.inbound_id, read.seq) == (first.inbound_id, 0)
        assert json.loads(read.body) == {"status": "read", "message_id": "wamid.A",
                                         "typing_indicator": {"type": "text"}}
        conversation = s.get(Conversation, first.conversation_id)
        assert conversation.profile_name == "Inwoner"
        assert repo.as_utc(conversation.last_inbound_at) == T0


def test_typing_rule_decides_indicator(sessions):
    repo.store_inbound(sessions, new(), now=T0, typing=lambda session, cid: False)
    with sessions() as s:
        read = s.execute(select(OutboxMessage)).scalar_one()
        assert "typing_indicator" not in json.loads(read.body)


def test_privacy_kinds_are_stored_comma_separated(sessions):
    stored = repo.store_inbound(sessions, new(text="Mijn BSN is [BSN]", privacy_kinds=("bsn", "iban")))
    with sessions() as s:
        assert s.get(InboundMessage, stored.inbound_id).privacy_kinds == "bsn,iban"


def test_window_only_moves_forward(sessions):
    repo.store_inbound(sessions, new("wamid.1", at=T0 + timedelta(minutes=5)), now=T0 + timedelta(minutes=6))
    repo.store_inbound(sessions, new("wamid.2", at=T0), now=T0 + timedelta(minutes=7))   # late delivery
    with sessions() as s:
        conversation = s.execute(select(Conversation)).scalar_one()
        assert repo.as_utc(conversation.last_inbound_at) == T0 + timedelta(minutes=5)
        assert repo.window_open(conversation, T0 + timedelta(hours=24))
        assert not repo.window_open(conversation, T0 + timedelta(hours=24, minutes=5))


def test_window_never_in_the_future(sessions):
    repo.store_inbound(sessions, new(at=T0 + timedelta(days=2)), now=T0)
    with sessions() as s:
        assert repo.as_utc(s.execute(select(Conversation.last_inbound_at)).scalar()) == T0


def test_pending_in_sent_order_and_conversations_with_pending(sessions):
    a3 = repo.store_inbound(sessions, new("wamid.a3", at=T0 + timedelta(seconds=3)), now=T0)
    a1 = repo.store_inbound(sessions, new("wamid.a1", at=T0 + timedelta(seconds=1)), now=T0)
    b1 = repo.store_inbound(sessions, new("wamid.b1", wa_id="31600000002"), now=T0)
    with sessions.begin() as s:
        assert repo.pending_inbound_ids(s, a1.conversation_id) == [a1.inbound_id, a3.inbound_id]
        assert repo.conversations_with_pending(s) == [a1.conversation_id, b1.conversation_id]
        assert repo.mark_processed(s, a1.inbound_id, "bot", T0)
        assert not repo.mark_processed(s, a1.inbound_id, "bot", T0)    # only once
    with sessions.begin() as s:
        assert repo.pending_inbound_ids(s, a1.conversation_id) == [a3.inbound_id]
        assert repo.previous_inbound_at(s, a1.conversation_id, a1.inbound_id) == T0
        assert repo.previous_inbound_at(s, a1.conversation_id, a3.inbound_id) is None


def test_attempt_failures_are_counted(sessions):
    stored = repo.store_inbound(sessions, new())
    with sessions.begin() as s:
        assert repo.record_attempt_failure(s, stored.inbound_id, "RasaException") == 1
        assert repo.record_attempt_failure(s, stored.inbound_id, "RasaException") == 2
        assert s.get(InboundMessage, stored.inbound_id).state == "pending"


def _sent_row(sessions, wamid="wamid.OUT1"):
    stored = repo.store_inbound(sessions, new())
    with sessions.begin() as s:
        row = enqueue_text(s, stored.conversation_id, "Antwoord", now=T0)
        row.state, row.wamid = "sent", wamid
        return row.id


def test_statuses_in_any_order_keep_the_highest(sessions):
    row_id = _sent_row(sessions)
    for state in ("read", "sent", "delivered"):
        assert repo.store_status(sessions, "wamid.OUT1", state, "31600000001", T0)
    assert not repo.store_status(sessions, "wamid.OUT1", "read", "31600000001", T0)   # redelivered
    with sessions() as s:
        assert s.get(OutboxMessage, row_id).delivery == "read"
        assert s.scalar(select(func.count()).select_from(MessageStatus)) == 3


def test_failed_status_is_recorded_on_the_row(sessions):
    row_id = _sent_row(sessions)
    repo.store_status(sessions, "wamid.OUT1", "failed", "31600000001", T0, 131047, "Re-engagement message")
    with sessions() as s:
        row = s.get(OutboxMessage, row_id)
        assert (row.state, row.delivery, row.error_code, row.error_title) == (
            "failed", "failed", 131047, "Re-engagement message")


def test_status_for_unknown_message_is_kept(sessions):
    assert repo.store_status(sessions, "wamid.UNKNOWN", "delivered")


def test_transcript_both_directions_without_read_receipts(sessions):
    stored = repo.store_inbound(sessions, new(text="Mijn BSN is [BSN]"), now=T0)
    with sessions.begin() as s:
        enqueue_text(s, stored.conversation_id, "Antwoord", now=T0 + timedelta(seconds=1))
        repo.record_event(s, stored.conversation_id, "handover_requested", "privacy", stored.inbound_id, T0)
    with sessions() as s:
        entries = repo.transcript(s, stored.conversation_id)
        assert [(e.direction, e.text, e.author) for e in entries] == [
            ("in", "Mijn BSN is [BSN]", "citizen"), ("out", "Antwoord", "bot")]
        assert s.execute(select(ConversationEvent.detail)).scalar() == "privacy"


def test_get_or_create_conversation_concurrently(sessions):
    ids, errors = [], []

    def create():
        try:
            ids.append(repo.get_or_create_conversation(sessions, "31600000099", "Naam"))
        except Exception as exc:  # pragma: no cover - shown on failure
            errors.append(exc)

    threads = [threading.Thread(target=create) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and len(set(ids)) == 1


@pytest.mark.parametrize("processes", [6])
def test_dedupe_race_across_processes(db_url, processes):
    """The same wamid stored by several processes at once: exactly one stores it."""
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(processes), context.Queue()
    workers = [context.Process(target=store_same_message, args=(db_url, "wamid.RACE", barrier, results))
               for _ in range(processes)]
    for worker in workers:
        worker.start()
    outcomes = sorted(results.get(timeout=60) for _ in workers)
    for worker in workers:
        worker.join(timeout=30)
    assert outcomes == ["duplicate"] * (processes - 1) + ["stored"], outcomes
    from bot.db.engine import make_engine, make_session_factory
    engine = make_engine(db_url)
    with make_session_factory(engine)() as s:
        assert s.scalar(select(func.count()).select_from(InboundMessage)) == 1
        assert s.scalar(select(func.count()).select_from(OutboxMessage)) == 1    # one read receipt
        assert s.scalar(select(func.count()).select_from(Conversation)) == 1
    engine.dispose()
