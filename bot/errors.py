"""Balie's error tree.

    BalieError
    ├── ConfigError            settings missing or invalid
    ├── FaqError
    │   └── FaqValidationError FAQ files that do not pass validation
    ├── StorageError           the database could not be reached or written
    ├── WhatsAppApiError       the Graph API answered with an error (see connectors.graph_errors)
    └── InvalidTransition      a handover state change that is not allowed

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
