"""Agent logins: scrypt password hashes, random session tokens, expiry, lockout.

Only the SHA-256 of a session token is stored. A failed login costs the same
scrypt work whether or not the username exists, so timing does not reveal
which usernames are real.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from sqlalchemy import delete, select, update

from handover import audit
from handover.clock import as_utc
from handover.config import HandoverConfig
from handover.errors import LoginFailed, NotAuthenticated
from handover.models import Agent, AgentSession

ROLES = ("agent", "supervisor", "admin")
_RANK = {role: rank for rank, role in enumerate(ROLES)}

# scrypt parameters: ~50 ms and 16 MiB per hash on a laptop; stored with the hash.
_N, _R, _P, _DKLEN = 2 ** 14, 8, 1, 32
_SEEN_EVERY = timedelta(seconds=60)   # refresh last_seen_at at most this often


@dataclass(frozen=True)
class AgentRef:
    """The logged-in agent, as every desk function receives it."""

    id: int
    username: str
    name: str
    role: str

    def at_least(self, role: str) -> bool:
        return _RANK[self.role] >= _RANK[role]

    @property
    def actor(self) -> str:
        return f"agent:{self.id}"


def ref(agent: Agent) -> AgentRef:
    return AgentRef(agent.id, agent.username, agent.name, agent.role)


def hash_password(password: str) -> str:
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=_DKLEN)
    return "$".join(["scrypt", str(_N), str(_R), str(_P), _b64(salt), _b64(digest)])


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n),
                                r=int(r), p=int(p), dklen=len(expected))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))


def new_password() -> str:
    """A random password to hand out once (about 96 bits)."""
    return secrets.token_urlsafe(12)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Login:
    token: str
    agent: AgentRef
    expires_at: datetime


def login(session, config: HandoverConfig, username: str, password: str, now: datetime) -> Login:
    """Check the password and open a session; LoginFailed otherwise.

    Failed attempts are written to the session too: the caller commits them
    before passing the error on (see api.login).
    """
    agent = session.execute(select(Agent).where(Agent.username == username.lower())).scalar()
    if agent is None:
        verify_password(password, _dummy_hash())
        audit.record(session, "login_failed", now, actor="anonymous", username=username[:64])
        raise LoginFailed("unknown username")
    if agent.locked_until is not None and as_utc(agent.locked_until) > now:
        audit.record(session, "login_locked", now, actor=f"agent:{agent.id}", agent_id=agent.id)
        raise LoginFailed("too many attempts")
    if not verify_password(password, agent.password_hash) or not agent.active:
        _count_failure(session, config, agent, now)
        raise LoginFailed("wrong password or disabled")
    agent.failed_logins, agent.locked_until = 0, None
    _forget_expired(session, now)
    token = secrets.token_urlsafe(32)
    expires_at = now + timedelta(hours=config.session_hours)
    session.add(AgentSession(agent_id=agent.id, token_hash=token_hash(token), created_at=now,
                             expires_at=expires_at, last_seen_at=now))
    audit.record(session, "login", now, actor=f"agent:{agent.id}", agent_id=agent.id)
    return Login(token, ref(agent), expires_at)


def _forget_expired(session, now: datetime) -> None:
    """Expired sessions are useless; drop them now and then (at each login) so the table stays small."""
    session.execute(delete(AgentSession).where(AgentSession.expires_at <= now)
                    .execution_options(synchronize_session=False))


def _count_failure(session, config: HandoverConfig, agent: Agent, now: datetime) -> None:
    agent.failed_logins = (agent.failed_logins or 0) + 1
    if agent.failed_logins >= config.max_failed_logins:
        agent.failed_logins = 0
        agent.locked_until = now + timedelta(minutes=config.lockout_minutes)
    audit.record(session, "login_failed", now, actor=f"agent:{agent.id}", agent_id=agent.id,
                 locked=agent.locked_until is not None and as_utc(agent.locked_until) > now)


def authenticate(session, token: str | None, now: datetime) -> AgentRef:
    """The agent behind a session token; NotAuthenticated if missing, expired or disabled."""
    if not token or len(token) > 256:
        raise NotAuthenticated("no session token")
    row = session.execute(
        select(AgentSession, Agent).join(Agent, Agent.id == AgentSession.agent_id)
        .where(AgentSession.token_hash == token_hash(token))
    ).first()
    if row is None:
        raise NotAuthenticated("unknown session")
    login_session, agent = row
    if as_utc(login_session.expires_at) <= now or not agent.active:
        raise NotAuthenticated("session expired or agent disabled")
    if now - as_utc(login_session.last_seen_at) > _SEEN_EVERY:
        session.execute(update(AgentSession).where(AgentSession.id == login_session.id)
                        .values(last_seen_at=now).execution_options(synchronize_session=False))
    return ref(agent)


def logout(session, token: str, agent: AgentRef, now: datetime) -> None:
    session.execute(delete(AgentSession).where(AgentSession.token_hash == token_hash(token))
                    .execution_options(synchronize_session=False))
    audit.record(session, "logout", now, actor=agent.actor, agent_id=agent.id)


def signed_in(session, agent_id: int, now: datetime) -> bool:
    """Whether the agent still has an unexpired session (another tab or device)."""
    return session.execute(
        select(AgentSession.id).where(AgentSession.agent_id == agent_id,
                                      AgentSession.expires_at > now).limit(1)
    ).first() is not None


def end_sessions(session, agent_id: int) -> None:
    """Log an agent out everywhere (after disabling or a password change)."""
    session.execute(delete(AgentSession).where(AgentSession.agent_id == agent_id)
                    .execution_options(synchronize_session=False))
