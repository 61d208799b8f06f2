"""The periodic check: waiting citizens get updates, never silence, never spam."""
from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select

from bot.db.models import OutboxMessage
from handover import auth, core, desk, ticker
from handover.ticker import update_interval

from handover_factories import PASSWORD, T0, make_agent, make_conversation, minutes

FRIDAY_1650 = T0.replace(day=6, hour=15, minute=50)     # 16:50 in Amsterdam; closes at 17:00


def system_texts(session, cid):
    rows = session.execute(select(OutboxMessage.body).where(
        OutboxMessage.conversation_id == cid, OutboxMessage.author == "system")
        .order_by(OutboxMessage.id)).scalars()
    return [json.loads(body)["text"]["body"] for body in rows]


def queued(session, config, at=T0):
    cid = make_conversation(session, at=at).id
    core.queue_conversation(session, cid, "ask_human", at, config)
    return cid


def test_updates_come_at_growing_intervals(session, config):
    cid = queued(session, config)
    schedule = {m: ticker.run_once(session, config, T0 + minutes(m)) for m in (4, 5, 6, 14, 15, 34, 35)}
    assert schedule == {4: 0, 5: 1, 6: 0, 14: 0, 15: 1, 34: 0, 35: 1}
    texts = system_texts(session, cid)
    assert len(texts) == 4 and texts[1].startswith("U staat nog in de wachtrij. U bent nu nummer 1.")
    assert update_interval(config, 50) == update_interval(config, 5)     # capped


def signed_in_agent(session, config, name="Jan de Vries", at=T0):
    agent = make_agent(session, name=name)
    auth.login(session, config, agent.username, PASSWORD, at)
    return agent


def test_no_update_once_an_agent_has_it(session, config):
    cid = queued(session, config)
    desk.claim(session, config, signed_in_agent(session, config), cid, T0 + minutes(1))
    assert ticker.run_once(session, config, T0 + minutes(30)) == 0


def test_chats_of_an_agent_without_a_live_session_go_back_to_the_queue(session, config):
    present, gone = signed_in_agent(session, config), make_agent(session, name="Piet Jansen")
    kept, freed = queued(session, config), queued(session, config)
    desk.claim(session, config, present, kept, T0 + minutes(1))
    desk.claim(session, config, gone, freed, T0 + minutes(1))
    assert ticker.run_once(session, config, T0 + minutes(2)) == 1
    assert (core.current_state(session, kept), core.current_state(session, freed)) == ("assigned", "queued")
    assert system_texts(session, freed)[-1].startswith("Uw vraag staat weer in de wachtrij.")
    # Jan never logs out, but his session expires: his chat goes back too.
    ticker.run_once(session, config, T0 + timedelta(hours=config.session_hours, minutes=1))
    assert core.current_state(session, kept) == "queued"


def test_office_closing_on_a_waiting_citizen_is_announced_once(session, config):
    cid = queued(session, config, at=FRIDAY_1650)
    assert ticker.run_once(session, config, FRIDAY_1650 + minutes(11)) == 1
    assert ticker.run_once(session, config, FRIDAY_1650 + minutes(60)) == 0
    assert ticker.run_once(session, config, FRIDAY_1650 + minutes(600)) == 0
    notice = system_texts(session, cid)[-1]
    assert notice.startswith("Het Klantcontactcentrum is nu gesloten.")
    assert "op maandag 9 maart vanaf 8.30 uur" in notice


def test_no_update_when_whatsapp_would_refuse_it(session, config):
    cid = queued(session, config, at=T0 - minutes(24 * 60 - 2))
    assert ticker.run_once(session, config, T0 + minutes(10)) == 0
    assert len(system_texts(session, cid)) == 1


def test_a_second_checker_with_the_same_snapshot_sends_nothing(session, config, monkeypatch):
    """Two service processes: the conditional UPDATE lets only one send the notice."""
    cid = queued(session, config)
    stale = ticker.repository.queued(session)
    assert ticker.run_once(session, config, T0 + minutes(5)) == 1
    monkeypatch.setattr(ticker.repository, "queued", lambda _s: stale)
    assert ticker.run_once(session, config, T0 + minutes(5)) == 0
    assert len(system_texts(session, cid)) == 2
