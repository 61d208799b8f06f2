"""The agent API against the real service (``python -m handover`` under uvicorn) on SQLite."""
from __future__ import annotations

import json
import threading
import time
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from sqlalchemy import select

from bot.db.models import OutboxMessage
from handover import core

from handover_factories import add_inbound
from handover_service import start_service


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    running = start_service(tmp_path_factory.mktemp("handover-api"))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def admin(service):
    return service.login("admin", service.admin_password)


_count = iter(range(1, 10_000))


def new_agent(service, admin, role="agent", name="Jan de Vries"):
    """Create an agent through the API and log in as them; returns (id, token)."""
    with service.client(admin) as client:
        response = client.post("/api/agents", json={"username": f"{role}{next(_count)}",
                                                     "name": name, "role": role})
    assert response.status_code == 201, response.text
    body = response.json()
    return body["agent"]["id"], service.login(body["agent"]["username"], body["password"])


def outbox_rows(service, cid):
    with service.sessions() as session:
        rows = session.execute(select(OutboxMessage).where(OutboxMessage.conversation_id == cid)
                               .order_by(OutboxMessage.id)).scalars().all()
        return [(row.author, json.loads(row.body)["text"]["body"]) for row in rows]


def test_first_admin_is_printed_once(service):
    log = service.log.read_text()
    assert log.count("gebruikersnaam: admin") == 1 and len(service.admin_password) >= 16


def test_openapi_docs_and_console_are_served(service):
    with service.client() as client:
        spec = client.get("/openapi.json").json()
        assert {"/api/login", "/api/queue", "/api/conversations/{conversation_id}/claim",
                "/api/conversations/{conversation_id}/reply", "/api/canned", "/api/events",
                "/api/audit"} <= set(spec["paths"])
        assert client.get("/docs").status_code == 200
        page = client.get("/")
        assert page.status_code == 200 and "Agentconsole" in page.text
        assert "default-src 'self'" in page.headers["content-security-policy"]
        assert client.get("/static/console.js").status_code == 200


@pytest.mark.parametrize("method, path", [
    ("GET", "/api/queue"), ("GET", "/api/me"), ("POST", "/api/conversations/1/claim"),
    ("GET", "/api/canned"), ("GET", "/api/events"),
])
def test_everything_needs_a_login(service, method, path):
    for token in (None, "not-a-token"):
        with service.client(token) as client:
            response = client.request(method, path)
        assert response.status_code == 401
        assert response.json()["error"] == "not_authenticated"


def test_wrong_password(service):
    with service.client() as client:
        response = client.post("/api/login", json={"username": "admin", "password": "nope"})
    assert response.status_code == 401 and response.json()["error"] == "login_failed"
    assert "wachtwoord" in response.json()["message"]


@pytest.mark.parametrize("method, path, body", [
    ("POST", "/api/login", {}),
    ("POST", "/api/login", {"username": "a", "password": "b", "admin": True}),
    ("POST", "/api/login", "not json"),
    ("GET", "/api/conversations/abc", None),
    ("GET", "/api/conversations/99999999999999", None),
    ("GET", "/api/conversations/0", None),
    ("POST", "/api/conversations/1/reply", {"text": ""}),
    ("POST", "/api/conversations/1/reply", {"text": "x" * 5000}),
    ("POST", "/api/conversations/1/transfer", {"agent_id": "jan"}),
    ("POST", "/api/conversations/1/claim", {"version": -1}),
    ("POST", "/api/agents", {"username": "a b", "name": "X"}),
    ("GET", "/api/audit?limit=100000", None),
])
def test_bad_input_is_422_never_500(service, admin, method, path, body):
    with service.client(admin) as client:
        if isinstance(body, str):
            response = client.request(method, path, content=body, headers={"Content-Type": "application/json"})
        else:
            response = client.request(method, path, json=body)
    assert response.status_code == 422, response.text
    assert response.json()["error"] == "invalid_request"


def test_unknown_conversation_is_404(service, admin):
    with service.client(admin) as client:
        response = client.get("/api/conversations/777777")
    assert response.status_code == 404 and response.json()["error"] == "not_found"


