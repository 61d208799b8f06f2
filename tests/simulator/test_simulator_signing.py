"""Pure parts of the simulator: webhook payloads, their signature, Meta's validation and errors."""

import json

import pytest

from simulator import graph, signing


def test_golden_signature():
    # computed independently: printf '%s' BODY | openssl dgst -sha256 -hmac geheim
    body = b'{"object":"whatsapp_business_account","entry":[]}'
    expected = "sha256=c2617041eaf37b5b0c9069ea38e34cb313401fab6c5eea6b0f45be4da706ddd7"
    assert signing.sign(body, "geheim") == expected
    assert signing.verify(body, expected, "geheim")
    assert not signing.verify(body + b" ", expected, "geheim")
    assert not signing.verify(body, None, "geheim")


def test_text_webhook_has_metas_shape():
    payload = signing.build_text_webhook(
        "31612345678", "Hoe laat is het gemeentehuis open?", "wamid.ABC", "Jan", timestamp=1700000000
    )
    assert payload == {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": signing.DEFAULT_WABA_ID,
                "changes": [
                    {
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": signing.DEFAULT_DISPLAY_PHONE_NUMBER,
                                "phone_number_id": signing.DEFAULT_PHONE_NUMBER_ID,
                            },
                            "contacts": [{"profile": {"name": "Jan"}, "wa_id": "31612345678"}],
                            "messages": [
                                {
                                    "from": "31612345678",
                                    "id": "wamid.ABC",
                                    "timestamp": "1700000000",
                                    "text": {"body": "Hoe laat is het gemeentehuis open?"},
                                    "type": "text",
                                }
                            ],
                        },
                        "field": "messages",
                    }
                ],
            }
        ],
    }


def test_button_and_list_replies_have_metas_shape():
    button = signing.build_button_reply_webhook("31612345678", "yes", "Ja", "wamid.B", context_id="wamid.Q")
    message = button["entry"][0]["changes"][0]["value"]["messages"][0]
    assert message["type"] == "interactive"
    assert message["interactive"] == {"type": "button_reply", "button_reply": {"id": "yes", "title": "Ja"}}
    assert message["context"] == {"from": signing.DEFAULT_DISPLAY_PHONE_NUMBER, "id": "wamid.Q"}

    listed = signing.build_list_reply_webhook("31612345678", "afval", "Afval", description="Container, grofvuil")
    message = listed["entry"][0]["changes"][0]["value"]["messages"][0]
    assert message["interactive"] == {
        "type": "list_reply",
        "list_reply": {"id": "afval", "title": "Afval", "description": "Container, grofvuil"},
    }
    assert message["id"].startswith("wamid.") and "context" not in message


@pytest.mark.parametrize("status", ["sent", "delivered", "read", "failed"])
def test_status_webhook(status):
    payload = signing.build_status_webhook("31612345678", "wamid.X", status, error_code=131047)
    value = payload["entry"][0]["changes"][0]["value"]
    [entry] = value["statuses"]
    assert (entry["id"], entry["status"], entry["recipient_id"]) == ("wamid.X", status, "31612345678")
    assert "messages" not in value
    if status == "failed":
        assert entry["errors"][0]["code"] == 131047
    else:
        assert "errors" not in entry


def test_encoding_is_compact_and_keeps_unicode():
    body = signing.encode(signing.build_text_webhook("31612345678", "Café ☕", "wamid.A", timestamp=1))
    assert b", " not in body and b'": ' not in body
    assert "Café ☕".encode() in body
    assert json.loads(body)["entry"][0]["changes"][0]["value"]["messages"][0]["text"]["body"] == "Café ☕"


def _button(title, reply_id="a"):
    return {"type": "reply", "reply": {"id": reply_id, "title": title}}


def _interactive(kind, **parts):
    return {"messaging_product": "whatsapp", "to": "31612345678", "type": "interactive", "interactive": {"type": kind, **parts}}


def _rows(n):
    return [{"id": f"r{i}", "title": f"Rij {i}"} for i in range(n)]


