"""Human handover: a KCC agent takes over a WhatsApp conversation from the bot.

Layers, from pure to edge:

- ``state``        the state machine as a pure function of (state, event)
- ``config``       typed ``handover:`` settings (office hours, texts, timings)
- ``office_hours``, ``estimate``, ``citizen``   pure-ish helpers for citizen texts
- ``models``       the tables (migration ``0002_handover``)
- ``repository``   applies transitions atomically (conditional UPDATE on version)
- ``core``         the interface the WhatsApp channel calls (Rasa environment)
- ``desk``, ``views``, ``canned``, ``auth``, ``agents``, ``audit``, ``ticker``
                   what agents do, read and are; framework-free
- ``api``, ``live``, ``__main__``   the FastAPI service and its console

Modules imported by the Rasa process (``core`` and what it imports) must not
import FastAPI and must run on SQLAlchemy 1.4 and 2.x.
"""
