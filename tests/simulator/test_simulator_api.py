"""The simulator as a real process: signed webhooks out, fake Graph API in, failure scripting."""

import hashlib
import hmac
import json
import socket
import time

import httpx
import pytest
from sim_settings import ACCESS_TOKEN, APP_SECRET, PHONE_NUMBER_ID, WEBHOOK_PATH

CITIZEN = "31612345678"
OTHER = "31687654321"


def _expected_signature(body: bytes) -> str:
    # independent of simulator.signing on purpose
    return "sha256=" + hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()


def _text(to=CITIZEN, body="Hallo"):
    return {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to, "type": "text", "text": {"body": body}}


def _meta_error(response, status, code):
    assert response.status_code == status
    data = response.json()
    assert set(data) == {"error"}
    error = data["error"]
    assert error["code"] == code
    assert error["type"] == "OAuthException"
    assert error["message"].startswith(f"(#{code})") or code in (190, 2500) or "Unsupported post request" in error["message"]
    assert error["fbtrace_id"]
    return error


# -- webhooks to the bot -----------------------------------------------------------------


def test_text_webhook_is_signed_like_meta(sim, webhook_receiver):
    result = sim.send_text(CITIZEN, "Wanneer wordt het grofvuil opgehaald?", profile_name="Jan")
    assert result["webhook"] == {"ok": True, "status": 200, "error": None}

    [request] = webhook_receiver.wait(1)
    assert request.path == WEBHOOK_PATH
    assert request.headers["content-type"] == "application/json"
    assert request.headers["x-hub-signature-256"] == _expected_signature(request.body)
    assert b": " not in request.body  # compact, as signed

    payload = request.json()
    assert payload["object"] == "whatsapp_business_account"
    [change] = payload["entry"][0]["changes"]
    assert change["field"] == "messages"
    value = change["value"]
    assert value["metadata"]["phone_number_id"] == PHONE_NUMBER_ID
    assert value["contacts"] == [{"profile": {"name": "Jan"}, "wa_id": CITIZEN}]
    [message] = value["messages"]
    assert message["from"] == CITIZEN
    assert message["id"] == result["wamid"]
    assert message["type"] == "text"
    assert message["text"] == {"body": "Wanneer wordt het grofvuil opgehaald?"}
    assert abs(int(message["timestamp"]) - time.time()) < 60


@pytest.mark.parametrize("kind,interactive_type", [("button", "button_reply"), ("list", "list_reply")])
def test_click_sends_signed_reply_webhook(sim, webhook_receiver, kind, interactive_type):
    result = sim.click(CITIZEN, "paspoort", "Paspoort", kind=kind, context_id="wamid.ORIGINAL")
    assert result["webhook"]["ok"]
    [request] = webhook_receiver.wait(1)
    assert request.headers["x-hub-signature-256"] == _expected_signature(request.body)
    message = request.json()["entry"][0]["changes"][0]["value"]["messages"][0]
    assert message["type"] == "interactive"
    assert message["interactive"] == {"type": interactive_type, interactive_type: {"id": "paspoort", "title": "Paspoort"}}
    assert message["context"]["id"] == "wamid.ORIGINAL"


def test_webhook_error_status_is_reported_not_raised(sim, webhook_receiver):
    webhook_receiver.status = 500
    result = sim.send_text(CITIZEN, "Hallo")
    assert result["webhook"] == {"ok": False, "status": 500, "error": "HTTP 500"}
    [event] = sim.events(CITIZEN)
    assert event["kind"] == "in" and event["webhook"]["status"] == 500


def test_unreachable_bot_is_reported(sim):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    sim.set_webhook_url(f"http://127.0.0.1:{closed_port}{WEBHOOK_PATH}")
    result = sim.send_text(CITIZEN, "Hallo")
    assert result["webhook"]["ok"] is False and result["webhook"]["status"] is None


def test_status_webhook_for_a_sent_message(sim, graph, webhook_receiver):
    wamid = graph.post("/messages", json=_text()).json()["messages"][0]["id"]
    assert sim.send_status(wamid, "failed", code=131047)["webhook"]["ok"]
    [request] = webhook_receiver.wait(1)
    assert request.headers["x-hub-signature-256"] == _expected_signature(request.body)
    [status] = request.json()["entry"][0]["changes"][0]["value"]["statuses"]
    assert (status["id"], status["status"], status["recipient_id"]) == (wamid, "failed", CITIZEN)
    assert status["errors"][0]["code"] == 131047


@pytest.mark.parametrize("mode", ["invalid", "missing"])
def test_raw_webhook_with_bad_signature(sim, webhook_receiver, mode):
    sim.post_webhook({"object": "whatsapp_business_account", "entry": []}, signature=mode)
    [request] = webhook_receiver.wait(1)
    assert request.body == b'{"object":"whatsapp_business_account","entry":[]}'
    header = request.headers.get("x-hub-signature-256")
    assert header is None if mode == "missing" else header != _expected_signature(request.body)


