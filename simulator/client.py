"""A small synchronous client for the simulator's control API, for tests.

    sim = SimulatorClient("http://127.0.0.1:8081")
    sim.reset()
    sim.send_text("31612345678", "Hoe vraag ik een paspoort aan?")
    [reply] = sim.wait_for("31612345678", count=1)
"""

from __future__ import annotations

import time
from typing import Any

import httpx


class SimulatorClient:
    def __init__(self, base_url: str, timeout: float = 60.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout)

    @property
    def graph_api_url(self) -> str:
        """What to put in ``WHATSAPP_API_URL``."""
        return f"{self.base_url}/v24.0"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "SimulatorClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @staticmethod
    def _json(response: httpx.Response) -> dict[str, Any]:
        if response.is_error:
            try:
                reason = response.json().get("error", response.text)
            except ValueError:
                reason = response.text
            raise httpx.HTTPStatusError(
                f"simulator answered {response.status_code}: {reason}", request=response.request, response=response
            )
        return response.json()

    def _get(self, path: str, **params: Any) -> dict[str, Any]:
        return self._json(self._http.get(path, params={k: v for k, v in params.items() if v is not None}))

    def _post(self, path: str, body: dict[str, Any] | None = None, *, raw: bool = False, **params: Any) -> dict[str, Any]:
        if not raw:
            body = {k: v for k, v in (body or {}).items() if v is not None}
        return self._json(self._http.post(path, json=body, params=params or None))

    # -- what the bot did ---------------------------------------------------------------

    def messages(self, wa_id: str | None = None, since: int | None = None) -> list[dict[str, Any]]:
        """Messages the bot sent (accepted by the fake Graph API), oldest first."""
        return self._get("/_sim/messages", wa_id=wa_id, since=since)["messages"]

    def reads(self, wa_id: str | None = None, since: int | None = None) -> list[dict[str, Any]]:
        """Read marks (with or without typing indicator) the bot sent."""
        return self._get("/_sim/reads", wa_id=wa_id, since=since)["reads"]

    def events(self, wa_id: str | None = None, since: int | None = None) -> list[dict[str, Any]]:
        """Both directions of the conversation plus read marks, in order."""
        return self._get("/_sim/events", wa_id=wa_id, since=since)["events"]

    def attempts(self, wa_id: str | None = None) -> list[dict[str, Any]]:
        """Every call to the messages endpoint, failed ones included, with the status answered."""
        return self._get("/_sim/attempts", wa_id=wa_id)["attempts"]

    def health(self) -> dict[str, Any]:
        return self._get("/_sim/health")

    def seq(self) -> int:
        """The last event number; pass it as ``since`` to see only what comes next."""
        return self._get("/_sim/health")["seq"]

    def wait_for(
        self, wa_id: str | None, count: int = 1, timeout: float = 10.0, since: int | None = None
    ) -> list[dict[str, Any]]:
        """Wait until at least ``count`` messages went to ``wa_id``; return them all."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.messages(wa_id, since)
            if len(found) >= count:
                return found
            if time.monotonic() >= deadline:
                raise TimeoutError(f"expected {count} message(s) to {wa_id}, got {len(found)} in {timeout}s")
            time.sleep(0.05)

    # -- scripting the fake Graph API ---------------------------------------------------

    def fail_next(
        self,
        count: int = 1,
        status: int | None = None,
        code: int | None = None,
        delay_s: float = 0.0,
        wa_id: str | None = None,
        applies_to: str = "messages",
        retry_after: float | None = None,
    ) -> dict[str, Any]:
        """Make the next ``count`` sends fail with Meta's error JSON (after ``delay_s``).

        Leave out ``status`` and ``code`` for a 500 with code 131000; give only a
        ``code`` and the status is the one Meta uses for it (131047 -> 400,
        130429 -> 429); give only a ``status`` and the code follows from it.
        ``retry_after`` adds a ``Retry-After`` header (seconds).
        """
        return self._post(
            "/_sim/fail",
            {"count": count, "status": status, "code": code, "delay_s": delay_s, "wa_id": wa_id,
             "applies_to": applies_to, "retry_after": retry_after},
        )

    def slow(self, delay_s: float, count: int | None = None, wa_id: str | None = None, applies_to: str = "all") -> dict[str, Any]:
        """Answer sends successfully but only after ``delay_s`` (``count`` None: until reset)."""
        return self._post("/_sim/slow", {"delay_s": delay_s, "count": count, "wa_id": wa_id, "applies_to": applies_to})

    def reset(self) -> None:
        """Forget recorded messages, reads and scripted failures."""
        self._post("/_sim/reset")

    def set_webhook_url(self, url: str) -> dict[str, Any]:
        return self._post("/_sim/config", {"webhook_url": url})

    # -- acting as the citizen ----------------------------------------------------------

    def send_text(self, wa_id: str, text: str, profile_name: str | None = None) -> dict[str, Any]:
        """Post a signed text webhook to the bot; returns ``{"wamid", "seq", "webhook": {"ok", "status", "error"}}``."""
        return self._post("/_sim/send", {"wa_id": wa_id, "text": text, "profile_name": profile_name})

    def click(
        self, wa_id: str, reply_id: str, title: str, kind: str = "button", context_id: str | None = None
    ) -> dict[str, Any]:
        """Post a signed ``button_reply`` (or ``list_reply`` with ``kind="list"``) webhook."""
        return self._post(
            "/_sim/click", {"wa_id": wa_id, "reply_id": reply_id, "title": title, "kind": kind, "context_id": context_id}
        )

    def send_status(self, message_id: str, status: str = "delivered", code: int | None = None) -> dict[str, Any]:
        """Post a signed status webhook for a message the bot sent."""
        return self._post("/_sim/status", {"message_id": message_id, "status": status, "code": code})

    def post_webhook(self, payload: dict[str, Any], signature: str = "valid") -> dict[str, Any]:
        """Post any payload to the bot, signed ``valid``, ``invalid`` or ``missing``."""
        return self._post("/_sim/webhook", payload, raw=True, signature=signature)

    def verify(self, verify_token: str | None = None) -> dict[str, Any]:
        """Run Meta's GET verification handshake against the bot."""
        return self._post("/_sim/verify", {"verify_token": verify_token})
