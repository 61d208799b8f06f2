"""The agent API and console (FastAPI): HTTP in, one desk call, JSON out.

``create_app(session_factory, config)`` builds the app; nothing is built at
import time. Every endpoint authenticates, calls one framework-free function
(desk, views, canned, agents, audit), commits, and maps domain errors through
``http_errors`` (the one table). OpenAPI is at /openapi.json and /docs.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Optional
from urllib.parse import urlsplit

from fastapi import Body, Depends, FastAPI, Path as PathParam, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.sse import EventSourceResponse, ServerSentEvent
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import OperationalError

from bot.errors import BalieError
from handover import agents, audit, auth, canned, desk, http_errors, ticker, views
from handover.auth import AgentRef
from handover.clock import utcnow
from handover.config import HandoverConfig
from handover.errors import BadRequest, Forbidden, LoginFailed, NotAuthenticated
from handover.live import ChangeFeed
from handover.repository import Handover
from handover.schemas import (
    AgentIn, AgentOut, AgentPatch, AuditOut, BotChatOut, CannedIn, CannedOut, ConversationOut,
    ErrorOut, LoginIn, LoginOut, NewAgentOut, NoteCreatedOut, OutboxOut, PasswordOut,
    QueueItemOut, StateOut, TextIn, TransferIn, VersionIn,
)

log = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"
COOKIE = "balie_session"
OPEN_LOG_EVERY = timedelta(minutes=10)
STREAM_RECHECK_S = 30.0
ERRORS = {status: {"model": ErrorOut} for status in (400, 401, 403, 404, 409, 503)}
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}

ConversationId = PathParam(ge=1, le=2 ** 31 - 1)


def create_app(session_factory, config: HandoverConfig, *, background: bool = True) -> FastAPI:
    """The handover service; ``background`` runs the live-update poller and periodic check."""
    feed = ChangeFeed(session_factory, config.poll_interval_s)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        tasks = [asyncio.create_task(feed.run()),
                 asyncio.create_task(_periodic_check(session_factory, config))] if background else []
        yield
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    app = FastAPI(title="Balie overdracht", version="1.0",
                  description="Agent API of the Balie WhatsApp assistant: the KCC takes over "
                              "conversations from the bot.", lifespan=lifespan)
    app.state.session_factory = session_factory
    app.state.config = config
    app.state.feed = feed
    _install_error_handlers(app)
    _install_security_headers(app)
    _routes(app)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


async def _periodic_check(session_factory, config: HandoverConfig) -> None:
    """Wait updates and closing notices for queued citizens (see handover.ticker)."""
    def once() -> int:
        with session_factory() as session:
            sent = ticker.run_once(session, config, utcnow())
            session.commit()
            return sent

    while True:
        try:
            sent = await asyncio.to_thread(once)
            if sent:
                log.info("periodic check: %d waiting citizen(s) updated", sent)
        except Exception:   # a locked or unreachable DB must not stop future checks
            log.exception("periodic handover check failed")
        await asyncio.sleep(config.check_interval_s)


# --- plumbing -----------------------------------------------------------------

def _install_error_handlers(app: FastAPI) -> None:
    async def domain_error(_request: Request, exc: Exception) -> JSONResponse:
        status, body = http_errors.lookup(exc) or (500, {"error": "internal", "message": "Er ging iets mis."})
        if status >= 500:
            log.warning("request failed: %s", type(exc).__name__)
        return JSONResponse(body, status_code=status)

    async def invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        detail = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", "")} for e in exc.errors()]
        return JSONResponse({"error": "invalid_request", "message": "Controleer de invoer.",
                             "detail": detail}, status_code=422)

    app.add_exception_handler(BalieError, domain_error)
    app.add_exception_handler(OperationalError, domain_error)
    app.add_exception_handler(RequestValidationError, invalid_request)


def _install_security_headers(app: FastAPI) -> None:
    @app.middleware("http")
    async def headers(request: Request, call_next):
        if not _same_origin(request):
            return JSONResponse({"error": "forbidden", "message": "Verzoek van een andere website geweigerd."},
                                status_code=403)
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if request.url.path.startswith("/api/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response


def _same_origin(request: Request) -> bool:
    """Browsers send Origin on cross-site writes; refuse those (defence in depth next to
    the SameSite=Strict cookie). Scripts using a bearer token send no Origin."""
    origin = request.headers.get("origin")
    if request.method in ("GET", "HEAD", "OPTIONS") or not origin:
        return True
    return urlsplit(origin).netloc == request.headers.get("host", "")


def get_db(request: Request):
    session = request.app.state.session_factory()
    try:
        yield session
    finally:
        session.close()   # rolls back whatever an error left uncommitted


def _token(request: Request) -> Optional[str]:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.cookies.get(COOKIE)


def current_agent(request: Request, session=Depends(get_db)) -> AgentRef:
    return auth.authenticate(session, _token(request), utcnow())


def _require(agent: AgentRef, role: str) -> None:
    if not agent.at_least(role):
        raise Forbidden(f"needs role {role}")


def _state(handover: Handover) -> StateOut:
    return StateOut(conversation_id=handover.conversation_id, state=handover.state.value,
                    version=handover.version, agent_id=handover.agent_id)


def _version(body: Optional[VersionIn]) -> Optional[int]:
    return body.version if body else None


# --- routes -------------------------------------------------------------------

def _routes(app: FastAPI) -> None:
    _session_routes(app)
    _queue_routes(app)
    _action_routes(app)
    _canned_routes(app)
    _admin_routes(app)
    _event_routes(app)
    _page_routes(app)


def _session_routes(app: FastAPI) -> None:
    @app.post("/api/login", response_model=LoginOut, responses=ERRORS, tags=["sessie"])
    def login(body: LoginIn, request: Request, response: Response, session=Depends(get_db)):
        """Log in; sets an HttpOnly session cookie and also returns the token (for scripts)."""
        try:
            result = auth.login(session, app.state.config, body.username, body.password, utcnow())
        except LoginFailed:
            session.commit()   # keep the failed attempt: it counts towards the lockout
            raise
        session.commit()
        response.set_cookie(COOKIE, result.token, httponly=True, samesite="strict",
                            secure=request.url.scheme == "https",
                            max_age=int(app.state.config.session_hours * 3600), path="/")
        return LoginOut(token=result.token, expires_at=result.expires_at,
                        agent=AgentOut(**vars(result.agent)))

    @app.post("/api/logout", status_code=204, responses=ERRORS, tags=["sessie"])
    def logout(request: Request, response: Response, agent: AgentRef = Depends(current_agent),
               session=Depends(get_db)):
        now = utcnow()
        auth.logout(session, _token(request), agent, now)
        if not auth.signed_in(session, agent.id, now):   # the last tab or device
            desk.release_all(session, app.state.config, agent.id, now, actor=agent.actor)
        session.commit()
        response.delete_cookie(COOKIE, path="/")
        response.status_code = 204
        return response

    @app.get("/api/me", response_model=AgentOut, responses=ERRORS, tags=["sessie"])
    def me(agent: AgentRef = Depends(current_agent), session=Depends(get_db)):
        session.commit()
        return AgentOut(**vars(agent))


def _queue_routes(app: FastAPI) -> None:
    @app.get("/api/queue", response_model=list[QueueItemOut], responses=ERRORS, tags=["wachtrij"])
    def queue(agent: AgentRef = Depends(current_agent), session=Depends(get_db)):
        """Queued chats in line order, then the assigned chats this agent may see."""
        items = views.queue(session, agent, utcnow())
        session.commit()
        return [QueueItemOut.model_validate(item) for item in items]

    @app.get("/api/bot-conversations", response_model=list[BotChatOut], responses=ERRORS,
             tags=["wachtrij"])
    def bot_conversations(agent: AgentRef = Depends(current_agent), session=Depends(get_db)):
        """Recent conversations still with the bot, which an agent may pick up."""
        chats = views.recent_bot_chats(session, app.state.config, utcnow())
        session.commit()
        return [BotChatOut.model_validate(chat) for chat in chats]

    @app.get("/api/conversations/{conversation_id}", response_model=ConversationOut,
             responses=ERRORS, tags=["gesprek"])
    def conversation(conversation_id: int = ConversationId, agent: AgentRef = Depends(current_agent),
                     session=Depends(get_db)):
        """The whole (redacted) transcript, bot turns included, with notes and allowed actions."""
        now = utcnow()
        handover = desk.visible(session, agent, conversation_id)
        found = desk.conversation(session, conversation_id)
        if not audit.recorded_since(session, "open", now - OPEN_LOG_EVERY, agent_id=agent.id,
                                    conversation_id=conversation_id):
            audit.record(session, "open", now, actor=agent.actor, agent_id=agent.id,
                         conversation_id=conversation_id)
        view = views.conversation_view(session, agent, found, handover, now)
        session.commit()
        return ConversationOut.model_validate(view)


def _action_routes(app: FastAPI) -> None:
    def act(session, fn, *args, **kwargs):
        result = fn(session, app.state.config, *args, **kwargs)
        session.commit()
        return _state(result)

    @app.post("/api/conversations/{conversation_id}/claim", response_model=StateOut,
              responses=ERRORS, tags=["gesprek"])
    def claim(conversation_id: int = ConversationId, body: Optional[VersionIn] = Body(None),
              agent: AgentRef = Depends(current_agent), session=Depends(get_db)):
        """Take a queued chat. Of two agents claiming at once exactly one wins; the other gets 409."""
        return act(session, desk.claim, agent, conversation_id, utcnow(),
                   expected_version=_version(body))

    @app.post("/api/conversations/{conversation_id}/pickup", response_model=StateOut,
              responses=ERRORS, tags=["gesprek"])
    def pickup(conversation_id: int = ConversationId, body: Optional[VersionIn] = Body(None),
               agent: AgentRef = Depends(current_agent), session=Depends(get_db)):
        """Take over a conversation that is still with the bot."""
        return act(session, desk.pickup, agent, conversation_id, utcnow(),
                   expected_version=_version(body))

    @app.post("/api/conversations/{conversation_id}/release", response_model=StateOut,
              responses=ERRORS, tags=["gesprek"])
    def release(conversation_id: int = ConversationId, agent: AgentRef = Depends(current_agent),
                session=Depends(get_db)):
        """Put the chat back in the queue (the citizen keeps their place)."""
        return act(session, desk.release, agent, conversation_id, utcnow())

    @app.post("/api/conversations/{conversation_id}/transfer", response_model=StateOut,
              responses=ERRORS, tags=["gesprek"])
    def transfer(body: TransferIn, conversation_id: int = ConversationId,
                 agent: AgentRef = Depends(current_agent), session=Depends(get_db)):
        """Hand the chat to another active agent."""
        return act(session, desk.transfer, agent, conversation_id, body.agent_id, utcnow())

    @app.post("/api/conversations/{conversation_id}/close", response_model=StateOut,
              responses=ERRORS, tags=["gesprek"])
    def close(conversation_id: int = ConversationId, agent: AgentRef = Depends(current_agent),
              session=Depends(get_db)):
        """End the human part: the chat returns to the bot and the citizen is told."""
        return act(session, desk.close, agent, conversation_id, utcnow())

    @app.post("/api/conversations/{conversation_id}/reply", response_model=OutboxOut,
              responses=ERRORS, tags=["gesprek"])
    def reply(body: TextIn, conversation_id: int = ConversationId,
              agent: AgentRef = Depends(current_agent), session=Depends(get_db)):
        """Send a WhatsApp message (through the outbox); refused outside the 24-hour window."""
        outbox_id = desk.reply(session, agent, conversation_id, body.text, utcnow())
        session.commit()
        return OutboxOut(outbox_id=outbox_id)

    @app.post("/api/conversations/{conversation_id}/notes", response_model=NoteCreatedOut,
              responses=ERRORS, tags=["gesprek"])
    def note(body: TextIn, conversation_id: int = ConversationId,
             agent: AgentRef = Depends(current_agent), session=Depends(get_db)):
        """An internal note for colleagues; never sent to the citizen."""
        note_id = desk.add_note(session, agent, conversation_id, body.text, utcnow())
        session.commit()
        return NoteCreatedOut(note_id=note_id)


def _canned_routes(app: FastAPI) -> None:
    canned_id_param = PathParam(ge=1, le=2 ** 31 - 1)

    @app.get("/api/canned", response_model=list[CannedOut], responses=ERRORS, tags=["standaardteksten"])
    def list_canned(agent: AgentRef = Depends(current_agent), session=Depends(get_db)):
        items = canned.list_all(session)
        session.commit()
        return [CannedOut.model_validate(item) for item in items]

    @app.post("/api/canned", response_model=CannedOut, status_code=201, responses=ERRORS,
              tags=["standaardteksten"])
    def create_canned(body: CannedIn, agent: AgentRef = Depends(current_agent), session=Depends(get_db)):
        item = canned.create(session, agent, body.title, body.body, utcnow())
        session.commit()
        return CannedOut.model_validate(item)

    @app.put("/api/canned/{canned_id}", response_model=CannedOut, responses=ERRORS,
             tags=["standaardteksten"])
    def update_canned(body: CannedIn, canned_id: int = canned_id_param,
                      agent: AgentRef = Depends(current_agent), session=Depends(get_db)):
        item = canned.update(session, agent, canned_id, body.title, body.body, utcnow())
        session.commit()
        return CannedOut.model_validate(item)

    @app.delete("/api/canned/{canned_id}", status_code=204, responses=ERRORS, tags=["standaardteksten"])
    def delete_canned(canned_id: int = canned_id_param, agent: AgentRef = Depends(current_agent),
                      session=Depends(get_db)):
        canned.delete(session, agent, canned_id, utcnow())
        session.commit()
        return Response(status_code=204)


def _admin_routes(app: FastAPI) -> None:
    agent_id_param = PathParam(ge=1, le=2 ** 31 - 1)

    @app.get("/api/agents", response_model=list[AgentOut], responses=ERRORS, tags=["beheer"])
    def list_agents(agent: AgentRef = Depends(current_agent), session=Depends(get_db)):
        """Active agents (transfer targets); admins see disabled ones too."""
        everyone = agents.list_all(session)
        session.commit()
        shown = everyone if agent.at_least("admin") else [a for a in everyone if a.active]
        return [AgentOut.model_validate(a) for a in shown]

    @app.post("/api/agents", response_model=NewAgentOut, status_code=201, responses=ERRORS,
              tags=["beheer"])
    def add_agent(body: AgentIn, agent: AgentRef = Depends(current_agent), session=Depends(get_db)):
        """Admins only. The generated password is shown once."""
        _require(agent, "admin")
        info, password = agents.add(session, body.username, body.name, body.role, utcnow(),
                                    actor=agent.actor)
        session.commit()
        return NewAgentOut(agent=AgentOut.model_validate(info), password=password)

    @app.patch("/api/agents/{agent_id}", response_model=AgentOut, responses=ERRORS, tags=["beheer"])
    def patch_agent(body: AgentPatch, agent_id: int = agent_id_param,
                    agent: AgentRef = Depends(current_agent), session=Depends(get_db)):
        """Admins only: disable/enable an agent or change their role."""
        _require(agent, "admin")
        target = agents.find_by_id(session, agent_id)
        info = agents.get(session, agent_id)
        if target.id == agent.id and body.active is False:
            raise BadRequest("cannot disable yourself", public="U kunt uzelf niet uitschakelen.")
        if body.active is not None:
            info, _ = desk.set_agent_active(session, app.state.config, target, body.active, utcnow(),
                                            actor=agent.actor)
        if body.role is not None:
            info = agents.set_role(session, target, body.role, utcnow(), actor=agent.actor)
        session.commit()
        return AgentOut.model_validate(info)

    @app.post("/api/agents/{agent_id}/password", response_model=PasswordOut, responses=ERRORS,
              tags=["beheer"])
    def reset_password(agent_id: int = agent_id_param, agent: AgentRef = Depends(current_agent),
                       session=Depends(get_db)):
        """Admins only: a new random password, shown once; the agent's sessions end."""
        _require(agent, "admin")
        password = agents.reset_password(session, agents.find_by_id(session, agent_id), utcnow(),
                                         actor=agent.actor)
        session.commit()
        return PasswordOut(password=password)

    @app.get("/api/audit", response_model=list[AuditOut], responses=ERRORS, tags=["beheer"])
    def audit_log(conversation_id: Optional[int] = Query(None, ge=1, le=2 ** 31 - 1),
                  before_id: Optional[int] = Query(None, ge=1, le=2 ** 63 - 1),
                  limit: int = Query(200, ge=1, le=1000),
                  agent: AgentRef = Depends(current_agent), session=Depends(get_db)):
        """Supervisors and admins: who did what, when (newest first)."""
        _require(agent, "supervisor")
        entries = audit.recent(session, limit=limit, conversation_id=conversation_id,
                               before_id=before_id)
        session.commit()
        return [AuditOut.model_validate(entry) for entry in entries]


