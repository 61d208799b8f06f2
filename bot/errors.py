"""Balie's error tree.

    BalieError
    ├── ConfigError            settings missing or invalid
    ├── FaqError
    │   └── FaqValidationError FAQ files that do not pass validation
    ├── StorageError           the database could not be reached or written
    ├── PrivacyScanError       the privacy gate failed (bot.privacy; carries no text)
    ├── WhatsAppApiError       the Graph API answered with an error
    │   └── GraphApiError      ... subclasses by Meta error code (connectors.graph):
    │                          TransientError (retry) / PermanentError (record, stop)
    ├── InvalidTransition      a handover state change that is not allowed
    │   └── StaleState         another agent changed the chat first (handover.errors)
    └── HandoverError          agent-side errors mapped to HTTP statuses (handover.errors)

Lower-level exceptions are converted at the boundary with ``raise ... from exc``.
"""


class BalieError(Exception):
    """Root of every error Balie raises on purpose."""


class ConfigError(BalieError):
    """A setting is missing or has an invalid value."""


class FaqError(BalieError):
    """Something is wrong with the FAQ content or index."""


class FaqValidationError(FaqError):
    """One or more FAQ files do not pass validation; ``problems`` lists them."""

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__(f"{len(self.problems)} problem(s) in the FAQ files")


class StorageError(BalieError):
    """The database could not be reached or written."""


class WhatsAppApiError(BalieError):
    """The WhatsApp Cloud API answered with an error."""


class InvalidTransition(BalieError):
    """A handover state change that the state machine does not allow."""
