"""Estimated waiting time, from recent handling times.

Deliberately simple so an agent can explain it to a citizen: the median time
an agent spent on the last N closed chats, times the place in the queue,
shared over the agents that are logged in and active. The median keeps one
very long chat from scaring everyone off.
"""
from __future__ import annotations

import math
import statistics
from datetime import datetime, timedelta

from sqlalchemy import func, select

from handover.config import HandoverConfig
from handover.models import Agent, AgentSession, HandlingTime

ACTIVE_WINDOW = timedelta(minutes=15)


def median_handle_seconds(session, config: HandoverConfig) -> float:
    rows = session.execute(
        select(HandlingTime.handle_s).where(HandlingTime.handle_s.isnot(None))
        .order_by(HandlingTime.closed_at.desc()).limit(config.estimate_sample)
    ).scalars().all()
    return float(statistics.median(rows)) if rows else config.default_handle_minutes * 60


def agents_on_duty(session, now: datetime) -> int:
    """Agents with a live session seen recently; at least 1 (someone will come)."""
    count = session.execute(
        select(func.count(func.distinct(AgentSession.agent_id)))
        .join(Agent, Agent.id == AgentSession.agent_id)
        .where(Agent.active.is_(True), AgentSession.expires_at > now,
               AgentSession.last_seen_at > now - ACTIVE_WINDOW)
    ).scalar()
    return max(1, int(count or 0))


def estimated_wait(session, config: HandoverConfig, place: int, now: datetime) -> timedelta:
    seconds = max(1, place) * median_handle_seconds(session, config) / agents_on_duty(session, now)
    return timedelta(seconds=seconds)


def describe_wait(wait: timedelta) -> str:
    """Dutch, rounded up, never falsely precise: 'minder dan 5 minuten', 'ongeveer 15 minuten'."""
    minutes = wait.total_seconds() / 60
    if minutes < 5:
        return "minder dan 5 minuten"
    if 5 * math.ceil(minutes / 5) < 60:
        return f"ongeveer {5 * math.ceil(minutes / 5)} minuten"
    if minutes <= 60:
        return "ongeveer 1 uur"
    hours = math.ceil(minutes / 30) / 2
    shown = f"{hours:.1f}".replace(".0", "").replace(".", ",")
    return f"ongeveer {shown} uur" if hours < 4 else "meer dan 3 uur"
