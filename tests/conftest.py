"""Fixtures shared by the whole suite.

``stack`` starts the real product once per test session (Rasa server with the
WhatsApp channel, action server, simulator with the fake Graph API, handover
service) on free loopback ports with a fresh SQLite database; tests talk to
it over HTTP only.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from bot.launcher import MODEL, Ports, Stack

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "tests" / "artifacts"


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    if not MODEL.exists():
        pytest.fail("no trained Rasa model: run the suite with `make test`")
    run_dir = tmp_path_factory.mktemp("stack")
    faq_dir = run_dir / "faq"
    shutil.copytree(ROOT / "data" / "faq", faq_dir)   # tests may edit it (hot reload)
    env = {"BALIE_INDEX_CACHE": str(ROOT / "var" / "faq-index"), "BALIE_FAQ_DIR": str(faq_dir)}
    for name in ("WHATSAPP_API_URL", "BALIE_DATABASE_URL", "WHATSAPP_APP_SECRET",
                 "WHATSAPP_VERIFY_TOKEN", "WHATSAPP_ACCESS_TOKEN", "WHATSAPP_PHONE_NUMBER_ID"):
        os.environ.pop(name, None)   # the test stack makes its own
    running = Stack(run_dir, ports=Ports.free(), env=env)
    try:
        running.start()
    except RuntimeError:
        _dump_logs(running)
        running.stop()
        raise
    yield running
    running.stop()


def _dump_logs(running: Stack) -> None:
    for log in sorted(running.run_dir.glob("*.log")):
        print(f"----- {log.name} -----")
        print(log.read_text(encoding="utf-8", errors="replace")[-4000:])


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
