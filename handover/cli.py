"""``balie agents ...``: manage who may log in to the agent console.

    balie agents add USERNAME --name "Jan de Vries" [--role agent|supervisor|admin]
    balie agents list
    balie agents disable USERNAME
    balie agents enable USERNAME
    balie agents reset-password USERNAME
    balie agents first-admin        (make run: create 'admin' when there are no agents)

A new or reset password is generated and printed once; only its scrypt
hash is stored. ``main(argv)`` gets the arguments after ``agents``.
"""
from __future__ import annotations

import argparse
import sys

from bot.errors import BalieError
from handover.auth import ROLES
from handover.clock import utcnow

ACTOR = "cli"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="balie agents",
                                     description="Manage who may log in to the agent console.")
    parser.add_argument("--database-url", help="default: BALIE_DATABASE_URL or the settings")
    commands = parser.add_subparsers(dest="command", required=True)
    add = commands.add_parser("add", help="add an agent and print their password once")
    add.add_argument("username")
    add.add_argument("--name", required=True, help='full name; citizens see the first word')
    add.add_argument("--role", choices=ROLES, default="agent")
    commands.add_parser("list", help="list agents")
    for name, text in (("disable", "disable an agent and end their sessions"),
                       ("enable", "enable a disabled agent"),
                       ("reset-password", "generate a new password and print it once")):
        commands.add_parser(name, help=text).add_argument("username")
    commands.add_parser("first-admin", help="with no agents at all, create 'admin' and print its password once")
    return parser


def _session_factory(url: str | None):
    from bot.db.engine import make_engine, make_session_factory
    from bot.db.migrate import upgrade_to_head
    from bot.settings import get_settings

    url = url or get_settings().database.url
    upgrade_to_head(url)
    return make_session_factory(make_engine(url))


def _run(session, args) -> None:
    from handover import agents

    now = utcnow()
    if args.command == "add":
        info, password = agents.add(session, args.username, args.name, args.role, now, actor=ACTOR)
        session.commit()
        print(f"Agent {info.username} ({info.role}) toegevoegd. Wachtwoord (wordt maar één keer "
              f"getoond): {password}")
    elif args.command == "first-admin":
        created = agents.ensure_first_admin(session, now)
        session.commit()
        if created:
            info, password = created
            print(f"gebruikersnaam: {info.username}\nwachtwoord:     {password}")
    elif args.command == "list":
        rows = agents.list_all(session)
        print(f"{'id':>4}  {'gebruikersnaam':<20} {'rol':<11} {'actief':<6} naam")
        for a in rows:
            print(f"{a.id:>4}  {a.username:<20} {a.role:<11} {'ja' if a.active else 'nee':<6} {a.name}")
    elif args.command in ("disable", "enable"):
        from handover import desk
        from handover.config import get_config

        info, requeued = desk.set_agent_active(session, get_config(), agents.find(session, args.username),
                                               args.command == "enable", now, actor=ACTOR)
        session.commit()
        print(f"Agent {info.username} is {'ingeschakeld' if info.active else 'uitgeschakeld'}."
              + (f" {requeued} gesprek(ken) terug in de wachtrij." if requeued else ""))
    else:
        password = agents.reset_password(session, agents.find(session, args.username), now, actor=ACTOR)
        session.commit()
        print(f"Nieuw wachtwoord voor {args.username} (wordt maar één keer getoond): {password}")


def main(argv: list[str]) -> int:
    """Exit status 0 on success, 1 on a refused change, 2 on bad usage (argparse)."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    factory = _session_factory(args.database_url)
    with factory() as session:
        try:
            _run(session, args)
        except BalieError as exc:
            session.rollback()
            print(f"Fout: {exc}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
