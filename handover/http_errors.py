"""The one table from domain errors to HTTP statuses (and Dutch console texts).

Looked up along the exception's MRO, so StaleState (a kind of
InvalidTransition) gets its own row and any other InvalidTransition the
general one. Response body: {"error": code, "message": Dutch sentence}.
"""
from __future__ import annotations

from sqlalchemy.exc import OperationalError

from bot.errors import InvalidTransition, StorageError
from handover.errors import (
    AlreadyExists, BadRequest, Forbidden, LoginFailed, NotAuthenticated, NotFound, StaleState,
    WindowClosed,
)

ERROR_TABLE: dict[type, tuple[int, str, str]] = {
    BadRequest: (400, "bad_request", "Dit verzoek klopt niet."),
    NotAuthenticated: (401, "not_authenticated", "U bent niet (meer) ingelogd. Log opnieuw in."),
    LoginFailed: (401, "login_failed",
                  "Gebruikersnaam of wachtwoord klopt niet. Na 5 pogingen moet u een paar "
                  "minuten wachten."),
    Forbidden: (403, "forbidden", "U heeft geen toestemming voor deze actie."),
    NotFound: (404, "not_found", "Dit bestaat niet (meer), of u mag het niet zien."),
    StaleState: (409, "stale_state",
                 "Iemand anders was u net voor: het gesprek is intussen gewijzigd."),
    InvalidTransition: (409, "invalid_transition",
                        "Dat kan niet in de huidige stand van het gesprek."),
    AlreadyExists: (409, "already_exists", "Deze gebruikersnaam bestaat al."),
    WindowClosed: (409, "window_closed",
                   "Het 24-uursvenster is voorbij: de inwoner stuurde meer dan 24 uur geleden "
                   "het laatste bericht. WhatsApp staat dan geen gewoon bericht meer toe. "
                   "Neem op een andere manier contact op, bijvoorbeeld per telefoon."),
    StorageError: (503, "storage", "De database is even niet bereikbaar. Probeer het zo opnieuw."),
    OperationalError: (503, "storage",
                       "De database is even niet bereikbaar. Probeer het zo opnieuw."),
}


def lookup(exc: BaseException) -> tuple[int, dict] | None:
    """(status, body) for a known error, None for anything else."""
    for cls in type(exc).__mro__:
        if cls in ERROR_TABLE:
            status, code, message = ERROR_TABLE[cls]
            return status, {"error": code, "message": getattr(exc, "public", None) or message}
    return None
