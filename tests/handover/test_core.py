"""The interface the WhatsApp channel calls (handover.core), on SQLite and PostgreSQL."""
from __future__ import annotations

import json
import os
import subprocess

import pytest
from sqlalchemy import select

from bot.db.models import OutboxMessage
from handover import core, desk, repository
from handover.config import get_config

from handover_factories import ROOT, T0, add_inbound, make_agent, make_conversation, minutes

SATURDAY_NOON = T0.replace(day=7, hour=11)      # 2026-03-07 12:00 Amsterdam


def system_texts(session, conversation_id):
    rows = session.execute(select(OutboxMessage).where(
        OutboxMessage.conversation_id == conversation_id, OutboxMessage.author == "system")
        .order_by(OutboxMessage.id)).scalars()
    return [json.loads(row.body)["text"]["body"] for row in rows]


def test_state_is_bot_until_handed_over(session, config):
    cid = make_conversation(session).id
    assert core.current_state(session, cid) == "bot"
    core.queue_conversation(session, cid, "ask_human", T0, config)
    assert core.current_state(session, cid) == "queued"
    desk.claim(session, config, make_agent(session), cid, T0 + minutes(1))
    assert core.current_state(session, cid) == "assigned"


def test_request_queues_once_and_tells_place_and_wait(session, config):
    first, second = make_conversation(session).id, make_conversation(session).id
    assert core.queue_conversation(session, first, "low_confidence", T0, config)
    assert core.queue_conversation(session, second, "privacy", T0 + minutes(1), config)
    assert not core.queue_conversation(session, second, "ask_human", T0 + minutes(2), config)

    [text] = system_texts(session, second)
    assert "U bent nummer 2 in de wachtrij" in text
    assert "De verwachte wachttijd is ongeveer" in text
    assert repository.get(session, second).reason == "privacy"     # the first reason stays


def test_request_while_assigned_is_a_no_op(session, config):
    cid = make_conversation(session).id
    desk.pickup(session, config, make_agent(session), cid, T0)
    core.queue_conversation(session, cid, "ask_human", T0 + minutes(1), config)
    assert core.current_state(session, cid) == "assigned"
    assert not any("wachtrij" in t for t in system_texts(session, cid))


def test_outside_office_hours_the_citizen_hears_when_we_open(session, config):
    cid = make_conversation(session, at=SATURDAY_NOON).id
    core.queue_conversation(session, cid, "ask_human", SATURDAY_NOON, config)
    [text] = system_texts(session, cid)
    assert "Op dit moment is er niemand aanwezig" in text
    assert "Wij zijn er weer op maandag 9 maart vanaf 8.30 uur" in text
    assert core.current_state(session, cid) == "queued"


def test_unknown_reason_is_a_programming_error(session, config):
    cid = make_conversation(session).id
    with pytest.raises(ValueError):
        core.queue_conversation(session, cid, "bored", T0, config)
    assert core.current_state(session, cid) == "bot"


def test_public_request_handover_uses_the_settings(session):
    get_config.cache_clear()
    cid = make_conversation(session).id
    core.request_handover(session, cid, "ask_human", T0)
    session.commit()
    assert core.current_state(session, cid) == "queued"
    assert len(system_texts(session, cid)) == 1


def test_note_citizen_message_only_for_handed_over_chats(session, config):
    cid = make_conversation(session).id
    early = add_inbound(session, cid, "nog bij de bot", T0)
    core.note_citizen_message(session, cid, early.id, T0)
    assert repository.get(session, cid).last_inbound_id is None        # no row: still the bot's

    core.queue_conversation(session, cid, "ask_human", T0, config)
    later = add_inbound(session, cid, "hallo?", T0 + minutes(3))
    core.note_citizen_message(session, cid, later.id, T0 + minutes(3))
    snapshot = repository.get(session, cid)
    assert (snapshot.last_inbound_id, snapshot.last_citizen_at) == (later.id, T0 + minutes(3))
    assert snapshot.version == 1           # bookkeeping is not a transition


def test_no_queue_message_outside_the_24_hour_window(session, config):
    cid = make_conversation(session, at=T0 - minutes(25 * 60)).id
    core.queue_conversation(session, cid, "ask_human", T0, config)
    assert core.current_state(session, cid) == "queued"
    assert system_texts(session, cid) == []


def test_closing_returns_the_chat_to_the_bot(session, config):
    cid = make_conversation(session).id
    core.queue_conversation(session, cid, "ask_human", T0, config)
    agent = make_agent(session, "Fatima El Amrani")
    desk.claim(session, config, agent, cid, T0 + minutes(1))
    desk.close(session, config, agent, cid, T0 + minutes(5))
    assert core.current_state(session, cid) == "bot"
    texts = system_texts(session, cid)
    assert texts[1] == "U spreekt nu met Fatima van de gemeente."
    assert texts[-1].startswith("De medewerker heeft het gesprek afgesloten.")


RASA_PYTHON = ROOT / ".venv-rasa" / "bin" / "python"


@pytest.mark.skipif(not (ROOT / ".venv-rasa" / ".installed").exists(), reason="Rasa environment not installed")
def test_core_imports_in_the_rasa_environment_without_fastapi(tmp_path):
    """The channel runs in the Rasa env (SQLAlchemy 1.4): core must import and work there."""
    script = f"""
import sys
from datetime import datetime, timezone
import sqlalchemy
from bot.db.engine import make_engine, make_session_factory
from bot.db.migrate import upgrade_to_head
from bot.db.models import Conversation
from handover import core
url = "sqlite:///{tmp_path / 'rasa.db'}"
upgrade_to_head(url)
sessions = make_session_factory(make_engine(url))
now = datetime.now(timezone.utc)
with sessions() as s:
    c = Conversation(wa_id="31600000001", created_at=now, last_inbound_at=now)
    s.add(c); s.flush()
    core.request_handover(s, c.id, "ask_human", now)
    core.note_citizen_message(s, c.id, 1, now)
    s.commit()
    state = core.current_state(s, c.id)
print(sqlalchemy.__version__, state, "fastapi" in sys.modules, "pydantic" in sys.modules)
"""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([str(RASA_PYTHON), "-c", script], capture_output=True, text=True,
                            cwd=ROOT, env=env, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    version, state, fastapi_loaded, _ = result.stdout.split()
    assert version.startswith("1.4") and state == "queued" and fastapi_loaded == "False"
