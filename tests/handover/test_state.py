"""The pure state machine: every transition, and every other pair refused."""
from __future__ import annotations

import itertools

import pytest

from bot.errors import InvalidTransition
from handover.state import TRANSITIONS, Event, State, allowed_events, next_state

LEGAL = [
    ("bot", "request", "queued"),
    ("bot", "pickup", "assigned"),
    ("queued", "claim", "assigned"),
    ("queued", "close", "closed"),
    ("assigned", "release", "queued"),
    ("assigned", "transfer", "assigned"),
    ("assigned", "close", "closed"),
    ("closed", "return", "bot"),
]
ILLEGAL = [(s.value, e.value) for s, e in itertools.product(State, Event)
           if (s.value, e.value) not in {(a, b) for a, b, _ in LEGAL}]


@pytest.mark.parametrize("state, event, target", LEGAL)
def test_legal_transition(state, event, target):
    assert next_state(state, event) is State(target)


def test_table_is_exactly_the_documented_one():
    assert {(s.value, e.value, t.value) for (s, e), t in TRANSITIONS.items()} == set(LEGAL)


@pytest.mark.parametrize("state, event", ILLEGAL)
def test_illegal_transition_is_refused(state, event):
    with pytest.raises(InvalidTransition):
        next_state(state, event)


def test_there_are_many_illegal_pairs():
    assert len(ILLEGAL) == len(State) * len(Event) - len(LEGAL) == 20


@pytest.mark.parametrize("state, event", [("bot", "explode"), ("limbo", "claim"), ("", "")])
def test_unknown_names_are_invalid_transitions(state, event):
    with pytest.raises(InvalidTransition):
        next_state(state, event)


def test_allowed_events_per_state():
    assert set(allowed_events("bot")) == {Event.REQUEST, Event.PICKUP}
    assert set(allowed_events("queued")) == {Event.CLAIM, Event.CLOSE}
    assert set(allowed_events("assigned")) == {Event.RELEASE, Event.TRANSFER, Event.CLOSE}
    assert allowed_events("closed") == [Event.RETURN]
