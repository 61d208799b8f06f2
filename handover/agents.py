"""Agent administration: add, list, disable, enable; the first admin.

Shared by the ``balie agents`` command and the admin part of the API.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from handover import audit, auth
from handover.auth import ROLES, AgentRef
from handover.errors import AlreadyExists, BadRequest, NotFound
from handover.models import Agent

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
MIN_PASSWORD = 10
FIRST_ADMIN = "admin"


@dataclass(frozen=True)
class AgentInfo:
    id: int
    username: str
    name: str
    role: str
    active: bool


def _info(agent: Agent) -> AgentInfo:
    return AgentInfo(agent.id, agent.username, agent.name, agent.role, bool(agent.active))


def add(session, username: str, name: str, role: str, now: datetime, *, actor: str,
        password: str | None = None) -> tuple[AgentInfo, str]:
    """Create an agent; returns it with the password (generated when not given)."""
    username = username.strip().lower()
    if not USERNAME.match(username):
        raise BadRequest("username: 2-64 characters a-z, 0-9, '.', '_' or '-'")
    if role not in ROLES:
        raise BadRequest(f"role must be one of {', '.join(ROLES)}")
    if not name.strip():
        raise BadRequest("name is required")
    password = password or auth.new_password()
    if len(password) < MIN_PASSWORD:
        raise BadRequest(f"password must have at least {MIN_PASSWORD} characters")
    agent = Agent(username=username, name=name.strip()[:128], role=role,
                  password_hash=auth.hash_password(password), active=True, created_at=now,
                  failed_logins=0)
    if session.execute(select(Agent.id).where(Agent.username == username)).first():
        raise AlreadyExists(f"username {username!r} is taken")
    session.add(agent)
    try:
        session.flush()
    except IntegrityError as exc:   # taken a moment ago by another process; caller rolls back
        raise AlreadyExists(f"username {username!r} is taken") from exc
    audit.record(session, "agent_add", now, actor=actor, agent_id=_actor_id(actor),
                 target=agent.id, role=role)
    return _info(agent), password


def _actor_id(actor: str) -> int | None:
    kind, _, number = actor.partition(":")
    return int(number) if kind == "agent" and number.isdigit() else None


def list_all(session) -> list[AgentInfo]:
    return [_info(agent) for agent in session.execute(select(Agent).order_by(Agent.username)).scalars()]


def get(session, agent_id: int) -> AgentInfo:
    return _info(find_by_id(session, agent_id))


def find_by_id(session, agent_id: int) -> Agent:
    agent = session.get(Agent, agent_id)
    if agent is None:
        raise NotFound(f"agent {agent_id}")
    return agent


def find(session, username: str) -> Agent:
    agent = session.execute(select(Agent).where(Agent.username == username.strip().lower())).scalar()
    if agent is None:
        raise NotFound(f"agent {username!r}")
    return agent


def set_active(session, agent: Agent, active: bool, now: datetime, *, actor: str) -> AgentInfo:
    """Disable (logs them out everywhere) or enable an agent."""
    agent.active = active
    agent.disabled_at = None if active else now
    if not active:
        auth.end_sessions(session, agent.id)
    audit.record(session, "agent_enable" if active else "agent_disable", now, actor=actor,
                 agent_id=_actor_id(actor), target=agent.id)
    return _info(agent)


def set_role(session, agent: Agent, role: str, now: datetime, *, actor: str) -> AgentInfo:
    if role not in ROLES:
        raise BadRequest(f"role must be one of {', '.join(ROLES)}")
    agent.role = role
    audit.record(session, "agent_role", now, actor=actor, agent_id=_actor_id(actor),
                 target=agent.id, role=role)
    return _info(agent)


def reset_password(session, agent: Agent, now: datetime, *, actor: str) -> str:
    password = auth.new_password()
    agent.password_hash = auth.hash_password(password)
    agent.failed_logins, agent.locked_until = 0, None
    auth.end_sessions(session, agent.id)
    audit.record(session, "agent_password", now, actor=actor, agent_id=_actor_id(actor),
                 target=agent.id)
    return password


def ensure_first_admin(session, now: datetime) -> tuple[AgentInfo, str] | None:
    """With no agents at all, create 'admin' with a random password (shown once)."""
    if session.execute(select(func.count(Agent.id))).scalar():
        return None
    return add(session, FIRST_ADMIN, "Beheerder", "admin", now, actor="system")


def active_agents(session) -> list[AgentRef]:
    rows = session.execute(select(Agent).where(Agent.active.is_(True)).order_by(Agent.name)).scalars()
    return [auth.ref(agent) for agent in rows]
