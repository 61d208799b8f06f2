"""Starts Balie's processes on loopback: ``make run`` and the test suite share this.

    Rasa server (.venv-rasa, with the WhatsApp channel)  :5005
    action server (.venv, FAQ index)                      :5055
    WhatsApp simulator + fake Graph API (.venv)           :8081
    handover service: agent console + API (.venv)         :8082

Each process logs to its own file under the run folder; ``Stack`` waits until
every part answers and can restart the Rasa server (also with kill -9) for
crash tests.
"""
from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
VENV_PY = ROOT / ".venv" / "bin" / "python"
RASA = ROOT / ".venv-rasa" / "bin" / "rasa"
MODEL = ROOT / "models" / "balie.tar.gz"
PHONE_NUMBER_ID = "1234567890"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Ports:
    rasa: int = 5005
    actions: int = 5055
    simulator: int = 8081
    handover: int = 8082

    @classmethod
    def free(cls) -> "Ports":
        return cls(free_port(), free_port(), free_port(), free_port())


@dataclass
class Stack:
    """The running product; ``start()`` blocks until every part is ready."""

    run_dir: Path
    ports: Ports = field(default_factory=Ports)
    env: dict = field(default_factory=dict)          # overrides for every process
    with_simulator: bool = True
    with_handover: bool = True
    procs: dict = field(default_factory=dict)
    first_admin: str = ""

    def __post_init__(self) -> None:
        self.run_dir = Path(self.run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        base = dict(os.environ)
        base.setdefault("BALIE_DATABASE_URL", f"sqlite:///{self.run_dir / 'balie.db'}")
        base.setdefault("WHATSAPP_APP_SECRET", secrets.token_hex(16))
        base.setdefault("WHATSAPP_VERIFY_TOKEN", secrets.token_hex(8))
        base.setdefault("WHATSAPP_ACCESS_TOKEN", secrets.token_hex(16))
        base.setdefault("WHATSAPP_PHONE_NUMBER_ID", PHONE_NUMBER_ID)
        base.setdefault("WHATSAPP_API_URL", f"http://127.0.0.1:{self.ports.simulator}/v24.0")
        base["OMP_NUM_THREADS"] = "1"
        base["PYTHONUNBUFFERED"] = "1"
        base.update(self.env)
        self.env = base

    # -- URLs ---------------------------------------------------------------
    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.rasa}"

    @property
    def webhook_url(self) -> str:
        return f"{self.rasa_url}/webhooks/whatsapp/webhook"

    @property
    def simulator_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.simulator}"

    @property
    def handover_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.handover}"

    @property
    def db_url(self) -> str:
        return self.env["BALIE_DATABASE_URL"]

    @property
    def app_secret(self) -> str:
        return self.env["WHATSAPP_APP_SECRET"]

    @property
    def verify_token(self) -> str:
        return self.env["WHATSAPP_VERIFY_TOKEN"]

    @property
    def graph(self):
        """A client of the simulator's fake Graph API and control API."""
        from simulator.client import SimulatorClient

        if "graph" not in self.__dict__:
            self.__dict__["graph"] = SimulatorClient(self.simulator_url)
        return self.__dict__["graph"]

    @property
    def tracker_db(self) -> Path:
        return self.run_dir / "tracker.db"

    def log_path(self, name: str) -> Path:
        return self.run_dir / f"{name}.log"

    # -- lifecycle ----------------------------------------------------------
    def start(self, timeout_s: float = 300) -> "Stack":
        self._migrate()
        self.first_admin = self._first_admin() if self.with_handover else ""
        self._write_endpoints()
        self._spawn("actions", [str(VENV_PY), "-m", "actions", "--port", str(self.ports.actions)])
        self.start_rasa()
        if self.with_simulator:
            self._spawn("simulator", self._simulator_command())
        if self.with_handover:
            self._spawn("handover", [str(VENV_PY), "-m", "handover", "--port", str(self.ports.handover)])
        self.wait_ready(timeout_s)
        return self

    def start_rasa(self) -> None:
        self._spawn("rasa", [str(RASA), "run", "-i", "127.0.0.1", "-p", str(self.ports.rasa),
                             "--enable-api", "-m", str(MODEL), "--credentials",
                             str(ROOT / "credentials.yml"), "--endpoints",
                             str(self.run_dir / "endpoints.yml")])

    def restart_rasa(self, kill: bool = True, timeout_s: float = 180) -> None:
        """Stop the Rasa server (SIGKILL: a crash, or SIGTERM) and start it again."""
        self._stop("rasa", signal.SIGKILL if kill else signal.SIGTERM)
        self.start_rasa()
        self._wait_for("rasa", f"{self.rasa_url}/status", time.monotonic() + timeout_s)

    def stop(self) -> None:
        for name in list(self.procs):
            self._stop(name, signal.SIGTERM)

    def __enter__(self) -> "Stack":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        checks = {"actions": f"http://127.0.0.1:{self.ports.actions}/health",
                  "rasa": f"{self.rasa_url}/status"}
        if self.with_simulator:
            checks["simulator"] = f"{self.simulator_url}/_sim/health"
        if self.with_handover:
            checks["handover"] = f"{self.handover_url}/openapi.json"
        started = time.monotonic()
        for name, url in checks.items():
            print(f"  waiting for {name} ...", flush=True)
            self._wait_for(name, url, deadline)
            print(f"  {name} ready ({time.monotonic() - started:.0f} s)", flush=True)

    # -- internals ----------------------------------------------------------
    def _simulator_command(self) -> list[str]:
        return [str(VENV_PY), "-m", "simulator", "--port", str(self.ports.simulator),
                "--webhook-url", self.webhook_url,
                "--app-secret", self.env["WHATSAPP_APP_SECRET"],
                "--phone-number-id", self.env["WHATSAPP_PHONE_NUMBER_ID"],
                "--access-token", self.env["WHATSAPP_ACCESS_TOKEN"],
                "--verify-token", self.env["WHATSAPP_VERIFY_TOKEN"]]

    def _migrate(self) -> None:
        # Once, before any process opens the database.
        subprocess.run([str(VENV_PY), "-c", "import sys; from bot.db.migrate import upgrade_to_head; "
                        "upgrade_to_head(sys.argv[1])", self.db_url],
                       cwd=ROOT, env=self.env, check=True, stdout=subprocess.DEVNULL)

    def _first_admin(self) -> str:
        """The first console login, created before the service starts so that
        its password reaches the terminal once and never a log file."""
        result = subprocess.run([str(VENV_PY), "-m", "bot.cli", "agents", "first-admin"],
                                cwd=ROOT, env=self.env, check=True, capture_output=True, text=True)
        return result.stdout.strip()

    def _write_endpoints(self) -> None:
        (self.run_dir / "endpoints.yml").write_text(
            "action_endpoint:\n"
            f"  url: http://127.0.0.1:{self.ports.actions}/webhook\n"
            "tracker_store:\n"
            "  type: SQL\n"
            "  dialect: sqlite\n"
            f"  db: {self.tracker_db}\n", encoding="utf-8")

    def _spawn(self, name: str, command: list[str]) -> None:
        log = open(self.log_path(name), "ab")
        self.procs[name] = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        log.close()

    def _stop(self, name: str, sig: int) -> None:
        proc = self.procs.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def _wait_for(self, name: str, url: str, deadline: float) -> None:
        while time.monotonic() < deadline:
            proc = self.procs[name]
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}; see {self.log_path(name)}")
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"{name} not ready in time; see {self.log_path(name)}")


