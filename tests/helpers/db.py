"""Database fixtures: a migrated SQLite file or PostgreSQL database per test.

PostgreSQL (127.0.0.1:5432, user postgres) gets one database per test
session, emptied between tests; tests on it are skipped when no server
answers. ``BALIE_TEST_PG_URL`` points at another server
(``postgresql://user@host:port/``).
"""
from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import create_engine, inspect, text

from bot.db.engine import make_engine, make_session_factory
from bot.db.migrate import upgrade_to_head

PG_SERVER = os.environ.get("BALIE_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/")


def _pg_admin():
    return create_engine(PG_SERVER + "postgres", isolation_level="AUTOCOMMIT", future=True)


@pytest.fixture(scope="session")
def pg_database_url():
    """A fresh, migrated PostgreSQL database for this test session (dropped at the end)."""
    name = f"balie_test_wa_{uuid.uuid4().hex[:10]}"
    try:
        admin = _pg_admin()
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # no server: the PostgreSQL half is skipped, SQLite still runs
        pytest.skip(f"PostgreSQL not available ({type(exc).__name__})")
    url = PG_SERVER + name
    upgrade_to_head(url)
    yield url
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def empty_database(url: str) -> None:
    engine = create_engine(url, future=True)
    tables = [t for t in inspect(engine).get_table_names() if t != "alembic_version"]
    with engine.begin() as connection:
        connection.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables)
                                + " RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """The URL of an empty, migrated database: SQLite file, then PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'balie.db'}"
        upgrade_to_head(url)
        return url
    url = request.getfixturevalue("pg_database_url")
    empty_database(url)
    return url


@pytest.fixture
def sessions(db_url):
    engine = make_engine(db_url)
    yield make_session_factory(engine)
    engine.dispose()
