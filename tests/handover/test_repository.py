"""Transitions applied to the real database (SQLite and PostgreSQL)."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from bot.errors import InvalidTransition
from handover import repository
from handover.errors import StaleState
from handover.models import AuditEntry, HandoverState
from handover.state import Event, State

from handover_factories import T0, make_agent, make_conversation, minutes


def apply(session, conversation_id, event, at, **kw):
    kw.setdefault("actor", "test")
    return repository.apply(session, conversation_id, event, at, **kw)


def test_conversation_without_row_is_with_the_bot(session):
    conversation = make_conversation(session)
    assert repository.current_state(session, conversation.id) == "bot"
    snapshot = repository.get(session, conversation.id)
    assert (snapshot.state, snapshot.version) == (State.BOT, 0)


def test_full_cycle_bumps_version_and_keeps_fields(session):
    conversation = make_conversation(session)
    jan, piet = make_agent(session, "Jan"), make_agent(session, "Piet")
    cid = conversation.id

    queued = apply(session, cid, Event.REQUEST, T0, reason="privacy")
    assert (queued.state, queued.version, queued.reason, queued.queued_at) == (State.QUEUED, 1, "privacy", T0)
    claimed = apply(session, cid, Event.CLAIM, T0 + minutes(2), agent_id=jan.id)
    assert (claimed.state, claimed.agent_id, claimed.assigned_at) == (State.ASSIGNED, jan.id, T0 + minutes(2))
    moved = apply(session, cid, Event.TRANSFER, T0 + minutes(3), agent_id=piet.id)
    assert (moved.state, moved.agent_id, moved.version) == (State.ASSIGNED, piet.id, 3)
    released = apply(session, cid, Event.RELEASE, T0 + minutes(4))
    # back in line at the original place, without an agent
    assert (released.state, released.agent_id, released.queued_at) == (State.QUEUED, None, T0)
    apply(session, cid, Event.CLAIM, T0 + minutes(5), agent_id=jan.id)
    closed = apply(session, cid, Event.CLOSE, T0 + minutes(9))
    assert closed.state is State.CLOSED and closed.agent_id == jan.id
    back = apply(session, cid, Event.RETURN, T0 + minutes(9))
    assert (back.state, back.version, back.agent_id, back.reason) == (State.BOT, 7, None, None)
    session.commit()

    stored = repository.get(session, cid)
    assert stored == back
    assert repository.current_state(session, cid) == "bot"
    actions = session.execute(select(AuditEntry.action).where(AuditEntry.conversation_id == cid)
                              .order_by(AuditEntry.id)).scalars().all()
    assert actions == ["request", "claim", "transfer", "release", "claim", "close", "return"]


def test_pickup_takes_a_bot_chat_directly(session):
    conversation = make_conversation(session)
    jan = make_agent(session)
    picked = apply(session, conversation.id, Event.PICKUP, T0, agent_id=jan.id, actor=f"agent:{jan.id}")
    assert (picked.state, picked.reason, picked.agent_id) == (State.ASSIGNED, "agent_pickup", jan.id)
    entry = session.execute(select(AuditEntry).where(AuditEntry.action == "pickup")).scalar_one()
    assert entry.agent_id == jan.id and json.loads(entry.detail)["to"] == "assigned"


def test_second_handover_cycle_reuses_the_row(session):
    cid = make_conversation(session).id
    jan = make_agent(session)
    for _ in range(2):
        apply(session, cid, Event.REQUEST, T0, reason="ask_human")
        apply(session, cid, Event.CLAIM, T0, agent_id=jan.id)
        apply(session, cid, Event.CLOSE, T0)
        apply(session, cid, Event.RETURN, T0)
    assert repository.get(session, cid).version == 8
    assert session.scalar(select(func.count()).select_from(HandoverState)) == 1


@pytest.mark.parametrize("setup, event", [
    ([], Event.CLAIM), ([], Event.RELEASE), ([], Event.TRANSFER), ([], Event.CLOSE), ([], Event.RETURN),
    ([Event.REQUEST], Event.REQUEST), ([Event.REQUEST], Event.PICKUP),
    ([Event.REQUEST], Event.RELEASE), ([Event.REQUEST], Event.TRANSFER), ([Event.REQUEST], Event.RETURN),
    ([Event.REQUEST, Event.CLAIM], Event.CLAIM), ([Event.REQUEST, Event.CLAIM], Event.REQUEST),
    ([Event.REQUEST, Event.CLAIM], Event.PICKUP), ([Event.REQUEST, Event.CLAIM], Event.RETURN),
])
def test_illegal_transition_leaves_the_row_alone(session, setup, event):
    cid = make_conversation(session).id
    jan = make_agent(session)
    for step in setup:
        apply(session, cid, step, T0, agent_id=jan.id, reason="ask_human")
    before = repository.get(session, cid)
    with pytest.raises(InvalidTransition):
        apply(session, cid, event, T0 + minutes(1), agent_id=jan.id, reason="ask_human")
    assert repository.get(session, cid) == before


def test_expected_version_must_match(session):
    cid = make_conversation(session).id
    jan = make_agent(session)
    apply(session, cid, Event.REQUEST, T0, reason="ask_human")
    with pytest.raises(StaleState):
        apply(session, cid, Event.CLAIM, T0, agent_id=jan.id, expected_version=0)
    assert apply(session, cid, Event.CLAIM, T0, agent_id=jan.id, expected_version=1).version == 2


def test_a_stale_snapshot_loses_at_the_update(session, monkeypatch):
    """The WHERE state/version clause, not the read, decides: a writer with an old snapshot gets 0 rows."""
    cid = make_conversation(session).id
    jan, piet = make_agent(session, "Jan"), make_agent(session, "Piet")
    apply(session, cid, Event.REQUEST, T0, reason="ask_human")
    old = repository.get(session, cid)
    apply(session, cid, Event.CLAIM, T0, agent_id=jan.id)            # the other agent won
    monkeypatch.setattr(repository, "get", lambda _s, _cid: old)      # we still see "queued"
    with pytest.raises(StaleState):
        apply(session, cid, Event.CLAIM, T0, agent_id=piet.id)
    monkeypatch.undo()
    assert repository.get(session, cid).agent_id == jan.id


def test_queue_order_and_place(session):
    ids = [make_conversation(session).id for _ in range(3)]
    for offset, cid in zip((5, 1, 3), ids):
        apply(session, cid, Event.REQUEST, T0 + minutes(offset), reason="ask_human")
    assert [h.conversation_id for h in repository.queued(session)] == [ids[1], ids[2], ids[0]]
    assert [repository.place_in_queue(session, cid) for cid in ids] == [3, 1, 2]
    assert repository.place_in_queue(session, make_conversation(session).id) is None


def test_touch_only_matches_the_expected_owner(session):
    cid = make_conversation(session).id
    jan, piet = make_agent(session, "Jan"), make_agent(session, "Piet")
    apply(session, cid, Event.PICKUP, T0, agent_id=jan.id)
    assert not repository.touch(session, cid, where_state=State.ASSIGNED, where_agent=piet.id,
                                last_agent_reply_at=T0)
    assert repository.touch(session, cid, where_state=State.ASSIGNED, where_agent=jan.id,
                            last_agent_reply_at=T0)
    assert repository.get(session, cid).last_agent_reply_at == T0
