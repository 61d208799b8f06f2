"""The handover state machine, as a pure function of (state, event).

    bot ──request──▶ queued ──claim──▶ assigned ──close──▶ closed ──return──▶ bot
     │                  ▲                 │  ▲
     │                  └────release──────┘  └─transfer (another agent)
     └───────────────pickup─────────────────▶ assigned
                    queued ──close──▶ closed   (a supervisor ends a queued chat)

``closed`` only exists inside the transaction that closes a chat: the
repository applies ``close`` and ``return`` together, so the channel never
sees a conversation stuck there. Anything not in TRANSITIONS raises
InvalidTransition; the repository never writes a state this module did not
compute.
"""
from __future__ import annotations

from enum import Enum

from bot.errors import InvalidTransition


class State(str, Enum):
    BOT = "bot"
    QUEUED = "queued"
    ASSIGNED = "assigned"
    CLOSED = "closed"


class Event(str, Enum):
    REQUEST = "request"       # the bot asks for a human (low confidence, privacy, ask_human)
    PICKUP = "pickup"         # an agent takes over a bot conversation on their own
    CLAIM = "claim"           # an agent takes a queued chat
    RELEASE = "release"       # the agent puts the chat back in the queue
    TRANSFER = "transfer"     # the chat moves to another agent
    CLOSE = "close"           # the human part is done
    RETURN = "return"         # the bot answers again


TRANSITIONS: dict[tuple[State, Event], State] = {
    (State.BOT, Event.REQUEST): State.QUEUED,
    (State.BOT, Event.PICKUP): State.ASSIGNED,
    (State.QUEUED, Event.CLAIM): State.ASSIGNED,
    (State.QUEUED, Event.CLOSE): State.CLOSED,
    (State.ASSIGNED, Event.RELEASE): State.QUEUED,
    (State.ASSIGNED, Event.TRANSFER): State.ASSIGNED,
    (State.ASSIGNED, Event.CLOSE): State.CLOSED,
    (State.CLOSED, Event.RETURN): State.BOT,
}

# Events after which the conversation has a responsible agent.
ASSIGNING = frozenset({Event.PICKUP, Event.CLAIM, Event.TRANSFER})


def next_state(state: State | str, event: Event | str) -> State:
    """The state after ``event``; InvalidTransition when the machine forbids it."""
    try:
        key = (State(state), Event(event))
    except ValueError as exc:
        raise InvalidTransition(f"unknown state or event: {state!r}, {event!r}") from exc
    if key not in TRANSITIONS:
        raise InvalidTransition(f"cannot {key[1].value} a conversation in state {key[0].value}")
    return TRANSITIONS[key]


def allowed_events(state: State | str) -> list[Event]:
    """Events the machine accepts in ``state`` (the console shows matching buttons)."""
    return [event for (source, event) in TRANSITIONS if source == State(state)]
