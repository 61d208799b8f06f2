"""Human handover end to end, in two real browser pages (headless Chromium, Playwright).

The whole product runs (``stack``: Rasa with the WhatsApp channel, action
server, simulator with the fake Graph API, handover service). A citizen uses
the simulator's phone page, an agent uses the console; both are driven only
through their UI (typing, clicking, keyboard shortcuts):

1. the citizen asks for a person; the bot hands over and the citizen is queued
   (place in the queue, or the office-hours notice outside office hours);
2. the agent logs in, sees the chat in the queue, opens it and claims it (O);
   the citizen reads "U spreekt nu met Sanne van de gemeente.";
3. the agent replies (Ctrl+Enter); the reply reaches the phone;
4. the citizen answers; it shows up live in the console and the bot stays
   silent (screenshot of the console: tests/artifacts/e2e-console.png);
5. the agent closes the chat (A, Enter); the citizen gets the closing message;
6. the citizen's next question is answered by the bot again, which the agent
   also sees (screenshot of the phone: tests/artifacts/e2e-citizen.png).
"""
from __future__ import annotations

import os
import random
import re
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from bot.db.models import InboundMessage

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]
WAIT_MS = 30_000            # every message goes through the real Rasa server
AGENT_NAME = "Sanne de Vries"
CITIZEN_NAME = "Fatima Yilmaz"

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(),
                                reason="Chromium is not installed (make test installs it)")


# ------------------------------------------------------------------ helpers

def add_agent(stack, username: str) -> str:
    """``balie agents add`` against the stack's database; returns the printed password."""
    done = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "balie"), "agents", "add", username,
         "--name", AGENT_NAME, "--role", "agent"],
        cwd=ROOT, env={**os.environ, "BALIE_DATABASE_URL": stack.db_url},
        capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    found = re.search(r"getoond\):\s*(\S+)\s*$", done.stdout)
    assert found, f"no password in the CLI output: {done.stdout!r}"
    return found.group(1)


def masked(wa_id: str) -> str:
    """How the console shows a number (handover.views.mask_phone)."""
    return f"+{wa_id[:3]}{'•' * (len(wa_id) - 6)}{wa_id[-3:]}"


def routed_to(stack, wamid: str, timeout_s: float = 30) -> str:
    """Wait until the channel processed the citizen message; return where it went."""
    engine = create_engine(stack.db_url)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            with engine.connect() as conn:
                row = conn.execute(select(InboundMessage.state, InboundMessage.routed_to)
                                   .where(InboundMessage.wamid == wamid)).first()
            if row is not None and row.state != "pending":
                return row.routed_to
            if time.monotonic() > deadline:
                pytest.fail(f"message {wamid} not processed within {timeout_s} s (row: {row})")
            time.sleep(0.2)
    finally:
        engine.dispose()


def citizen_says(phone, text: str) -> str:
    """Type a message on the phone page and send it with Enter; returns its wamid."""
    from playwright.sync_api import expect

    box = phone.get_by_test_id("text")
    box.click()
    box.press_sequentially(text, delay=10)
    box.press("Enter")
    bubble = phone.get_by_test_id("msg-in").last
    expect(bubble).to_contain_text(text)
    expect(bubble).to_have_attribute("data-state", re.compile("delivered|read"), timeout=WAIT_MS)
    return bubble.get_attribute("data-wamid")


# ------------------------------------------------------------------ the test