def _stream_agent(request: Request) -> tuple[AgentRef, str]:
    """Authenticate with a short-lived session: a stream must not hold a DB session open."""
    token = _token(request)
    with request.app.state.session_factory() as session:
        agent = auth.authenticate(session, token, utcnow())
        session.commit()
    return agent, token


def _still_logged_in(session_factory, token: str) -> bool:
    with session_factory() as session:
        try:
            auth.authenticate(session, token, utcnow())
        except NotAuthenticated:
            return False
        session.commit()
        return True


def _event_routes(app: FastAPI) -> None:
    @app.get("/api/events", response_class=EventSourceResponse, responses=ERRORS, tags=["wachtrij"])
    async def events(request: Request, who: tuple = Depends(_stream_agent)) -> AsyncIterator[ServerSentEvent]:
        """Server-sent events: 'change' whenever the queue or a conversation may have changed."""
        _agent, token = who
        feed: ChangeFeed = app.state.feed
        seen = feed.seq
        yield ServerSentEvent(event="hello", data={"seq": seen}, retry=3000)
        while True:   # ends when the client goes (the response task is cancelled)
            seq = await feed.wait(seen, STREAM_RECHECK_S)
            if seq != seen:
                seen = seq
                yield ServerSentEvent(event="change", data={"seq": seq})
            elif not await asyncio.to_thread(_still_logged_in, app.state.session_factory, token):
                yield ServerSentEvent(event="logout", data={})
                return


def _page_routes(app: FastAPI) -> None:
    @app.get("/", include_in_schema=False)
    def index():
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    @app.get("/api/health", tags=["sessie"])
    def health():
        return {"status": "ok"}
