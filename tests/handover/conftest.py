"""Fixtures for the handover tests (factories are in handover_factories.py).

Database tests use the shared ``db_url``/``sessions`` fixtures (tests/helpers/db.py):
a migrated SQLite file, then a fresh PostgreSQL database (skipped when no
server answers), so every repository test runs on both real engines.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))   # tests/helpers
sys.path.insert(0, str(Path(__file__).resolve().parent))       # handover_factories
from helpers.db import db_url, pg_database_url, sessions  # noqa: E402,F401  (fixtures)

from handover.config import HandoverConfig  # noqa: E402
from handover_factories import make_config  # noqa: E402


@pytest.fixture
def config() -> HandoverConfig:
    """The shipped config (office hours Mon-Fri 08:30-17:00, Thu until 20:00)."""
    return make_config()


@pytest.fixture
def session(sessions):
    with sessions() as s:
        yield s
