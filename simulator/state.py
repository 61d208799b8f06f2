"""In-memory record of one simulator run: events, failure scripts and slow-downs.

Everything runs on the server's event loop, so there are no locks. Every
event (a citizen's message ``in``, a bot message ``out``, a read mark
``read``, a status webhook ``status``) gets the next ``seq``; ``since`` in
queries means "events with a larger seq".
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

MAX_EVENTS = 20_000

APPLIES_TO = ("messages", "reads", "all")


@dataclass
class FailureRule:
    """Make the next ``count`` matching sends fail (after ``delay_s``)."""

    count: int
    status: int
    code: int
    delay_s: float = 0.0
    wa_id: str | None = None
    applies_to: str = "messages"
    message: str | None = None
    details: str | None = None
    retry_after: float | None = None

    def public(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class SlowRule:
    """Answer matching sends successfully, but only after ``delay_s`` (``count`` None: until reset)."""

    delay_s: float
    count: int | None = None
    wa_id: str | None = None
    applies_to: str = "all"

    def public(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _matches(rule: FailureRule | SlowRule, kind: str, wa_id: str | None) -> bool:
    if rule.applies_to != "all" and rule.applies_to != ("reads" if kind == "read" else "messages"):
        return False
    return rule.wa_id is None or rule.wa_id == wa_id


@dataclass
class SimState:
    events: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=MAX_EVENTS))
    failures: list[FailureRule] = field(default_factory=list)
    slow: list[SlowRule] = field(default_factory=list)
    attempts: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=MAX_EVENTS))
    seq: int = 0
    # wamid of a citizen's message -> wa_id, so read marks (which carry only the wamid) find their chat
    inbound_owner: dict[str, str] = field(default_factory=dict)

    def reset(self) -> None:
        self.events.clear()
        self.failures.clear()
        self.slow.clear()
        self.attempts.clear()
        self.inbound_owner.clear()
        # seq keeps counting so that a page polling with an old ``since`` never misses new events

    def add(self, kind: str, wa_id: str | None, **data: Any) -> dict[str, Any]:
        self.seq += 1
        event = {
            "seq": self.seq,
            "kind": kind,
            "wa_id": wa_id,
            "received_at": time.time(),
            "received_monotonic": time.monotonic(),
            **data,
        }
        self.events.append(event)
        if kind == "in" and data.get("wamid"):
            self.inbound_owner[data["wamid"]] = wa_id
        return event

    def query(self, kinds: tuple[str, ...], wa_id: str | None = None, since: int | None = None) -> list[dict[str, Any]]:
        return [
            e
            for e in self.events
            if e["kind"] in kinds and (wa_id is None or e["wa_id"] == wa_id) and (since is None or e["seq"] > since)
        ]

    def take_failure(self, kind: str, wa_id: str | None) -> FailureRule | None:
        """The first failure rule that matches this send, counted down by one."""
        for rule in self.failures:
            if rule.count > 0 and _matches(rule, kind, wa_id):
                rule.count -= 1
                if rule.count == 0:
                    self.failures.remove(rule)
                return rule
        return None

    def take_delay(self, kind: str, wa_id: str | None) -> float:
        for rule in self.slow:
            if _matches(rule, kind, wa_id):
                if rule.count is not None:
                    rule.count -= 1
                    if rule.count <= 0:
                        self.slow.remove(rule)
                return rule.delay_s
        return 0.0

    def record_attempt(self, kind: str, wa_id: str | None, status: int, code: int | None = None) -> None:
        self.attempts.append(
            {
                "kind": kind,
                "wa_id": wa_id,
                "status": status,
                "code": code,
                "received_at": time.time(),
                "received_monotonic": time.monotonic(),
            }
        )
