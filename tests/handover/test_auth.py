"""Logins: scrypt hashes, tokens, expiry, lockout, disabling, the first admin."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from handover import agents, auth
from handover.errors import AlreadyExists, BadRequest, LoginFailed, NotAuthenticated
from handover.models import Agent, AgentSession, AuditEntry

from handover_factories import T0, make_agent, minutes

PASSWORD = "correct horse battery"


def test_password_hashes_are_salted_scrypt():
    first, second = auth.hash_password("geheim wachtwoord"), auth.hash_password("geheim wachtwoord")
    assert first != second and first.startswith("scrypt$")
    assert auth.verify_password("geheim wachtwoord", first)
    assert not auth.verify_password("geheim wachtwoorD", first)
    assert not auth.verify_password("x", "garbage") and not auth.verify_password("x", "md5$a$b$c$d$e")


def test_login_gives_a_token_that_authenticates(session, config):
    jan = make_agent(session, username="jan")
    login = auth.login(session, config, "JAN", PASSWORD, T0)
    assert login.agent == jan and login.expires_at == T0 + minutes(config.session_hours * 60)
    stored = session.execute(select(AgentSession.token_hash)).scalar_one()
    assert stored == auth.token_hash(login.token) and login.token not in stored
    assert auth.authenticate(session, login.token, T0 + minutes(1)) == jan
    with pytest.raises(NotAuthenticated):
        auth.authenticate(session, login.token, login.expires_at)
    for token in (None, "", "nonsense", "x" * 1000):
        with pytest.raises(NotAuthenticated):
            auth.authenticate(session, token, T0)


def test_wrong_password_and_unknown_user_fail_alike(session, config):
    make_agent(session, username="jan")
    for username, password in (("jan", "wrong"), ("nobody", PASSWORD)):
        with pytest.raises(LoginFailed):
            auth.login(session, config, username, password, T0)
    actions = session.execute(select(AuditEntry.action)).scalars().all()
    assert actions.count("login_failed") == 2


def test_lockout_after_too_many_failures(session, config):
    make_agent(session, username="jan")
    for _ in range(config.max_failed_logins):
        with pytest.raises(LoginFailed):
            auth.login(session, config, "jan", "wrong", T0)
    with pytest.raises(LoginFailed):                # right password, but locked
        auth.login(session, config, "jan", PASSWORD, T0 + minutes(1))
    assert auth.login(session, config, "jan", PASSWORD, T0 + minutes(config.lockout_minutes + 1))


def test_disabling_ends_sessions_and_logins(session, config):
    make_agent(session, username="jan")
    login = auth.login(session, config, "jan", PASSWORD, T0)
    agents.set_active(session, agents.find(session, "jan"), False, T0, actor="test")
    with pytest.raises(NotAuthenticated):
        auth.authenticate(session, login.token, T0)
    with pytest.raises(LoginFailed):
        auth.login(session, config, "jan", PASSWORD, T0)
    agents.set_active(session, agents.find(session, "jan"), True, T0, actor="test")
    assert auth.login(session, config, "jan", PASSWORD, T0)


def test_logout(session, config):
    make_agent(session, username="jan")
    login = auth.login(session, config, "jan", PASSWORD, T0)
    auth.logout(session, login.token, login.agent, T0)
    with pytest.raises(NotAuthenticated):
        auth.authenticate(session, login.token, T0)


def test_agent_validation(session):
    make_agent(session, username="jan")
    with pytest.raises(AlreadyExists):
        agents.add(session, "Jan", "Jan Twee", "agent", T0, actor="test")
    for username, name, role in (("j", "J", "agent"), ("jan de vries", "J", "agent"),
                                 ("piet", " ", "agent"), ("piet", "Piet", "boss")):
        with pytest.raises(BadRequest):
            agents.add(session, username, name, role, T0, actor="test")
    with pytest.raises(BadRequest):
        agents.add(session, "piet", "Piet", "agent", T0, actor="test", password="kort")


def test_first_admin_only_when_there_are_no_agents(session):
    info, password = agents.ensure_first_admin(session, T0)
    assert (info.username, info.role) == ("admin", "admin") and len(password) >= 16
    assert agents.ensure_first_admin(session, T0) is None
    stored = session.execute(select(Agent.password_hash)).scalar_one()
    assert password not in stored and auth.verify_password(password, stored)


def test_reset_password(session, config):
    make_agent(session, username="jan")
    login = auth.login(session, config, "jan", PASSWORD, T0)
    new = agents.reset_password(session, agents.find(session, "jan"), T0, actor="test")
    with pytest.raises(NotAuthenticated):
        auth.authenticate(session, login.token, T0)
    assert auth.login(session, config, "jan", new, T0)
