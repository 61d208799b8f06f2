"""Migration 0002 goes up and down cleanly on SQLite and PostgreSQL."""
from __future__ import annotations

from alembic import command
from sqlalchemy import create_engine, inspect

from bot.db.migrate import alembic_config, upgrade_to_head

HANDOVER_TABLES = {"agents", "agent_sessions", "handover_states", "audit_log", "canned_responses",
                   "conversation_notes", "handling_times"}


def tables(url):
    engine = create_engine(url, future=True)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade(db_url):
    assert HANDOVER_TABLES <= tables(db_url)
    command.downgrade(alembic_config(db_url), "0001")
    assert not HANDOVER_TABLES & tables(db_url)
    upgrade_to_head(db_url)
    assert HANDOVER_TABLES <= tables(db_url)


def test_models_match_the_migration(db_url):
    """Autogenerate finds nothing to add for the handover tables (models == migration)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from bot.db.models import Base
    import handover.models  # noqa: F401

    engine = create_engine(db_url, future=True)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    ours = [d for d in diff if any(t in repr(d) for t in HANDOVER_TABLES)]
    assert ours == []