def test_verification_handshake(sim):
    assert sim.verify()["ok"] is True
    assert sim.verify("wrong-token")["ok"] is False


def test_bad_control_input_is_a_400(sim, simulator_url):
    response = httpx.post(f"{simulator_url}/_sim/send", json={"wa_id": "abc", "text": "x"})
    assert response.status_code == 400 and "wa_id" in response.json()["error"]
    response = httpx.post(f"{simulator_url}/_sim/fail", json={"count": -1})
    assert response.status_code == 400


# -- the fake Graph API ------------------------------------------------------------------


def test_send_is_answered_and_recorded(sim, graph):
    before = time.time()
    response = graph.post("/messages", json=_text(to="+31 6 1234 5678", body="*Welkom*"))
    assert response.status_code == 200
    data = response.json()
    assert data["messaging_product"] == "whatsapp"
    assert data["contacts"] == [{"input": "+31 6 1234 5678", "wa_id": CITIZEN}]
    [sent] = data["messages"]
    assert sent["id"].startswith("wamid.")

    graph.post("/messages", json=_text(to=OTHER))
    [message] = sim.messages(CITIZEN)
    assert message["wamid"] == sent["id"]
    assert message["type"] == "text" and message["text"] == "*Welkom*"
    assert message["payload"]["text"] == {"body": "*Welkom*"}
    assert before <= message["received_at"] <= time.time()
    assert isinstance(message["received_monotonic"], float)
    assert len(sim.messages()) == 2
    assert sim.messages(since=message["seq"])[0]["wa_id"] == OTHER
    assert sim.reads() == []


def test_interactive_messages_are_recorded(sim, graph):
    buttons = {
        "type": "button",
        "body": {"text": "Heeft dit antwoord u geholpen?"},
        "action": {"buttons": [{"type": "reply", "reply": {"id": "ja", "title": "Ja"}}, {"type": "reply", "reply": {"id": "nee", "title": "Nee"}}]},
    }
    response = graph.post("/messages", json={"messaging_product": "whatsapp", "to": CITIZEN, "type": "interactive", "interactive": buttons})
    assert response.status_code == 200
    [message] = sim.wait_for(CITIZEN, 1, timeout=2)
    assert message["type"] == "interactive" and message["text"] == "Heeft dit antwoord u geholpen?"
    assert message["payload"]["interactive"] == buttons


def test_mark_as_read_is_recorded_separately(sim, graph):
    wamid = sim.send_text(CITIZEN, "Hallo")["wamid"]
    read = {"messaging_product": "whatsapp", "status": "read", "message_id": wamid, "typing_indicator": {"type": "text"}}
    response = graph.post("/messages", json=read)
    assert response.status_code == 200 and response.json() == {"success": True}
    [mark] = sim.reads(CITIZEN)
    assert mark["message_id"] == wamid and mark["typing"] is True and mark["wa_id"] == CITIZEN
    assert sim.messages() == []


def test_token_and_phone_number_id_are_checked(sim, simulator_url):
    url = f"{simulator_url}/v24.0/{PHONE_NUMBER_ID}/messages"
    _meta_error(httpx.post(url, json=_text()), 401, 2500)
    _meta_error(httpx.post(url, json=_text(), headers={"Authorization": "Bearer nope"}), 401, 190)
    wrong_id = f"{simulator_url}/v24.0/999/messages"
    error = _meta_error(httpx.post(wrong_id, json=_text(), headers={"Authorization": f"Bearer {ACCESS_TOKEN}"}), 400, 100)
    assert error["error_subcode"] == 33
    assert sim.messages() == []


@pytest.mark.parametrize(
    "payload,details",
    [
        ({**_text(), "text": {"body": "x" * 4097}}, "Max length: 4096"),
        (
            {"messaging_product": "whatsapp", "to": CITIZEN, "type": "interactive", "interactive": {
                "type": "button", "body": {"text": "Kies"},
                "action": {"buttons": [{"type": "reply", "reply": {"id": "a", "title": "Een veel te lange knoptekst"}}]}}},
            "Button title length invalid",
        ),
        (
            {"messaging_product": "whatsapp", "to": CITIZEN, "type": "interactive", "interactive": {
                "type": "list", "body": {"text": "Kies"},
                "action": {"button": "Kies", "sections": [{"title": "S", "rows": [{"id": str(i), "title": str(i)} for i in range(11)]}]}}},
            "Too many rows",
        ),
    ],
)
def test_invalid_messages_get_metas_invalid_parameter(sim, graph, payload, details):
    error = _meta_error(graph.post("/messages", json=payload), 400, 100)
    assert error["message"] == "(#100) Invalid parameter"
    assert details in error["error_data"]["details"]
    assert sim.messages() == []


