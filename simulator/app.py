"""The simulator's web app: fake Graph API, control API under ``/_sim/`` and the phone page.

``create_app(config)`` builds a Starlette app; nothing is created at import
time (the HTTP client for webhook calls lives in the app's lifespan).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from simulator import graph, signing
from simulator.state import APPLIES_TO, FailureRule, SimState, SlowRule

log = logging.getLogger("simulator")

STATIC_DIR = Path(__file__).parent / "static"
WA_ID = re.compile(r"^\d{6,15}$")


@dataclass(frozen=True)
class SimulatorConfig:
    """How the simulator reaches the bot and what it pretends to be."""

    webhook_url: str
    app_secret: str
    phone_number_id: str = signing.DEFAULT_PHONE_NUMBER_ID
    access_token: str | None = None
    verify_token: str | None = None
    display_phone_number: str = signing.DEFAULT_DISPLAY_PHONE_NUMBER
    waba_id: str = signing.DEFAULT_WABA_ID
    business_name: str = "Gemeente Voorbeeldstad (demo)"
    webhook_timeout_s: float = 30.0


class BadRequest(Exception):
    """A control-API call with unusable input."""


def _json_error(message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def _json_object(request: Request) -> dict[str, Any]:
    try:
        data = json.loads(await request.body() or b"{}")
    except ValueError as exc:
        raise BadRequest("body is not valid JSON") from exc
    if not isinstance(data, dict):
        raise BadRequest("body must be a JSON object")
    return data


def _opt_number(data: dict[str, Any], key: str, kind: type, default: Any = None) -> Any:
    value = data.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BadRequest(f"{key} must be a number")
    if kind is int and int(value) != value:
        raise BadRequest(f"{key} must be a whole number")
    if value < 0:
        raise BadRequest(f"{key} must not be negative")
    return kind(value)


def _wa_id(data: dict[str, Any], required: bool = True) -> str | None:
    wa_id = data.get("wa_id")
    if wa_id is None and not required:
        return None
    if not isinstance(wa_id, str) or not WA_ID.match(wa_id):
        raise BadRequest("wa_id must be 6 to 15 digits, e.g. 31612345678")
    return wa_id


def _text(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise BadRequest(f"{key} is required")
    return value


def _since(request: Request) -> int | None:
    value = request.query_params.get("since")
    if value in (None, ""):
        return None
    try:
        return int(value)
    except ValueError as exc:
        raise BadRequest("since must be a seq number") from exc


def _summary(payload: dict[str, Any]) -> str | None:
    """The main text of a sent message, for quick assertions in tests."""
    kind = payload.get("type", "text")
    if kind == "text":
        return (payload.get("text") or {}).get("body")
    if kind == "interactive":
        return ((payload.get("interactive") or {}).get("body") or {}).get("text")
    return None


class Simulator:
    """Route handlers bound to one config and one in-memory state."""

    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self.webhook_url = config.webhook_url
        self.state = SimState()
        self.http: httpx.AsyncClient | None = None
        self._chat_locks: dict[str, asyncio.Lock] = {}

    # -- fake Graph API -------------------------------------------------------------------

    def _check_auth(self, request: Request) -> None:
        token = self.config.access_token
        if not token:
            return
        header = request.headers.get("authorization", "")
        if not header:
            raise graph.GraphError(
                401,
                graph.error_body(
                    2500,
                    message="An active access token must be used to query information about the current user.",
                    details="Missing access token.",
                ),
            )
        scheme, _, given = header.partition(" ")
        if scheme.lower() != "bearer" or not secrets.compare_digest(given.strip(), token):
            raise graph.GraphError(401, graph.error_body(190, details="The access token could not be decrypted."))

    async def graph_messages(self, request: Request) -> Response:
        kind, wa_id, rule = "unknown", None, None
        try:
            graph.check_version(request.path_params["version"])
            self._check_auth(request)
            number_id = request.path_params["phone_number_id"]
            if number_id != self.config.phone_number_id:
                raise graph.GraphError(
                    400,
                    graph.error_body(
                        100,
                        message=(
                            f"Unsupported post request. Object with ID '{number_id}' does not exist, cannot be "
                            "loaded due to missing permissions, or does not support this operation."
                        ),
                        details="Unknown phone number id.",
                        subcode=33,
                    ),
                )
            try:
                payload = json.loads(await request.body())
            except ValueError as exc:
                raise graph.GraphError.invalid("Request body is not valid JSON.") from exc
            kind = graph.validate_send(payload)
            if kind == "read":
                wa_id = self.state.inbound_owner.get(payload["message_id"])
            else:
                wa_id = graph.normalise_number(payload["to"])
            rule = self.state.take_failure(kind, wa_id)
            if rule is not None:
                if rule.delay_s:
                    await asyncio.sleep(rule.delay_s)
                raise graph.GraphError(rule.status, graph.error_body(rule.code, message=rule.message, details=rule.details))
        except graph.GraphError as exc:
            self.state.record_attempt(kind, wa_id, exc.status, exc.body["error"]["code"])
            headers = {"Retry-After": f"{rule.retry_after:g}"} if rule and rule.retry_after is not None else None
            return JSONResponse(exc.body, status_code=exc.status, headers=headers)

        delay = self.state.take_delay(kind, wa_id)
        # Recorded on arrival: like Meta, a send that the caller gave up on may still have gone out.
        if kind == "read":
            indicator = payload.get("typing_indicator")
            self.state.add("read", wa_id, message_id=payload["message_id"], typing=bool(indicator), payload=payload)
            body: dict[str, Any] = {"success": True}
        else:
            wamid = signing.new_wamid()
            self.state.add("out", wa_id, wamid=wamid, type=kind, text=_summary(payload), payload=payload)
            body = graph.success_body(payload["to"], wamid)
        self.state.record_attempt(kind, wa_id, 200)
        if delay:
            await asyncio.sleep(delay)
        return JSONResponse(body)

    # -- webhook calls to the bot ---------------------------------------------------------

    async def _post_webhook(self, payload: dict[str, Any], signature: str = "valid") -> dict[str, Any]:
        assert self.http is not None, "simulator not started"
        body = signing.encode(payload)
        headers = {"Content-Type": "application/json"}
        if signature == "valid":
            headers[signing.SIGNATURE_HEADER] = signing.sign(body, self.config.app_secret)
        elif signature == "invalid":
            headers[signing.SIGNATURE_HEADER] = signing.sign(body, self.config.app_secret + "-wrong")
        try:
            response = await self.http.post(self.webhook_url, content=body, headers=headers)
        except httpx.TimeoutException:
            log.warning("webhook call timed out")
            return {"ok": False, "status": None, "error": "timeout"}
        except httpx.HTTPError as exc:
            log.warning("webhook call failed: %s", type(exc).__name__)
            return {"ok": False, "status": None, "error": f"not reachable ({type(exc).__name__})"}
        ok = 200 <= response.status_code < 300
        if not ok:
            log.warning("webhook answered %s", response.status_code)
        return {"ok": ok, "status": response.status_code, "error": None if ok else f"HTTP {response.status_code}"}

    async def _deliver_inbound(self, wa_id: str, wamid: str, payload: dict[str, Any], **event: Any) -> dict[str, Any]:
        lock = self._chat_locks.setdefault(wa_id, asyncio.Lock())
        async with lock:  # one chat's messages reach the bot in the order they were typed
            record = self.state.add("in", wa_id, wamid=wamid, webhook=None, **event)
            result = await self._post_webhook(payload)
            record["webhook"] = result
        return {"wamid": wamid, "seq": record["seq"], "webhook": result}

    def _client_wamid(self, data: dict[str, Any]) -> str:
        wamid = data.get("wamid")
        if wamid is None:
            return signing.new_wamid()
        if not isinstance(wamid, str) or not wamid.startswith("wamid.") or len(wamid) > 200:
            raise BadRequest("wamid must look like wamid.<id>")
        return wamid

    def _profile_name(self, data: dict[str, Any]) -> str:
        name = data.get("profile_name") or signing.DEFAULT_PROFILE_NAME
        if not isinstance(name, str):
            raise BadRequest("profile_name must be a string")
        return name[:60]

    def _ids(self) -> dict[str, str]:
        return {
            "phone_number_id": self.config.phone_number_id,
            "display_phone_number": self.config.display_phone_number,
            "waba_id": self.config.waba_id,
        }

    async def send(self, request: Request) -> Response:
        data = await _json_object(request)
        wa_id, text = _wa_id(data), _text(data, "text")
        wamid, name = self._client_wamid(data), self._profile_name(data)
        timestamp = int(time.time())
        payload = signing.build_text_webhook(wa_id, text, wamid, name, timestamp=timestamp, **self._ids())
        result = await self._deliver_inbound(
            wa_id, wamid, payload, type="text", text=text, profile_name=name, timestamp=timestamp
        )
        return JSONResponse(result)

    async def click(self, request: Request) -> Response:
        data = await _json_object(request)
        wa_id, reply_id, title = _wa_id(data), _text(data, "reply_id"), _text(data, "title")
        kind = data.get("kind", "button")
        if kind not in ("button", "list"):
            raise BadRequest("kind must be 'button' or 'list'")
        context_id = data.get("context_id")
        if context_id is not None and not isinstance(context_id, str):
            raise BadRequest("context_id must be a string")
        description = data.get("description") if kind == "list" else None
        wamid, name = self._client_wamid(data), self._profile_name(data)
        timestamp = int(time.time())
        common = dict(context_id=context_id, profile_name=name, timestamp=timestamp, **self._ids())
        if kind == "button":
            payload = signing.build_button_reply_webhook(wa_id, reply_id, title, wamid, **common)
        else:
            payload = signing.build_list_reply_webhook(wa_id, reply_id, title, wamid, description=description, **common)
        result = await self._deliver_inbound(
            wa_id,
            wamid,
            payload,
            type=f"{kind}_reply",
            text=title,
            reply_id=reply_id,
            context_id=context_id,
            profile_name=name,
            timestamp=timestamp,
        )
        return JSONResponse(result)

    async def status(self, request: Request) -> Response:
        data = await _json_object(request)
        message_id = _text(data, "message_id")
        status = data.get("status", "delivered")
        if status not in ("sent", "delivered", "read", "failed"):
            raise BadRequest("status must be sent, delivered, read or failed")
        wa_id = _wa_id(data, required=False)
        if wa_id is None:
            sent = [e for e in self.state.query(("out",)) if e["wamid"] == message_id]
            if not sent:
                raise BadRequest("unknown message_id; pass wa_id")
            wa_id = sent[0]["wa_id"]
        code = _opt_number(data, "code", int)
        payload = signing.build_status_webhook(wa_id, message_id, status, error_code=code, **self._ids())
        self.state.add("status", wa_id, message_id=message_id, status=status, code=code)
        return JSONResponse({"webhook": await self._post_webhook(payload)})

    async def raw_webhook(self, request: Request) -> Response:
        payload = await _json_object(request)
        signature = request.query_params.get("signature", "valid")
        if signature not in ("valid", "invalid", "missing"):
            raise BadRequest("signature must be valid, invalid or missing")
        return JSONResponse({"webhook": await self._post_webhook(payload, signature)})

    async def verify(self, request: Request) -> Response:
        """Do Meta's GET verification handshake against the bot's webhook."""
        assert self.http is not None
        data = await _json_object(request)
        token = data.get("verify_token", self.config.verify_token)
        if not isinstance(token, str):
            raise BadRequest("no verify_token configured or given")
        challenge = str(secrets.randbelow(10**9))
        params = {"hub.mode": "subscribe", "hub.verify_token": token, "hub.challenge": challenge}
        try:
            response = await self.http.get(self.webhook_url, params=params)
        except httpx.HTTPError as exc:
            return JSONResponse({"ok": False, "status": None, "error": type(exc).__name__})
        ok = response.status_code == 200 and response.text.strip() == challenge
        return JSONResponse({"ok": ok, "status": response.status_code, "challenge_echoed": response.text.strip() == challenge})

    # -- control API ----------------------------------------------------------------------

    async def fail(self, request: Request) -> Response:
        data = await _json_object(request)
        count = _opt_number(data, "count", int, 1)
        status, code = graph.status_and_code(_opt_number(data, "status", int), _opt_number(data, "code", int))
        if not 400 <= status <= 599:
            raise BadRequest("status must be an HTTP error status (400-599)")
        applies_to = data.get("applies_to", "messages")
        if applies_to not in APPLIES_TO:
            raise BadRequest(f"applies_to must be one of {', '.join(APPLIES_TO)}")
        for key in ("message", "details"):
            if data.get(key) is not None and not isinstance(data[key], str):
                raise BadRequest(f"{key} must be a string")
        rule = FailureRule(
            count=count,
            status=status,
            code=code,
            delay_s=_opt_number(data, "delay_s", float, 0.0),
            wa_id=_wa_id(data, required=False),
            applies_to=applies_to,
            message=data.get("message"),
            details=data.get("details"),
            retry_after=_opt_number(data, "retry_after", float),
        )
        if rule.count:
            self.state.failures.append(rule)
        return JSONResponse({"failures": [r.public() for r in self.state.failures]})

    async def slow(self, request: Request) -> Response:
        data = await _json_object(request)
        applies_to = data.get("applies_to", "all")
        if applies_to not in APPLIES_TO:
            raise BadRequest(f"applies_to must be one of {', '.join(APPLIES_TO)}")
        delay = _opt_number(data, "delay_s", float)
        if delay is None:
            raise BadRequest("delay_s is required")
        rule = SlowRule(delay_s=delay, count=_opt_number(data, "count", int), wa_id=_wa_id(data, required=False), applies_to=applies_to)
        self.state.slow.append(rule)
        return JSONResponse({"slow": [r.public() for r in self.state.slow]})

    async def reset(self, request: Request) -> Response:
        self.state.reset()
        return JSONResponse({"ok": True, "seq": self.state.seq})

    async def messages(self, request: Request) -> Response:
        found = self.state.query(("out",), request.query_params.get("wa_id") or None, _since(request))
        return JSONResponse({"messages": found, "seq": self.state.seq})

    async def reads(self, request: Request) -> Response:
        found = self.state.query(("read",), request.query_params.get("wa_id") or None, _since(request))
        return JSONResponse({"reads": found, "seq": self.state.seq})

    async def events(self, request: Request) -> Response:
        found = self.state.query(("in", "out", "read", "status"), request.query_params.get("wa_id") or None, _since(request))
        return JSONResponse({"events": found, "seq": self.state.seq})

    async def attempts(self, request: Request) -> Response:
        wa_id = request.query_params.get("wa_id") or None
        found = [a for a in self.state.attempts if wa_id is None or a["wa_id"] == wa_id]
        return JSONResponse({"attempts": found})

    async def rules(self, request: Request) -> Response:
        return JSONResponse(
            {"failures": [r.public() for r in self.state.failures], "slow": [r.public() for r in self.state.slow]}
        )

    async def config_view(self, request: Request) -> Response:
        if request.method == "POST":
            data = await _json_object(request)
            url = data.get("webhook_url")
            if not isinstance(url, str) or not url.startswith(("http://", "https://")):
                raise BadRequest("webhook_url must be an http(s) URL")
            self.webhook_url = url
        base = str(request.base_url).rstrip("/")
        return JSONResponse(
            {
                "business_name": self.config.business_name,
                "display_phone_number": self.config.display_phone_number,
                "phone_number_id": self.config.phone_number_id,
                "webhook_url": self.webhook_url,
                "graph_api_url": f"{base}/v24.0",
                "auth_required": bool(self.config.access_token),
            }
        )

    async def health(self, request: Request) -> Response:
        return JSONResponse({"ok": True, "seq": self.state.seq})

    async def index(self, request: Request) -> Response:
        return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-store"})


def create_app(config: SimulatorConfig) -> Starlette:
    sim = Simulator(config)

    def control(handler):
        async def endpoint(request: Request) -> Response:
            try:
                return await handler(request)
            except BadRequest as exc:
                return _json_error(str(exc))

        return endpoint

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        async with httpx.AsyncClient(timeout=config.webhook_timeout_s) as client:
            sim.http = client
            yield
        sim.http = None

    routes = [
        Route("/", sim.index),
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
        Route("/_sim/health", sim.health),
        Route("/_sim/config", control(sim.config_view), methods=["GET", "POST"]),
        Route("/_sim/send", control(sim.send), methods=["POST"]),
        Route("/_sim/click", control(sim.click), methods=["POST"]),
        Route("/_sim/status", control(sim.status), methods=["POST"]),
        Route("/_sim/webhook", control(sim.raw_webhook), methods=["POST"]),
        Route("/_sim/verify", control(sim.verify), methods=["POST"]),
        Route("/_sim/fail", control(sim.fail), methods=["POST"]),
        Route("/_sim/slow", control(sim.slow), methods=["POST"]),
        Route("/_sim/reset", control(sim.reset), methods=["POST"]),
        Route("/_sim/rules", control(sim.rules)),
        Route("/_sim/messages", control(sim.messages)),
        Route("/_sim/reads", control(sim.reads)),
        Route("/_sim/events", control(sim.events)),
        Route("/_sim/attempts", control(sim.attempts)),
        Route("/{version}/{phone_number_id}/messages", sim.graph_messages, methods=["POST"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.simulator = sim
    return app
