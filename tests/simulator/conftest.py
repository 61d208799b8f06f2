"""Fixtures: the simulator as a real subprocess, and a fake webhook receiver standing in for the bot."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qs, urlparse

import pytest

from sim_settings import ACCESS_TOKEN, APP_SECRET, PHONE_NUMBER_ID, VERIFY_TOKEN, WEBHOOK_PATH
from simulator.client import SimulatorClient
from simulator.process import SimulatorProcess


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class WebhookReceiver:
    """A tiny HTTP server that records what the simulator posts to the bot."""

    url: str = ""
    requests: list[Received] = field(default_factory=list)
    status: int = 200
    # called with each recorded POST, in the server thread, before answering (a fake bot)
    on_post: Callable[[Received], None] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()
        self.status = 200
        self.on_post = None

    def posts(self) -> list[Received]:
        with self._lock:
            return [r for r in self.requests if r.method == "POST"]

    def wait(self, count: int, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.posts()
            if len(found) >= count:
                return found
            time.sleep(0.02)
        raise TimeoutError(f"expected {count} webhook POST(s), got {len(self.posts())}")


def _handler(receiver: WebhookReceiver):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _answer(self, status: int, body: bytes = b"") -> None:
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            received = Received("POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            with receiver._lock:
                receiver.requests.append(received)
            if receiver.on_post is not None:
                receiver.on_post(received)
            self._answer(receiver.status, b"{}")

        def do_GET(self) -> None:
            url = urlparse(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            with receiver._lock:
                receiver.requests.append(Received("GET", self.path, dict(self.headers.items()), b""))
            if query.get("hub.mode") == "subscribe" and query.get("hub.verify_token") == VERIFY_TOKEN:
                self._answer(200, query.get("hub.challenge", "").encode())
            else:
                self._answer(403, b"forbidden")

    return Handler


@pytest.fixture(scope="session")
def webhook_receiver():
    receiver = WebhookReceiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    server.daemon_threads = True
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}{WEBHOOK_PATH}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield receiver
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def simulator_url(webhook_receiver):
    """Start ``python -m simulator --port 0`` as a real process and return its base URL."""
    process = SimulatorProcess(
        webhook_receiver.url,
        APP_SECRET,
        phone_number_id=PHONE_NUMBER_ID,
        access_token=ACCESS_TOKEN,
        verify_token=VERIFY_TOKEN,
        webhook_timeout_s=5,
    )
    client = process.start()
    yield client.base_url
    process.stop()


@pytest.fixture
def sim(simulator_url, webhook_receiver):
    """A client on a freshly reset simulator (and an emptied webhook receiver)."""
    with SimulatorClient(simulator_url) as client:
        client.reset()
        client.set_webhook_url(webhook_receiver.url)
        webhook_receiver.clear()
        yield client
        webhook_receiver.on_post = None


@pytest.fixture
def graph(simulator_url):
    """An httpx client on the fake Graph API, authorised like the bot."""
    import httpx

    with httpx.Client(
        base_url=f"{simulator_url}/v24.0/{PHONE_NUMBER_ID}",
        headers={"Authorization": f"Bearer {ACCESS_TOKEN}"},
        timeout=10,
    ) as client:
        yield client
