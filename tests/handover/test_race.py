"""Race tests: separate processes act on the same chat at the same moment.

Two agents claim the same queued chat 100 times (SQLite and PostgreSQL):
exactly one wins every round and the citizen gets exactly one greeting. In
the even rounds both processes are held just before their UPDATE until both
have read the same snapshot, so the conditional UPDATE (not luck in timing)
decides. A second test has two processes request a handover for the same
conversation: it is queued once, with one queue message.
"""
from __future__ import annotations

import json
import multiprocessing
from collections import Counter
from datetime import datetime, timezone

from sqlalchemy import func, select

from bot.db.engine import make_engine, make_session_factory
from bot.db.models import OutboxMessage
from handover import core, desk, repository
from handover.auth import AgentRef
from handover.models import AuditEntry
from handover.state import State

from handover_factories import ALWAYS_OPEN, make_agent, make_config, make_conversation
from handover_race_workers import claim_worker, request_worker

ROUNDS = 100


def _setup(url, config):
    sessions = make_session_factory(make_engine(url))
    now = datetime.now(timezone.utc)
    with sessions() as session:
        cid = make_conversation(session, at=now).id
        core.queue_conversation(session, cid, "ask_human", now, config)
        jan, piet = make_agent(session, "Jan Alfa", at=now), make_agent(session, "Piet Beta", at=now)
        boss = make_agent(session, "Baas", role="supervisor", at=now)
        session.commit()
    return sessions, cid, jan, piet, boss


def _release(sessions, config, cid, boss: AgentRef) -> None:
    with sessions() as session:
        desk.release(session, config, boss, cid, datetime.now(timezone.utc))
        session.commit()


def test_two_processes_claim_the_same_chat(db_url):
    config = make_config(office_hours=ALWAYS_OPEN)
    sessions, cid, jan, piet, boss = _setup(db_url, config)
    context = multiprocessing.get_context("spawn")
    start, forced, results = context.Barrier(3), context.Barrier(2), context.Queue()
    workers = [context.Process(target=claim_worker, daemon=True,
                               args=(db_url, cid, tuple(vars(agent).values()), config, ROUNDS,
                                     start, forced, results)) for agent in (jan, piet)]
    for worker in workers:
        worker.start()
    outcomes, winners = Counter(), Counter()
    for number in range(ROUNDS):
        start.wait(timeout=120)                    # go
        start.wait(timeout=120)                    # both done
        round_results = sorted(results.get(timeout=60) for _ in range(2))
        kinds = sorted(outcome for _, _, outcome in round_results)
        assert kinds in (["invalid", "won"], ["stale", "won"]), (number, round_results)
        winner = next(agent for _, agent, outcome in round_results if outcome == "won")
        with sessions() as session:
            snapshot = repository.get(session, cid)
        assert (snapshot.state, snapshot.agent_id) == (State.ASSIGNED, winner)
        outcomes.update(kinds)
        winners[winner] += 1
        if number % 2 == 0:
            assert "stale" in kinds, "both read the same snapshot: the UPDATE must pick the winner"
        _release(sessions, config, cid, boss)
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0

    with sessions() as session:
        greetings = [json.loads(body)["text"]["body"] for body in session.execute(
            select(OutboxMessage.body).where(OutboxMessage.author == "system")).scalars()]
        claims = session.scalar(select(func.count()).select_from(AuditEntry)
                                .where(AuditEntry.action == "claim"))
    assert sum(text.startswith("U spreekt nu met") for text in greetings) == ROUNDS
    assert claims == ROUNDS and sum(winners.values()) == ROUNDS
    print(f"\n[race {db_url.split(':')[0]}] {ROUNDS} rounds: wins Jan={winners[jan.id]} "
          f"Piet={winners[piet.id]}; losers: {outcomes['stale']} at the UPDATE (stale), "
          f"{outcomes['invalid']} already assigned when read")


def test_two_processes_request_the_same_handover(db_url):
    config = make_config(office_hours=ALWAYS_OPEN)
    sessions = make_session_factory(make_engine(db_url))
    now = datetime.now(timezone.utc)
    with sessions() as session:
        ids = [make_conversation(session, at=now).id for _ in range(30)]
        session.commit()
    context = multiprocessing.get_context("spawn")
    start, results = context.Barrier(2), context.Queue()
    workers = [context.Process(target=request_worker, daemon=True,
                               args=(db_url, ids, config, start, results)) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=180)
    outcomes = [results.get(timeout=10) for _ in range(2 * len(ids))]
    per_conversation = Counter(cid for cid, outcome in outcomes if outcome == "queued")
    assert not [o for o in outcomes if o[1].startswith("error")], outcomes
    assert per_conversation == Counter({cid: 1 for cid in ids})
    with sessions() as session:
        for cid in ids:
            assert core.current_state(session, cid) == "queued"
            assert session.scalar(select(func.count()).select_from(OutboxMessage).where(
                OutboxMessage.conversation_id == cid, OutboxMessage.author == "system")) == 1