VALID = [
    ({"messaging_product": "whatsapp", "to": "+31 6 1234 5678", "type": "text", "text": {"body": "x" * 4096}}, "text"),
    ({"messaging_product": "whatsapp", "to": "31612345678", "text": {"body": "type defaults to text"}}, "text"),
    (_interactive("button", body={"text": "Kies"}, action={"buttons": [_button("x" * 20, "a"), _button("B", "b"), _button("C", "c")]}), "interactive"),
    (_interactive("list", body={"text": "Kies"}, action={"button": "Kies", "sections": [{"title": "S", "rows": _rows(10)}]}), "interactive"),
    ({"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.X", "typing_indicator": {"type": "text"}}, "read"),
    ({"messaging_product": "whatsapp", "to": "31612345678", "type": "template", "template": {"name": "hallo", "language": {"code": "nl"}}}, "template"),
]


@pytest.mark.parametrize("payload,kind", VALID)
def test_validate_accepts(payload, kind):
    assert graph.validate_send(payload) == kind


INVALID = [
    ({"to": "31612345678", "type": "text", "text": {"body": "x"}}, "messaging_product"),
    ({"messaging_product": "whatsapp", "type": "text", "text": {"body": "x"}}, "to"),
    ({"messaging_product": "whatsapp", "to": "31612345678", "type": "text", "text": {"body": "x" * 4097}}, "Max length: 4096"),
    ({"messaging_product": "whatsapp", "to": "31612345678", "type": "text", "text": {"body": ""}}, "required"),
    (_interactive("button", body={"text": "Kies"}, action={"buttons": [_button("x" * 21)]}), "Button title length invalid"),
    (_interactive("button", body={"text": "Kies"}, action={"buttons": [_button(str(i), str(i)) for i in range(4)]}), "Too many buttons"),
    (_interactive("button", body={"text": "Kies"}, action={"buttons": [_button("A", "a"), _button("A", "b")]}), "unique"),
    (_interactive("button", action={"buttons": [_button("A")]}), "Body text"),
    (_interactive("list", body={"text": "Kies"}, action={"button": "Kies", "sections": [{"title": "S", "rows": _rows(11)}]}), "Too many rows"),
    (_interactive("list", body={"text": "Kies"}, action={"button": "Kies", "sections": [{"title": "S", "rows": [{"id": "a", "title": "x" * 25}]}]}), "Row title"),
    (_interactive("list", body={"text": "Kies"}, action={"button": "x" * 21, "sections": [{"rows": _rows(1)}]}), "Button label"),
    ({"messaging_product": "whatsapp", "status": "read"}, "message_id"),
]


@pytest.mark.parametrize("payload,reason", INVALID)
def test_validate_rejects_like_meta(payload, reason):
    with pytest.raises(graph.GraphError) as caught:
        graph.validate_send(payload)
    assert caught.value.status == 400
    error = caught.value.body["error"]
    assert error["code"] == 100 and error["type"] == "OAuthException"
    assert error["message"] == "(#100) Invalid parameter"
    assert reason in error["error_data"]["details"]


def test_unsupported_type():
    with pytest.raises(graph.GraphError) as caught:
        graph.validate_send({"messaging_product": "whatsapp", "to": "31612345678", "type": "hologram"})
    assert caught.value.body["error"]["code"] == 131051


@pytest.mark.parametrize(
    "status,code,expected",
    [
        (None, None, (500, 131000)),
        (500, None, (500, 131000)),
        (429, None, (429, 130429)),
        (None, 131047, (400, 131047)),
        (None, 130429, (429, 130429)),
        (None, 131026, (400, 131026)),
        (503, 131047, (503, 131047)),
    ],
)
def test_status_and_code(status, code, expected):
    assert graph.status_and_code(status, code) == expected


def test_error_body_shape():
    body = graph.error_body(131047)
    assert set(body) == {"error"}
    error = body["error"]
    assert error["message"] == "(#131047) Re-engagement message"
    assert error["type"] == "OAuthException"
    assert error["code"] == 131047
    assert error["error_data"]["messaging_product"] == "whatsapp"
    assert "24 hours" in error["error_data"]["details"]
    assert error["fbtrace_id"]
