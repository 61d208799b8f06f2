"""``balie agents ...`` (handover.cli.main) against a real SQLite database."""
from __future__ import annotations

import re

import pytest

from bot.db.engine import make_engine, make_session_factory
from handover import auth
from handover.cli import main


@pytest.fixture
def url(tmp_path):
    return f"sqlite:///{tmp_path / 'cli.db'}"


def run(url, capsys, *argv):
    code = main(["--database-url", url, *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_add_list_disable_enable_reset(url, capsys):
    code, out, _ = run(url, capsys, "add", "fatima", "--name", "Fatima El Amrani", "--role", "supervisor")
    assert code == 0
    password = re.search(r"getoond\): (\S+)$", out.strip()).group(1)
    with make_session_factory(make_engine(url))() as session:
        from handover import agents
        stored = agents.find(session, "fatima")
        assert auth.verify_password(password, stored.password_hash) and stored.role == "supervisor"

    code, out, _ = run(url, capsys, "list")
    assert code == 0 and re.search(r"fatima\s+supervisor\s+ja\s+Fatima El Amrani", out)
    assert run(url, capsys, "disable", "fatima")[:2] == (0, "Agent fatima is uitgeschakeld.\n")
    assert re.search(r"fatima\s+supervisor\s+nee", run(url, capsys, "list")[1])
    assert run(url, capsys, "enable", "fatima")[0] == 0
    code, out, _ = run(url, capsys, "reset-password", "fatima")
    assert code == 0 and password not in out


def test_disabling_puts_the_agents_chats_back_in_the_queue(url, capsys):
    from datetime import datetime, timezone

    from handover import core, desk
    from handover_factories import make_agent, make_config, make_conversation

    assert run(url, capsys, "list")[0] == 0      # creates the database
    now = datetime.now(timezone.utc)
    with make_session_factory(make_engine(url))() as session:
        agent = make_agent(session, username="jan")
        cid = make_conversation(session, at=now).id
        core.queue_conversation(session, cid, "ask_human", now, make_config())
        desk.claim(session, make_config(), agent, cid, now)
        session.commit()
    code, out, _ = run(url, capsys, "disable", "jan")
    assert (code, out) == (0, "Agent jan is uitgeschakeld. 1 gesprek(ken) terug in de wachtrij.\n")
    with make_session_factory(make_engine(url))() as session:
        assert core.current_state(session, cid) == "queued"


def test_refusals_exit_1_and_usage_errors_exit_2(url, capsys):
    assert run(url, capsys, "add", "jan", "--name", "Jan")[0] == 0
    code, _, err = run(url, capsys, "add", "jan", "--name", "Jan")
    assert code == 1 and "Fout:" in err
    assert run(url, capsys, "disable", "nobody")[0] == 1
    assert run(url, capsys, "add", "piet")[0] == 2                  # --name missing
    assert run(url, capsys, "add", "piet", "--name", "P", "--role", "god")[0] == 2
    assert run(url, capsys)[0] == 2
