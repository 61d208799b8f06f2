"""``python -m handover --host 127.0.0.1 --port 8082``: the agent console and API.

Start-up: read settings, migrate the database to head, create the first
admin when there are no agents (its password is printed once), then serve.
"""
from __future__ import annotations

import argparse
import logging
import sys
import time

from sqlalchemy.exc import IntegrityError

from handover.clock import utcnow
from handover.errors import AlreadyExists

log = logging.getLogger("handover")


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m handover",
                                     description="Balie handover service (agent console + API)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8082)
    parser.add_argument("--log-level", default="info",
                        choices=("critical", "error", "warning", "info", "debug"))
    return parser.parse_args(argv)


def _migrate(url: str, attempts: int = 5) -> None:
    """Migrate to head; retried because the Rasa server may be migrating the same DB right now."""
    from bot.db.migrate import upgrade_to_head

    for attempt in range(1, attempts + 1):
        try:
            upgrade_to_head(url)
            return
        except Exception:   # e.g. "table already exists" from a concurrent first start
            if attempt == attempts:
                raise
            log.warning("database migration failed (attempt %d), retrying", attempt)
            time.sleep(attempt)


def _first_admin(session_factory) -> None:
    from handover import agents

    with session_factory() as session:
        try:
            created = agents.ensure_first_admin(session, utcnow())
            session.commit()
        except (IntegrityError, AlreadyExists):   # another service process made it just now
            session.rollback()
            return
    if created:
        info, password = created
        print("=" * 64, flush=True)
        print("Eerste beheerder aangemaakt voor de agentconsole (wordt maar één keer getoond):",
              flush=True)
        print(f"  gebruikersnaam: {info.username}", flush=True)
        print(f"  wachtwoord:     {password}", flush=True)
        print("Maak daarna eigen accounts met `balie agents add`.", flush=True)
        print("=" * 64, flush=True)


def main(argv: list[str] | None = None) -> int:
    args = _arguments(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    import uvicorn

    from bot.db.engine import make_engine, make_session_factory
    from bot.settings import get_settings
    from handover.api import create_app
    from handover.config import get_config

    url = get_settings().database.url
    config = get_config()
    _migrate(url)
    engine = make_engine(url)
    session_factory = make_session_factory(engine)
    _first_admin(session_factory)
    app = create_app(session_factory, config)
    print(f"Agentconsole: http://{args.host}:{args.port}/  (API-documentatie: /docs)", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level,
                timeout_graceful_shutdown=2, access_log=False,
                ws="none")   # SSE only; the venv pins an old websockets for rasa-sdk
    engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