def test_claim_reply_transfer_release_close(service, admin):
    jan_id, jan = new_agent(service, admin, name="Jan de Vries")
    piet_id, piet = new_agent(service, admin, name="Piet Jansen")
    cid = service.queued_chat(name="Anna")

    with service.client(jan) as client:
        [item] = [i for i in client.get("/api/queue").json() if i["conversation_id"] == cid]
        assert (item["state"], item["reason"], item["name"]) == ("queued", "ask_human", "Anna")
        assert item["last_message"] == "Ik wil een medewerker spreken"
        assert 86000 < item["window_left_s"] <= 86400 and item["place"] >= 1
        view = client.get(f"/api/conversations/{cid}").json()
        assert [m["author"] for m in view["messages"]] == ["citizen", "system"]
        assert view["actions"] == ["claim"]
        claimed = client.post(f"/api/conversations/{cid}/claim", json={"version": view["version"]})
        assert claimed.status_code == 200 and claimed.json()["state"] == "assigned"

    with service.client(piet) as client:
        lost = client.post(f"/api/conversations/{cid}/claim")
        assert lost.status_code == 409 and "collega" in lost.json()["message"]
        assert client.post(f"/api/conversations/{cid}/reply", json={"text": "Ik ook"}).status_code == 404

    with service.client(jan) as client:
        sent = client.post(f"/api/conversations/{cid}/reply", json={"text": "Goedemorgen Anna"})
        assert sent.status_code == 200
        assert client.post(f"/api/conversations/{cid}/notes", json={"text": "Belt terug"}).status_code == 200
        moved = client.post(f"/api/conversations/{cid}/transfer", json={"agent_id": piet_id})
        assert moved.status_code == 200 and moved.json()["agent_id"] == piet_id
        assert client.post(f"/api/conversations/{cid}/release").status_code == 404   # not Jan's any more

    with service.client(piet) as client:
        view = client.get(f"/api/conversations/{cid}").json()
        assert view["notes"][0]["text"] == "Belt terug" and "reply" in view["actions"]
        assert client.post(f"/api/conversations/{cid}/release").json()["state"] == "queued"
        assert client.post(f"/api/conversations/{cid}/claim").status_code == 200
        closed = client.post(f"/api/conversations/{cid}/close")
        assert closed.status_code == 200 and closed.json()["state"] == "bot"

    with service.sessions() as session:
        assert core.current_state(session, cid) == "bot"
    rows = outbox_rows(service, cid)
    assert (f"agent:{jan_id}", "Goedemorgen Anna") in rows
    texts = [text for author, text in rows if author == "system"]
    assert "U spreekt nu met Jan van de gemeente." in texts
    assert "Uw vraag is doorgezet naar een collega. U spreekt nu met Piet van de gemeente." in texts
    assert texts[-1].startswith("De medewerker heeft het gesprek afgesloten.")


def test_reply_outside_the_24_hour_window_is_refused(service, admin):
    jan_id, jan = new_agent(service, admin)
    cid = service.queued_chat(at=datetime.now(timezone.utc) - timedelta(hours=25))
    with service.client(jan) as client:
        [item] = [i for i in client.get("/api/queue").json() if i["conversation_id"] == cid]
        assert item["window_left_s"] < 0
        assert client.post(f"/api/conversations/{cid}/claim").status_code == 200
        response = client.post(f"/api/conversations/{cid}/reply", json={"text": "Hallo"})
    assert response.status_code == 409 and response.json()["error"] == "window_closed"
    assert "24-uursvenster" in response.json()["message"]
    assert not [a for a, _ in outbox_rows(service, cid) if a.startswith("agent:")]


def test_pickup_of_a_bot_conversation(service, admin):
    _, jan = new_agent(service, admin, name="Jan")
    with service.sessions() as session:
        from handover_factories import make_conversation
        cid = make_conversation(session, at=datetime.now(timezone.utc), text="Wat kost een paspoort?").id
        session.commit()
    with service.client(jan) as client:
        listed = [c["conversation_id"] for c in client.get("/api/bot-conversations").json()]
        assert cid in listed
        assert client.post(f"/api/conversations/{cid}/pickup").json()["state"] == "assigned"
        assert cid not in [c["conversation_id"] for c in client.get("/api/bot-conversations").json()]


def test_roles(service, admin):
    _, agent = new_agent(service, admin)
    _, boss = new_agent(service, admin, role="supervisor", name="Baas")
    with service.client(agent) as client:
        assert client.post("/api/canned", json={"title": "Groet", "body": "Hallo"}).status_code == 403
        assert client.get("/api/audit").status_code == 403
        assert client.post("/api/agents", json={"username": "nieuw", "name": "N"}).status_code == 403
    with service.client(boss) as client:
        created = client.post("/api/canned", json={"title": "Groet", "body": "Goedemorgen!"})
        assert created.status_code == 201
        canned_id = created.json()["id"]
        assert client.put(f"/api/canned/{canned_id}", json={"title": "Groet", "body": "Dag!"}).json()["body"] == "Dag!"
        audit = client.get("/api/audit").json()
        assert {"canned_create", "canned_update", "login"} <= {e["action"] for e in audit}
        assert client.post("/api/agents", json={"username": "nieuw", "name": "N"}).status_code == 403
    with service.client(agent) as client:
        assert any(c["id"] == canned_id for c in client.get("/api/canned").json())
    with service.client(boss) as client:
        assert client.delete(f"/api/canned/{canned_id}").status_code == 204
        assert client.delete(f"/api/canned/{canned_id}").status_code == 404


