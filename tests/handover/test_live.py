"""Live updates: the DB fingerprint moves with every relevant change (SQLite and PostgreSQL)."""
from __future__ import annotations

import asyncio

from handover import core, desk
from handover.live import ChangeFeed, fingerprint

from handover_factories import T0, add_inbound, make_agent, make_conversation, minutes


def test_fingerprint_moves_on_messages_transitions_and_notes(sessions, config):
    with sessions() as session:
        seen = [fingerprint(session)]
        cid = make_conversation(session).id
        session.commit()
        seen.append(fingerprint(session))                  # a citizen message arrived
        core.queue_conversation(session, cid, "ask_human", T0, config)
        session.commit()
        seen.append(fingerprint(session))                  # queued (+ system message)
        agent = make_agent(session)
        desk.claim(session, config, agent, cid, T0 + minutes(1))
        session.commit()
        seen.append(fingerprint(session))                  # claimed
        desk.add_note(session, agent, cid, "Even nakijken", T0 + minutes(2))
        session.commit()
        seen.append(fingerprint(session))                  # note
        add_inbound(session, cid, "Nog een vraag", T0 + minutes(3))
        session.commit()
        seen.append(fingerprint(session))
        assert len(set(seen)) == len(seen)
        assert fingerprint(session) == seen[-1]            # stable without changes


def test_change_feed_wakes_waiters(sessions):
    async def scenario():
        feed = ChangeFeed(sessions, interval_s=0.05)
        poller = asyncio.create_task(feed.run())
        await asyncio.sleep(0.2)
        seen = feed.seq
        assert await feed.wait(seen, 0.2) == seen          # nothing happened: timeout
        waiter = asyncio.create_task(feed.wait(seen, 5))
        await asyncio.sleep(0.1)
        await asyncio.to_thread(_add_conversation, sessions)
        assert await asyncio.wait_for(waiter, 5) == seen + 1
        poller.cancel()

    asyncio.run(scenario())


def _add_conversation(sessions):
    with sessions() as session:
        make_conversation(session)
        session.commit()
