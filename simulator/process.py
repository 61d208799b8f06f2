"""Run the simulator as a child process (for test fixtures and scripts).

    with SimulatorProcess(webhook_url=..., app_secret="s") as sim:   # sim is a SimulatorClient
        env["WHATSAPP_API_URL"] = sim.graph_api_url
"""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

from simulator.client import SimulatorClient

REPO_ROOT = Path(__file__).resolve().parents[1]


class SimulatorProcess:
    """``python -m simulator --port 0 ...`` in a child process; the context value is a client on it."""

    def __init__(
        self,
        webhook_url: str,
        app_secret: str,
        *,
        phone_number_id: str = "1234567890",
        access_token: str | None = None,
        verify_token: str | None = None,
        webhook_timeout_s: float = 30.0,
        port: int = 0,
        start_timeout_s: float = 30.0,
    ) -> None:
        self.args = [
            sys.executable, "-m", "simulator",
            "--port", str(port),
            "--webhook-url", webhook_url,
            "--app-secret", app_secret,
            "--phone-number-id", phone_number_id,
            "--webhook-timeout", str(webhook_timeout_s),
        ]
        if access_token:
            self.args += ["--access-token", access_token]
        if verify_token:
            self.args += ["--verify-token", verify_token]
        self.start_timeout_s = start_timeout_s
        self.url: str | None = None
        self.output: list[str] = []
        self._proc: subprocess.Popen[str] | None = None
        self._client: SimulatorClient | None = None

    def start(self) -> SimulatorClient:
        # The command line decides; the environment of the parent must not leak in.
        env = {k: v for k, v in os.environ.items() if not k.startswith(("WHATSAPP_", "SIMULATOR_"))}
        self._proc = subprocess.Popen(
            self.args, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        lines: queue.Queue[str] = queue.Queue()

        def drain() -> None:  # keep reading so the pipe never fills up
            assert self._proc is not None and self._proc.stdout is not None
            for line in self._proc.stdout:
                self.output.append(line)
                lines.put(line)

        threading.Thread(target=drain, daemon=True).start()
        deadline = time.monotonic() + self.start_timeout_s
        while self.url is None and time.monotonic() < deadline and self._proc.poll() is None:
            try:
                line = lines.get(timeout=0.2)
            except queue.Empty:
                continue
            if line.startswith("SIMULATOR_URL="):
                self.url = line.strip().split("=", 1)[1]
        if self.url is None:
            self.stop()
            raise RuntimeError("simulator did not start:\n" + "".join(self.output))
        self._client = SimulatorClient(self.url)
        while True:
            try:
                self._client.health()
                return self._client
            except Exception:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("simulator did not answer:\n" + "".join(self.output)) from None
                time.sleep(0.05)

    def stop(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None

    def __enter__(self) -> SimulatorClient:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