def test_malformed_json_is_invalid_parameter(sim, graph):
    _meta_error(graph.post("/messages", content=b"{nope", headers={"Content-Type": "application/json"}), 400, 100)


# -- failure scripting -------------------------------------------------------------------


def test_fail_next_counts_down(sim, graph):
    sim.fail_next(2, status=500)
    for _ in range(2):
        error = _meta_error(graph.post("/messages", json=_text()), 500, 131000)
        assert error["error_data"]["messaging_product"] == "whatsapp"
    assert graph.post("/messages", json=_text()).status_code == 200
    assert [a["status"] for a in sim.attempts()] == [500, 500, 200]
    assert len(sim.messages()) == 1


@pytest.mark.parametrize(
    "status,code,expected_status",
    [(None, 131047, 400), (None, 130429, 429), (None, 131026, 400), (429, None, 429), (503, 131000, 503)],
)
def test_fail_with_meta_codes(sim, graph, status, code, expected_status):
    sim.fail_next(1, status=status, code=code)
    error = _meta_error(graph.post("/messages", json=_text()), expected_status, code or 130429)
    assert error["error_data"]["details"]
    assert graph.post("/messages", json=_text()).status_code == 200


def test_fail_with_retry_after(sim, graph):
    sim.fail_next(1, code=130429, retry_after=3)
    response = graph.post("/messages", json=_text())
    _meta_error(response, 429, 130429)
    assert response.headers["retry-after"] == "3"


def test_fail_only_for_one_wa_id(sim, graph):
    sim.fail_next(1, code=131047, wa_id=OTHER)
    assert graph.post("/messages", json=_text(to=CITIZEN)).status_code == 200
    _meta_error(graph.post("/messages", json=_text(to=OTHER)), 400, 131047)
    assert graph.post("/messages", json=_text(to=OTHER)).status_code == 200


def test_read_marks_do_not_use_up_message_failures(sim, graph):
    sim.fail_next(1)
    read = {"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.UNKNOWN"}
    assert graph.post("/messages", json=read).status_code == 200
    assert graph.post("/messages", json=_text()).status_code == 500


def test_fail_with_delay_looks_like_a_timeout(sim, graph):
    sim.fail_next(1, status=500, delay_s=1.0)
    with pytest.raises(httpx.ReadTimeout):
        graph.post("/messages", json=_text(), timeout=0.3)
    assert graph.post("/messages", json=_text()).status_code == 200
    time.sleep(0.9)  # the failed call is answered (and recorded) only after its delay
    assert sorted(a["status"] for a in sim.attempts()) == [200, 500]


def test_slow_api_still_succeeds(sim, graph):
    sim.slow(0.5, count=1)
    start = time.monotonic()
    assert graph.post("/messages", json=_text()).status_code == 200
    assert time.monotonic() - start >= 0.5
    start = time.monotonic()
    assert graph.post("/messages", json=_text()).status_code == 200
    assert time.monotonic() - start < 0.4
    assert len(sim.messages()) == 2


def test_reset_forgets_everything(sim, graph):
    sim.fail_next(5)
    sim.send_text(CITIZEN, "Hallo")
    sim.reset()
    assert sim.events() == [] and sim.attempts() == []
    assert graph.post("/messages", json=_text()).status_code == 200


def test_wait_for_times_out_with_a_clear_message(sim):
    with pytest.raises(TimeoutError, match="expected 1 message"):
        sim.wait_for(CITIZEN, 1, timeout=0.2)


def test_fake_bot_round_trip(sim, webhook_receiver, simulator_url):
    """The simulator as the tests of the bot use it: citizen -> webhook -> bot -> Graph API -> recorded."""

    def bot(request):
        message = request.json()["entry"][0]["changes"][0]["value"]["messages"][0]
        with httpx.Client(base_url=f"{simulator_url}/v24.0/{PHONE_NUMBER_ID}", headers={"Authorization": f"Bearer {ACCESS_TOKEN}"}) as api:
            api.post("/messages", json={"messaging_product": "whatsapp", "status": "read", "message_id": message["id"]})
            api.post("/messages", json=_text(to=message["from"], body="U zei: " + message["text"]["body"]))

    webhook_receiver.on_post = bot
    since = sim.seq()
    sim.send_text(CITIZEN, "Hallo")
    [reply] = sim.wait_for(CITIZEN, 1, since=since)
    assert reply["text"] == "U zei: Hallo"
    assert [e["kind"] for e in sim.events(CITIZEN)] == ["in", "read", "out"]
    assert json.loads(webhook_receiver.posts()[0].body)["object"] == "whatsapp_business_account"
