"""Start the real handover service (``python -m handover``) for API and browser tests."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import httpx
import yaml

from bot.db.engine import make_engine, make_session_factory
from bot.db.migrate import upgrade_to_head
from bot.launcher import free_port
from handover import core
from handover.config import parse_config

from handover_factories import ALWAYS_OPEN, ROOT, handover_raw, make_conversation


@dataclass
class Service:
    url: str
    db_url: str
    process: subprocess.Popen
    log: Path
    admin_password: str
    sessions: object = field(repr=False)
    config: object = field(repr=False)

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=15)

    def login(self, username: str, password: str) -> str:
        with self.client() as client:
            response = client.post("/api/login", json={"username": username, "password": password})
        response.raise_for_status()
        return response.json()["token"]

    def queued_chat(self, name: str = "Inwoner", text: str = "Ik wil een medewerker spreken",
                    at: datetime | None = None) -> int:
        """A conversation the bot handed over, through the repository API the channel uses."""
        at = at or datetime.now(timezone.utc)
        with self.sessions() as session:
            cid = make_conversation(session, at=at, name=name, text=text).id
            core.queue_conversation(session, cid, "ask_human", at, self.config)
            session.commit()
        return cid

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


def start_service(workdir: Path) -> Service:
    """Service on a free port with a fresh SQLite DB; office always open, fast live updates."""
    db_url = f"sqlite:///{workdir / 'balie.db'}"
    raw = handover_raw()
    raw.update(office_hours=ALWAYS_OPEN, poll_interval_s=0.3, check_interval_s=30)
    settings = yaml.safe_load((ROOT / "balie.yml").read_text(encoding="utf-8"))
    settings["handover"] = raw
    config_path = workdir / "balie.yml"
    config_path.write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
    upgrade_to_head(db_url)

    port = free_port()
    log = workdir / "handover.log"
    env = {**os.environ, "BALIE_CONFIG": str(config_path), "BALIE_DATABASE_URL": db_url,
           "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "handover", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    _wait_until_up(url, process, log)
    password = re.search(r"wachtwoord:\s+(\S+)", log.read_text()).group(1)
    return Service(url, db_url, process, log, password,
                   make_session_factory(make_engine(db_url)), parse_config(raw))


def _wait_until_up(url: str, process: subprocess.Popen, log: Path, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"handover service exited:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/api/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"handover service did not start:\n{log.read_text()[-3000:]}")