def test_disabling_an_agent_ends_their_session(service, admin):
    agent_id, agent = new_agent(service, admin)
    with service.client(admin) as client:
        response = client.patch(f"/api/agents/{agent_id}", json={"active": False})
        assert response.status_code == 200 and response.json()["active"] is False
        me = client.get("/api/me").json()
        assert client.patch(f"/api/agents/{me['id']}", json={"active": False}).status_code == 400
    with service.client(agent) as client:
        assert client.get("/api/me").status_code == 401


def test_logout_ends_the_session_and_clears_the_cookie(service, admin):
    _, agent = new_agent(service, admin)
    with service.client(agent) as client:
        response = client.post("/api/logout")
        assert response.status_code == 204
        assert client.get("/api/me").status_code == 401


def _claimed_chat(service, token):
    cid = service.queued_chat()
    with service.client(token) as client:
        assert client.post(f"/api/conversations/{cid}/claim").status_code == 200
    return cid


def _state(service, cid):
    with service.sessions() as session:
        return core.current_state(session, cid)


def test_logging_out_of_the_last_session_puts_the_agents_chats_back_in_the_queue(service, admin):
    with service.client(admin) as client:
        created = client.post("/api/agents", json={"username": "twotabs", "name": "Sanne Bos"}).json()
    first_tab, second_tab = (service.login("twotabs", created["password"]) for _ in range(2))
    cid = _claimed_chat(service, first_tab)
    system_before = [t for author, t in outbox_rows(service, cid) if author == "system"]

    with service.client(first_tab) as client:
        assert client.post("/api/logout").status_code == 204
    assert _state(service, cid) == "assigned"        # still signed in on the other tab
    with service.client(second_tab) as client:
        assert client.post("/api/logout").status_code == 204
    assert _state(service, cid) == "queued"
    system_after = [t for author, t in outbox_rows(service, cid) if author == "system"]
    assert len(system_after) == len(system_before) + 1     # the citizen hears they wait again
    _, colleague = new_agent(service, admin, name="Piet Jansen")
    with service.client(colleague) as client:
        assert client.post(f"/api/conversations/{cid}/claim").status_code == 200


def test_disabling_an_agent_puts_their_chats_back_in_the_queue(service, admin):
    agent_id, agent = new_agent(service, admin)
    cid = _claimed_chat(service, agent)
    with service.client(admin) as client:
        assert client.patch(f"/api/agents/{agent_id}", json={"active": False}).status_code == 200
        view = client.get(f"/api/conversations/{cid}").json()
    assert (view["state"], view["agent_id"]) == ("queued", None)


def test_cross_site_writes_are_refused(service, admin):
    with service.client(admin) as client:
        response = client.post("/api/canned", json={"title": "x", "body": "y"},
                               headers={"Origin": "https://evil.example"})
        assert response.status_code == 403
        same = client.post("/api/conversations/999999/claim", headers={"Origin": service.url})
        assert same.status_code == 404


def test_login_sets_an_httponly_cookie(service, admin):
    with service.client() as client:
        response = client.post("/api/login", json={"username": "admin", "password": service.admin_password})
        cookie = response.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
        assert client.get("/api/me").json()["username"] == "admin"     # the cookie alone works


def test_live_updates_announce_new_queued_chats(service, admin):
    events = []

    def listen():
        with service.client(admin) as client, client.stream("GET", "/api/events", timeout=20) as stream:
            for line in stream.iter_lines():
                if line.startswith("event:"):
                    events.append(line.split(":", 1)[1].strip())
                if events.count("change") >= 1:
                    return

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    deadline = time.monotonic() + 5
    while "hello" not in events and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "hello" in events
    cid = service.queued_chat(name="Live")
    listener.join(timeout=10)
    assert "change" in events
    with service.sessions() as session:       # a citizen message while queued also counts
        add_inbound(session, cid, "Nog iemand daar?", datetime.now(timezone.utc))
        session.commit()


def test_simultaneous_http_claims_have_one_winner(service, admin):
    agents = [new_agent(service, admin, name=f"Agent {n}")[1] for n in range(2)]
    for _ in range(10):
        cid = service.queued_chat()
        statuses = []
        barrier = threading.Barrier(2)

        def claim(token):
            with service.client(token) as client:
                barrier.wait()
                statuses.append(client.post(f"/api/conversations/{cid}/claim").status_code)

        threads = [threading.Thread(target=claim, args=(token,)) for token in agents]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(statuses) == [200, 409]
        greetings = [t for a, t in outbox_rows(service, cid) if t.startswith("U spreekt nu met")]
        assert len(greetings) == 1


def test_service_survives_everything_above(service):
    assert service.process.poll() is None
    assert "Traceback" not in service.log.read_text()
    assert httpx.get(f"{service.url}/api/health").json() == {"status": "ok"}
