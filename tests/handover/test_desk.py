"""Agent actions and what agents may see (handover.desk, views, canned, estimate)."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from bot.db.models import OutboxMessage
from bot.errors import InvalidTransition
from handover import agents, canned, core, desk, estimate, views
from handover.errors import BadRequest, Forbidden, NotFound, StaleState, WindowClosed
from handover.models import AgentSession, HandlingTime
from handover.state import State

from handover_factories import T0, add_inbound, make_agent, make_conversation, minutes


def queued_chat(session, config, at=T0, **kw):
    conversation = make_conversation(session, at=at, **kw)
    core.queue_conversation(session, conversation.id, "ask_human", at, config)
    return conversation.id


def outbox(session, cid):
    rows = session.execute(select(OutboxMessage).where(OutboxMessage.conversation_id == cid)
                           .order_by(OutboxMessage.id)).scalars()
    return [(row.author, json.loads(row.body)["text"]["body"]) for row in rows]


def test_reply_goes_to_the_outbox_as_the_agent(session, config):
    cid = queued_chat(session, config)
    jan = make_agent(session, "Jan de Vries")
    desk.claim(session, config, jan, cid, T0 + minutes(1))
    outbox_id = desk.reply(session, jan, cid, "  Goedemorgen, waarmee kan ik u helpen?  ", T0 + minutes(2))
    row = session.get(OutboxMessage, outbox_id)
    assert row.author == f"agent:{jan.id}" and row.state == "pending"
    assert json.loads(row.body) == {"type": "text", "text": {"body": "Goedemorgen, waarmee kan ik u helpen?"}}


def test_only_the_assigned_agent_replies(session, config):
    cid = queued_chat(session, config)
    jan, piet = make_agent(session, "Jan"), make_agent(session, "Piet")
    with pytest.raises(Forbidden):
        desk.reply(session, jan, cid, "Hallo", T0)          # still queued
    desk.claim(session, config, jan, cid, T0)
    with pytest.raises(NotFound):                             # Piet does not even see it
        desk.reply(session, piet, cid, "Hallo", T0)
    boss = make_agent(session, "Baas", role="supervisor")
    with pytest.raises(Forbidden):                            # supervisors see, but do not answer
        desk.reply(session, boss, cid, "Hallo", T0)


def test_reply_outside_the_window_is_refused(session, config):
    cid = queued_chat(session, config, at=T0 - minutes(24 * 60 - 1))
    jan = make_agent(session)
    desk.claim(session, config, jan, cid, T0)
    desk.reply(session, jan, cid, "Nog net op tijd", T0)
    with pytest.raises(WindowClosed):
        desk.reply(session, jan, cid, "Te laat", T0 + minutes(2))


@pytest.mark.parametrize("text", ["", "   ", "x" * 4097])
def test_reply_text_is_validated(session, config, text):
    cid = queued_chat(session, config)
    jan = make_agent(session)
    desk.claim(session, config, jan, cid, T0)
    with pytest.raises(BadRequest):
        desk.reply(session, jan, cid, text, T0)


def test_second_claim_loses(session, config):
    cid = queued_chat(session, config)
    jan, piet = make_agent(session, "Jan"), make_agent(session, "Piet")
    desk.claim(session, config, jan, cid, T0)
    with pytest.raises(StaleState) as lost:   # a 409 that says a colleague was first
        desk.claim(session, config, piet, cid, T0)
    assert "collega" in lost.value.public
    boss = make_agent(session, "Baas", role="supervisor")
    with pytest.raises(InvalidTransition):
        desk.claim(session, config, boss, cid, T0)


def test_release_and_transfer_rights(session, config):
    cid = queued_chat(session, config)
    jan, piet = make_agent(session, "Jan"), make_agent(session, "Piet Jansen")
    boss = make_agent(session, "Baas", role="supervisor")
    desk.claim(session, config, jan, cid, T0)
    with pytest.raises(BadRequest):
        desk.transfer(session, config, jan, cid, jan.id, T0)
    desk.transfer(session, config, jan, cid, piet.id, T0 + minutes(1))
    with pytest.raises(NotFound):
        desk.release(session, config, jan, cid, T0)
    desk.release(session, config, boss, cid, T0 + minutes(2))      # a supervisor may
    texts = [text for _, text in outbox(session, cid)]
    assert "Uw vraag is doorgezet naar een collega. U spreekt nu met Piet van de gemeente." in texts
    assert texts[-1].startswith("Uw vraag staat weer in de wachtrij. U bent nummer 1.")


def test_transfer_to_a_disabled_agent_is_refused(session, config):
    cid = queued_chat(session, config)
    jan, gone = make_agent(session, "Jan"), make_agent(session, "Weg")
    agents.set_active(session, agents.find_by_id(session, gone.id), False, T0, actor="test")
    desk.claim(session, config, jan, cid, T0)
    with pytest.raises(BadRequest):
        desk.transfer(session, config, jan, cid, gone.id, T0)
    with pytest.raises(NotFound):
        desk.transfer(session, config, jan, cid, 999999, T0)


def test_close_records_handling_time(session, config):
    cid = queued_chat(session, config)
    jan = make_agent(session)
    desk.claim(session, config, jan, cid, T0 + minutes(4))
    desk.close(session, config, jan, cid, T0 + minutes(10))
    stat = session.execute(select(HandlingTime)).scalar_one()
    assert (stat.wait_s, stat.handle_s, stat.agent_id, stat.reason) == (240, 360, jan.id, "ask_human")


def test_closing_a_queued_chat_needs_a_supervisor(session, config):
    cid = queued_chat(session, config)
    jan, boss = make_agent(session), make_agent(session, "Baas", role="supervisor")
    with pytest.raises(Forbidden):
        desk.close(session, config, jan, cid, T0)
    desk.close(session, config, boss, cid, T0)
    assert core.current_state(session, cid) == "bot"
    stat = session.execute(select(HandlingTime)).scalar_one()
    assert stat.handle_s is None and stat.agent_id is None


def test_pickup_from_the_bot(session, config):
    cid = make_conversation(session).id
    jan = make_agent(session, "Jan")
    desk.pickup(session, config, jan, cid, T0)
    assert outbox(session, cid) == [("system", "U spreekt nu met Jan van de gemeente.")]
    with pytest.raises(InvalidTransition):
        desk.pickup(session, config, jan, cid, T0)


def test_notes_are_internal(session, config):
    cid = queued_chat(session, config)
    jan = make_agent(session, "Jan")
    desk.add_note(session, jan, cid, "Inwoner belt morgen terug", T0)
    [note] = views.notes(session, cid)
    assert (note.agent_name, note.text) == ("Jan", "Inwoner belt morgen terug")
    assert all("belt morgen" not in text for _, text in outbox(session, cid))


def test_unknown_conversation(session, config):
    jan = make_agent(session)
    for action in (lambda: desk.claim(session, config, jan, 424242, T0),
                   lambda: desk.add_note(session, jan, 424242, "x", T0)):
        with pytest.raises(NotFound):
            action()


def test_queue_view_per_role(session, config):
    waiting = queued_chat(session, config, name="Anna")
    mine = queued_chat(session, config, name="Bram")
    theirs = queued_chat(session, config, name="Cor")
    jan, piet = make_agent(session, "Jan"), make_agent(session, "Piet")
    boss = make_agent(session, "Baas", role="supervisor")
    desk.claim(session, config, jan, mine, T0 + minutes(1))
    desk.claim(session, config, piet, theirs, T0 + minutes(1))
    add_inbound(session, mine, "Mijn paspoort is kwijt, ik heb [BSN] gestuurd", T0 + minutes(2),
                privacy_kinds="bsn")

    jan_sees = views.queue(session, jan, T0 + minutes(3))
    assert [(i.conversation_id, i.state) for i in jan_sees] == [(waiting, "queued"), (mine, "assigned")]
    first = jan_sees[0]
    assert (first.place, first.waiting_s, first.reason, first.name) == (1, 180, "ask_human", "Anna")
    assert first.window_left_s == 24 * 3600 - 180
    assert jan_sees[1].last_message.startswith("Mijn paspoort is kwijt") and jan_sees[1].needs_reply
    assert {i.conversation_id for i in views.queue(session, boss, T0)} == {waiting, mine, theirs}


def test_transcript_has_every_side_in_order(session, config):
    cid = queued_chat(session, config)
    jan = make_agent(session, "Jan de Vries")
    desk.claim(session, config, jan, cid, T0 + minutes(1))
    add_inbound(session, cid, "Ik ben verhuisd", T0 + minutes(2), privacy_kinds="address")
    desk.reply(session, jan, cid, "Dank u, ik kijk even mee.", T0 + minutes(3))
    lines = views.transcript(session, cid)
    assert [(line.author, line.author_name) for line in lines] == [
        ("citizen", "Inwoner"), ("system", "Automatisch bericht"), ("system", "Automatisch bericht"),
        ("citizen", "Inwoner"), ("agent", "Jan de Vries")]
    assert lines[3].privacy_kinds == ["address"]
    assert lines[-1].status == "pending"


def test_recent_bot_chats_exclude_handed_over_and_old(session, config):
    fresh = make_conversation(session, at=T0 - minutes(30)).id
    make_conversation(session, at=T0 - minutes(25 * 60))                  # too old
    taken = queued_chat(session, config, at=T0 - minutes(10))
    listed = [chat.conversation_id for chat in views.recent_bot_chats(session, config, T0)]
    assert fresh in listed and taken not in listed and len(listed) == 1


def test_actions_offered_follow_role_and_owner(session, config):
    cid = queued_chat(session, config)
    jan, piet = make_agent(session), make_agent(session)
    boss = make_agent(session, "Baas", role="supervisor")
    conversation = desk.conversation(session, cid)
    view = lambda agent: views.conversation_view(session, agent, conversation, desk.visible(session, agent, cid), T0)
    assert view(jan).actions == ["claim"]
    assert view(boss).actions == ["claim", "close"]
    desk.claim(session, config, jan, cid, T0)
    assert view(jan).actions == ["release", "transfer", "close", "reply"]
    assert view(boss).actions == ["release", "transfer", "close"]
    with pytest.raises(NotFound):
        view(piet)


def test_canned_responses_are_maintained_by_supervisors(session):
    jan, boss = make_agent(session), make_agent(session, "Baas", role="supervisor")
    with pytest.raises(Forbidden):
        canned.create(session, jan, "Groet", "Goedemorgen!", T0)
    item = canned.create(session, boss, "Groet", "Goedemorgen!", T0)
    canned.update(session, boss, item.id, "Groet", "Goedendag!", T0)
    assert [(c.title, c.body) for c in canned.list_all(session)] == [("Groet", "Goedendag!")]
    with pytest.raises(BadRequest):
        canned.create(session, boss, "", "x", T0)
    canned.delete(session, boss, item.id, T0)
    with pytest.raises(NotFound):
        canned.delete(session, boss, item.id, T0)


def test_estimate_uses_recent_handling_times_and_agents_on_duty(session, config):
    assert estimate.median_handle_seconds(session, config) == config.default_handle_minutes * 60
    for handle in (60, 600, 6000):
        session.add(HandlingTime(conversation_id=make_conversation(session).id, closed_at=T0,
                                 handle_s=handle))
    session.flush()
    assert estimate.median_handle_seconds(session, config) == 600
    assert estimate.estimated_wait(session, config, 3, T0).total_seconds() == 1800
    for agent in (make_agent(session), make_agent(session)):
        session.add(AgentSession(agent_id=agent.id, token_hash=f"h{agent.id}", created_at=T0,
                                 expires_at=T0 + minutes(600), last_seen_at=T0 - minutes(1)))
    session.flush()
    assert estimate.agents_on_duty(session, T0) == 2
    assert estimate.estimated_wait(session, config, 3, T0).total_seconds() == 900
    assert estimate.agents_on_duty(session, T0 + minutes(60)) == 1       # nobody seen lately


def test_state_is_left_in_bot_after_a_failed_close(session, config):
    cid = queued_chat(session, config)
    jan = make_agent(session)
    with pytest.raises(Forbidden):
        desk.close(session, config, jan, cid, T0)
    assert core.current_state(session, cid) == State.QUEUED.value


def test_release_after_closing_time_says_when_we_are_back(session, config):
    friday_evening = T0.replace(day=6, hour=16, minute=30)      # 17:30 in Amsterdam
    cid = queued_chat(session, config, at=friday_evening)
    jan = make_agent(session)
    desk.claim(session, config, jan, cid, friday_evening)
    desk.release(session, config, jan, cid, friday_evening + minutes(5))
    last = outbox(session, cid)[-1][1]
    assert last.startswith("Het Klantcontactcentrum is nu gesloten.")
    assert "op maandag 9 maart vanaf 8.30 uur" in last