def test_citizen_agent_handover_and_back_to_the_bot(stack, artifacts):
    from playwright.sync_api import expect, sync_playwright

    wa_id = f"3169{random.randint(0, 10**7 - 1):07d}"
    username = f"sanne{random.randint(1000, 9999)}"
    password = add_agent(stack, username)
    errors: list[str] = []

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            where = {"locale": "nl-NL", "timezone_id": "Europe/Amsterdam"}
            phone = browser.new_context(viewport={"width": 1100, "height": 900}, **where).new_page()
            console = browser.new_context(viewport={"width": 1440, "height": 900}, **where).new_page()
            for page in (phone, console):
                page.set_default_timeout(WAIT_MS)
                page.on("pageerror", lambda exc: errors.append(str(exc)))
            sent = phone.get_by_test_id("msg-out")

            # 1. The citizen asks for a person and is queued.
            phone.goto(f"{stack.simulator_url}/?wa_id={wa_id}")
            expect(phone.get_by_test_id("wa-id")).to_have_value(wa_id)
            phone.fill("#profile-name", CITIZEN_NAME)
            citizen_says(phone, "kan ik een medewerker spreken")
            expect(sent.filter(has_text="Ik zet u door naar een medewerker")).to_have_count(1, timeout=WAIT_MS)
            queued = sent.filter(has_text="Ik zet uw vraag door naar een medewerker van de gemeente")
            expect(queued).to_have_count(1, timeout=WAIT_MS)
            # in office hours the place in the queue, outside them when we open again
            expect(queued).to_contain_text(
                re.compile(r"U bent nummer \d+ in de wachtrij|Op dit moment is er niemand aanwezig"))

            # 2. The agent logs in, finds the chat in the queue, opens and claims it.
            console.goto(stack.handover_url)
            console.locator("#login-username").click()
            console.keyboard.type(username)
            console.keyboard.press("Tab")
            console.keyboard.type(password)
            console.keyboard.press("Enter")
            expect(console.locator("#me")).to_contain_text(AGENT_NAME)
            expect(console.locator("#live")).to_have_class("live on")
            expect(console.locator('[data-tab="queue"]')).to_have_attribute("aria-selected", "true")
            item = console.locator("#chat-list .chat", has_text=CITIZEN_NAME)
            expect(item).to_have_count(1, timeout=WAIT_MS)
            expect(item).to_contain_text("kan ik een medewerker spreken")
            expect(item).to_contain_text("Vraagt om medewerker")
            assert int(console.locator("#count-queue").inner_text()) >= 1

            item.click()
            expect(console.locator("#d-name")).to_have_text(CITIZEN_NAME)
            expect(console.locator("#d-phone")).to_have_text(masked(wa_id))
            expect(console.locator("#d-state")).to_contain_text("In de wachtrij")
            transcript = console.locator("#transcript")
            expect(transcript.locator(".msg.in")).to_contain_text(["kan ik een medewerker spreken"])
            expect(transcript.locator(".msg.bot")).to_contain_text(["Ik zet u door naar een medewerker"])
            console.keyboard.press("o")                           # claim
            expect(console.locator("#d-state")).to_have_text("In behandeling")
            expect(console.locator("#d-agent")).to_contain_text(AGENT_NAME)
            expect(transcript).to_contain_text("U spreekt nu met Sanne van de gemeente.")
            expect(sent.filter(has_text="U spreekt nu met Sanne van de gemeente.")).to_have_count(
                1, timeout=WAIT_MS)

            # 3. The agent replies with the keyboard; the citizen receives it.
            reply = ("Goedenavond, u spreekt met Sanne. Waarmee kan ik u helpen? "
                     "Stelt u uw vraag gerust hier.")
            reply_box = console.locator("#reply-text")
            expect(reply_box).to_be_focused()
            console.keyboard.type(reply)
            console.keyboard.press("Control+Enter")
            expect(reply_box).to_have_value("")
            expect(transcript.locator(".msg.agent").last).to_contain_text(reply)
            expect(sent.last).to_contain_text(reply, timeout=WAIT_MS)

            # 4. The citizen answers: the agent sees it live, the bot stays silent.
            before = stack.graph.seq()
            outgoing = sent.count()
            question = "Ik wil een klacht doorgeven over de stoep in mijn straat."
            wamid = citizen_says(phone, question)
            expect(transcript.locator(".msg.in").last).to_contain_text(question, timeout=WAIT_MS)
            assert routed_to(stack, wamid) == "agent"
            assert stack.graph.messages(wa_id, since=before) == []
            expect(sent).to_have_count(outgoing)
            expect(console.locator("#toast")).to_be_hidden(timeout=10_000)
            console.screenshot(path=str(artifacts / "e2e-console.png"))

            # 5. The agent closes with the keyboard (A, then Enter confirms).
            console.keyboard.press("Escape")                      # leave the reply field
            console.keyboard.press("a")
            expect(console.locator("#confirm-dialog")).to_be_visible()
            expect(console.locator("#confirm-ok")).to_be_focused()
            console.keyboard.press("Enter")
            expect(console.locator("#confirm-dialog")).to_be_hidden()
            expect(console.locator("#d-state")).to_have_text("Bij de bot")
            expect(sent.last).to_contain_text("De medewerker heeft het gesprek afgesloten.", timeout=WAIT_MS)

            # 6. The next question is for the bot again.
            wamid = citizen_says(phone, "hoe laat is de milieustraat open")
            expect(sent.last).to_contain_text(re.compile("milieustraat", re.IGNORECASE), timeout=WAIT_MS)
            assert routed_to(stack, wamid) == "bot"
            expect(transcript.locator(".msg.bot").last).to_contain_text(
                re.compile("milieustraat", re.IGNORECASE), timeout=WAIT_MS)
            phone.get_by_test_id("chat").evaluate("chat => { chat.scrollTop = chat.scrollHeight; }")
            phone.screenshot(path=str(artifacts / "e2e-citizen.png"))
        finally:
            browser.close()

    assert errors == []
    for name in ("e2e-console.png", "e2e-citizen.png"):
        assert (artifacts / name).stat().st_size > 20_000
