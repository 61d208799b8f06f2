"""Errors of the handover desk, under Balie's root error.

    BalieError (bot.errors)
    ├── InvalidTransition (bot.errors)   the state machine forbids this change
    │   └── StaleState                   someone else changed the chat first
    └── HandoverError
        ├── NotAuthenticated             no valid login (missing, expired, disabled)
        ├── LoginFailed                  wrong username or password, or locked out
        ├── Forbidden                    the agent's role or assignment does not allow it
        ├── NotFound                     no such conversation, agent or canned response
        ├── AlreadyExists                a username that is taken
        ├── WindowClosed                 the citizen's 24-hour window has passed
        └── BadRequest                   a well-formed request that makes no sense

The agent API maps each class to an HTTP status in one table
(handover.http_errors); nothing else decides statuses.
"""
from __future__ import annotations

from bot.errors import BalieError, InvalidTransition


class StaleState(InvalidTransition):
    """The conversation changed between reading and writing; the other writer won."""

    def __init__(self, message: str = "", *, public: str | None = None):
        super().__init__(message)
        self.public = public


class HandoverError(BalieError):
    """Root of the handover desk's own errors.

    ``public`` optionally carries a Dutch sentence for the agent console that
    is more specific than the default in handover.http_errors.
    """

    def __init__(self, message: str = "", *, public: str | None = None):
        super().__init__(message)
        self.public = public


class NotAuthenticated(HandoverError):
    """No valid login: missing, unknown, expired, or the agent was disabled."""


class LoginFailed(HandoverError):
    """Wrong username or password, or too many failed attempts."""


class Forbidden(HandoverError):
    """The agent's role or assignment does not allow this action."""


class NotFound(HandoverError):
    """The conversation, agent or canned response does not exist (or is hidden)."""


class AlreadyExists(HandoverError):
    """A unique name (username) is already taken."""


class WindowClosed(HandoverError):
    """The citizen's last message is older than 24 hours: WhatsApp refuses free text."""


class BadRequest(HandoverError):
    """A well-formed request that does not make sense (e.g. transfer to yourself)."""