def main(argv: list[str] | None = None) -> int:
    """``make run``: start everything on the default ports and wait for Ctrl-C."""
    own_api = "WHATSAPP_API_URL" in os.environ
    stack = Stack(ROOT / "var" / "run", with_simulator=not own_api)
    print("Starting Balie (Rasa server, action server, simulator, agent console)...", flush=True)
    # A service manager stops us with SIGTERM: shut down as on Ctrl-C, so no
    # child server is left running without its launcher.
    signal.signal(signal.SIGTERM, _interrupt)
    started = time.monotonic()
    try:
        stack.start()
    except KeyboardInterrupt:
        stack.stop()
        return 0
    except RuntimeError as exc:
        print(f"Could not start: {exc}", file=sys.stderr)
        stack.stop()
        return 1
    print(f"\nBalie is ready after {time.monotonic() - started:.0f} s.", flush=True)
    if stack.with_simulator:
        print(f"  WhatsApp simulator:  {stack.simulator_url}/")
    else:
        print(f"  Replies go to WHATSAPP_API_URL={stack.env['WHATSAPP_API_URL']}")
    print(f"  Agent console:       {stack.handover_url}/")
    print(f"  Rasa REST channel:   {stack.rasa_url}/webhooks/rest/webhook")
    print(f"  WhatsApp webhook:    {stack.webhook_url}")
    print(f"  Logs:                {stack.run_dir}/*.log")
    _print_first_admin(stack)
    print("Press Ctrl-C to stop.", flush=True)
    try:
        while all(proc.poll() is None for proc in stack.procs.values()):
            time.sleep(1)
        print("A process stopped; see the logs above. Shutting down.", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        stack.stop()


def _interrupt(_signum, _frame) -> None:
    raise KeyboardInterrupt


def _print_first_admin(stack: Stack) -> None:
    if stack.first_admin:
        print("  First agent login (shown once; add named agents with `.venv/bin/balie agents add`):")
        for line in stack.first_admin.splitlines():
            print("    " + line)


if __name__ == "__main__":
    sys.exit(main())
