"""Smoke test of the phone page in a real browser (skipped when Chromium or Playwright is missing)."""

import os
import shutil

import httpx
import pytest
from sim_settings import ACCESS_TOKEN, PHONE_NUMBER_ID

CHROMIUM = os.environ.get("BALIE_CHROMIUM", "/usr/bin/chromium")
sync_api = pytest.importorskip("playwright.sync_api")
if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
    pytest.skip(f"Chromium not found at {CHROMIUM}", allow_module_level=True)

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
CITIZEN = "31600000001"


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1100, "height": 900}, locale="nl-NL")
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert errors == []


def fake_bot(simulator_url):
    """Answers like the bot would: a read mark with typing, then buttons, a list, or a formatted text."""

    def answer(request):
        value = request.json()["entry"][0]["changes"][0]["value"]
        if "messages" not in value:
            return
        message = value["messages"][0]
        to = message["from"]
        base = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to}
        with httpx.Client(
            base_url=f"{simulator_url}/v24.0/{PHONE_NUMBER_ID}", headers={"Authorization": f"Bearer {ACCESS_TOKEN}"}
        ) as api:
            api.post(
                "/messages",
                json={"messaging_product": "whatsapp", "status": "read", "message_id": message["id"], "typing_indicator": {"type": "text"}},
            )
            if message["type"] == "text":
                buttons = [{"type": "reply", "reply": {"id": i, "title": t}} for i, t in (("paspoort", "Paspoort"), ("afval", "Afval"))]
                api.post("/messages", json={**base, "type": "interactive", "interactive": {
                    "type": "button", "body": {"text": "Waar gaat uw vraag over?"}, "action": {"buttons": buttons}}})
            elif message["interactive"]["type"] == "button_reply":
                api.post("/messages", json={**base, "type": "interactive", "interactive": {
                    "type": "list", "body": {"text": "Kies een *onderwerp*"},
                    "action": {"button": "Kies", "sections": [{"title": "Reisdocumenten", "rows": [
                        {"id": "paspoort-aanvragen", "title": "Paspoort aanvragen", "description": "Afspraak en kosten"},
                        {"id": "id-kaart", "title": "ID-kaart"}]}]}}})
            else:
                api.post("/messages", json={**base, "type": "text", "text": {
                    "body": "Maak eerst een *afspraak*, _daarna_ langskomen: https://www.example.nl/paspoort"}})

    return answer


def test_citizen_chats_and_clicks(sim, simulator_url, webhook_receiver, page, tmp_path):
    webhook_receiver.on_post = fake_bot(simulator_url)
    page.goto(f"{simulator_url}/?wa_id={CITIZEN}")
    expect = sync_api.expect
    expect(page.locator("#business-name")).to_have_text("Gemeente Voorbeeldstad (demo)")
    expect(page.get_by_test_id("wa-id")).to_have_value(CITIZEN)

    page.get_by_test_id("text").fill("Ik wil een paspoort")
    page.get_by_test_id("text").press("Enter")
    expect(page.get_by_test_id("msg-in").first).to_contain_text("Ik wil een paspoort")
    # the bot's read mark turns the ticks blue
    expect(page.get_by_test_id("msg-in").first).to_have_attribute("data-state", "read")

    button = page.get_by_test_id("reply-button").filter(has_text="Paspoort")
    expect(button).to_be_visible()
    button.click()
    posts = webhook_receiver.wait(2)
    reply = posts[1].json()["entry"][0]["changes"][0]["value"]["messages"][0]
    assert reply["interactive"]["button_reply"] == {"id": "paspoort", "title": "Paspoort"}
    assert reply["context"]["id"] == sim.messages(CITIZEN)[0]["wamid"]

    page.get_by_test_id("list-button").click()
    expect(page.get_by_test_id("list-sheet")).to_be_visible()
    page.get_by_test_id("list-row").filter(has_text="Paspoort aanvragen").click()
    page.get_by_role("button", name="Verzenden").click()
    posts = webhook_receiver.wait(3)
    reply = posts[2].json()["entry"][0]["changes"][0]["value"]["messages"][0]
    assert reply["interactive"]["list_reply"]["id"] == "paspoort-aanvragen"

    last = page.get_by_test_id("msg-out").last
    expect(last.locator("strong")).to_have_text("afspraak")
    expect(last.locator("em")).to_have_text("daarna")
    expect(last.locator("a")).to_have_attribute("href", "https://www.example.nl/paspoort")
    page.screenshot(path=str(tmp_path / "phone.png"))


def test_failed_webhook_shows_a_notice(sim, webhook_receiver, simulator_url, page):
    webhook_receiver.status = 500
    page.goto(f"{simulator_url}/?wa_id=31600000002")
    page.get_by_test_id("text").fill("Hallo")
    page.get_by_test_id("send").click()
    sync_api.expect(page.get_by_test_id("notice")).to_contain_text("HTTP 500")
    sync_api.expect(page.get_by_test_id("msg-in")).to_have_attribute("data-state", "failed")


def test_typing_indicator(sim, webhook_receiver, simulator_url, page):
    def typing_only(request):
        message = request.json()["entry"][0]["changes"][0]["value"]["messages"][0]
        httpx.post(
            f"{simulator_url}/v24.0/{PHONE_NUMBER_ID}/messages",
            headers={"Authorization": f"Bearer {ACCESS_TOKEN}"},
            json={"messaging_product": "whatsapp", "status": "read", "message_id": message["id"], "typing_indicator": {"type": "text"}},
        )

    webhook_receiver.on_post = typing_only
    page.goto(f"{simulator_url}/?wa_id=31600000003")
    page.get_by_test_id("text").fill("Hallo")
    page.get_by_test_id("text").press("Enter")
    sync_api.expect(page.get_by_test_id("typing")).to_be_visible()
    sync_api.expect(page.get_by_test_id("header-sub")).to_have_text("typt…")
