"""The agent console in a real browser (headless Chromium through Playwright).

Starts the handover service on a temp SQLite database, queues conversations
through the repository API the channel uses, then an agent logs in, sees the
chat, claims it with the keyboard, inserts a canned response, replies (the
outbox row is checked), sees a new citizen message arrive live, and closes
the chat. A screenshot goes to tests/artifacts/console.png.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.db.models import OutboxMessage
from bot.outbox import enqueue_text
from handover import core

from handover_factories import add_inbound, make_conversation
from handover_service import start_service

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Chromium is not installed (make test installs it)")


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    running = start_service(tmp_path_factory.mktemp("handover-console"))
    yield running
    running.stop()


def _setup_desk(service):
    """An agent, a canned response, and a realistic queue."""
    admin = service.login("admin", service.admin_password)
    with service.client(admin) as client:
        agent = client.post("/api/agents", json={"username": "sanne", "name": "Sanne de Boer",
                                                  "role": "agent"}).json()
        client.post("/api/canned", json={
            "title": "Afspraak maken",
            "body": "U kunt een afspraak maken via https://www.voorbeeldstad.nl/afspraak. "
                    "Neem uw identiteitsbewijs mee."})
    now = datetime.now(timezone.utc)
    with service.sessions() as session:
        anna = make_conversation(session, at=now - timedelta(minutes=6), name="Anna Jansen",
                                 text="Hoe vraag ik een nieuw paspoort aan?")
        enqueue_text(session, anna.id, "U vraagt een paspoort aan op het gemeentehuis. Maak eerst "
                     "een afspraak.", author="bot", now=now - timedelta(minutes=6))
        add_inbound(session, anna.id, "Ik wil graag iemand spreken, mijn paspoort is gestolen",
                    now - timedelta(minutes=5))
        core.queue_conversation(session, anna.id, "ask_human", now - timedelta(minutes=5), service.config)
        karim = make_conversation(session, at=now - timedelta(minutes=2), name="Karim Bouzid",
                                  text="Mijn [BSN] klopt niet in de brief", )
        core.queue_conversation(session, karim.id, "privacy", now - timedelta(minutes=2), service.config)
        make_conversation(session, at=now - timedelta(minutes=20), name="Els Visser",
                          text="Wanneer wordt het groenafval opgehaald?")
        session.commit()
    return agent, anna.id


def _outbox(service, cid):
    with service.sessions() as session:
        rows = session.execute(select(OutboxMessage).where(OutboxMessage.conversation_id == cid)
                               .order_by(OutboxMessage.id)).scalars().all()
        return [(row.author, json.loads(row.body)["text"]["body"]) for row in rows]


def test_agent_handles_a_chat_in_the_console(service):
    from playwright.sync_api import expect, sync_playwright

    agent, cid = _setup_desk(service)
    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 900}, locale="nl-NL")
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(service.url)

        page.fill("#login-username", "sanne")
        page.fill("#login-password", agent["password"])
        page.click("text=Inloggen")
        expect(page.locator("#me")).to_contain_text("Sanne de Boer")
        expect(page.locator("#live")).to_have_class("live on")
        expect(page.locator("#count-queue")).to_have_text("2")
        first = page.locator("#chat-list .chat").first
        expect(first).to_contain_text("Anna Jansen")
        expect(first).to_contain_text("Vraagt om medewerker")

        page.keyboard.press("Enter")                              # open the first chat
        expect(page.locator("#d-name")).to_have_text("Anna Jansen")
        expect(page.locator("#transcript")).to_contain_text("U vraagt een paspoort aan")   # bot turn
        expect(page.locator("#d-window")).to_contain_text("om te antwoorden")
        page.keyboard.press("o")                                  # claim with the keyboard
        expect(page.locator("#d-state")).to_have_text("In behandeling")
        expect(page.locator("#transcript")).to_contain_text("U spreekt nu met Sanne van de gemeente.")

        page.select_option("#canned-select", label="Afspraak maken")
        reply = page.locator("#reply-text")
        expect(reply).to_have_value("U kunt een afspraak maken via https://www.voorbeeldstad.nl/afspraak. "
                                    "Neem uw identiteitsbewijs mee.")
        reply.fill("Goedemiddag Anna, wat vervelend dat uw paspoort is gestolen. Doe eerst aangifte "
                   "bij de politie. Daarna maakt u een afspraak bij de gemeente.")
        reply.press("Control+Enter")
        expect(reply).to_have_value("")
        expect(page.locator("#transcript .msg.agent")).to_contain_text("Doe eerst aangifte")
        assert (f"agent:{agent['agent']['id']}",
                "Goedemiddag Anna, wat vervelend dat uw paspoort is gestolen. Doe eerst aangifte "
                "bij de politie. Daarna maakt u een afspraak bij de gemeente.") in _outbox(service, cid)

        with service.sessions() as session:                       # the citizen answers (other process)
            message = add_inbound(session, cid, "Dank u. Moet ik iets meenemen naar de afspraak?",
                                  datetime.now(timezone.utc))
            core.note_citizen_message(session, cid, message.id, datetime.now(timezone.utc))
            session.commit()
        expect(page.locator("#transcript")).to_contain_text("Moet ik iets meenemen", timeout=10_000)
        page.fill("#note-text", "Aangifte nog niet gedaan; terugbellen als het paspoort gevonden wordt.")
        page.click("text=Notitie opslaan")
        expect(page.locator("#notes")).to_contain_text("terugbellen")
        page.click('[data-tab="queue"]')
        expect(page.locator("#toast")).to_be_hidden(timeout=6000)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "console.png"))

        page.keyboard.press("a")                                  # close, with confirmation
        expect(page.locator("#confirm-dialog")).to_be_visible()
        page.click("#confirm-ok")
        expect(page.locator("#d-state")).to_have_text("Bij de bot")
        browser.close()

    with service.sessions() as session:
        assert core.current_state(session, cid) == "bot"
    assert _outbox(service, cid)[-1][1].startswith("De medewerker heeft het gesprek afgesloten.")
    assert errors == []
    assert (ARTIFACTS / "console.png").stat().st_size > 20_000


def test_pickup_transfer_live_badge_and_supervisor_tools(service):
    """Second desk day: pick up a bot chat, transfer it, notice a new chat, supervisor tools."""
    from playwright.sync_api import expect, sync_playwright

    admin = service.login("admin", service.admin_password)
    with service.client(admin) as client:
        made = {name: client.post("/api/agents", json={"username": user, "name": name, "role": role}).json()
                for user, name, role in (("ruud", "Ruud Smit", "agent"), ("lotte", "Lotte Bakker", "agent"),
                                         ("teamleider", "Mira Teamleider", "supervisor"))}
    with service.sessions() as session:
        bot_chat = make_conversation(session, at=datetime.now(timezone.utc), name="Henk de Wit",
                                     text="Kan ik mijn container omruilen?").id
        session.commit()

    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)

        def login(agent_name, username):
            page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(service.url)
            page.fill("#login-username", username)
            page.fill("#login-password", made[agent_name]["password"])
            page.press("#login-password", "Enter")
            expect(page.locator("#me")).to_contain_text(agent_name)
            expect(page.locator("#live")).to_have_class("live on")
            return page

        ruud = login("Ruud Smit", "ruud")
        ruud.keyboard.press("3")                                       # "Bij de bot"
        item = ruud.locator("#chat-list .chat", has_text="Henk de Wit")
        expect(item).to_be_visible()
        item.click()
        ruud.keyboard.press("o")                                       # take over from the bot
        expect(ruud.locator("#d-state")).to_have_text("In behandeling")
        expect(ruud.locator("#d-reason")).to_have_text("Zelf overgenomen")

        expect(ruud.locator("#reply-text")).to_be_focused()            # ready to type
        ruud.keyboard.press("Escape")                                  # leave the text field
        ruud.keyboard.press("d")                                       # transfer to Lotte
        expect(ruud.locator("#transfer-dialog")).to_be_visible()
        ruud.select_option("#transfer-agent", label="Lotte Bakker (medewerker)")
        ruud.click("#transfer-dialog button[type=submit]")
        expect(ruud.locator("#toast")).to_contain_text("doorverbonden")
        with service.sessions() as session:
            from handover import repository
            assert repository.get(session, bot_chat).agent_id == made["Lotte Bakker"]["agent"]["id"]

        ruud.keyboard.press("2")                                       # away from the queue tab
        before = ruud.locator("#count-queue").inner_text()
        service.queued_chat(name="Nieuwe Inwoner", text="Hallo, is daar iemand?")
        expect(ruud.locator("#count-queue")).to_have_text(str(int(before) + 1))
        expect(ruud.locator('[data-tab="queue"]')).to_have_class("tab alert")   # badge until seen
        assert ruud.title().startswith(f"({int(before) + 1})")
        ruud.keyboard.press("1")
        expect(ruud.locator('[data-tab="queue"]')).to_have_class("tab")

        boss = login("Mira Teamleider", "teamleider")
        boss.click("#canned-manage")
        boss.fill("#canned-title", "Openingstijden")
        boss.fill("#canned-body", "Wij zijn op werkdagen bereikbaar van 8.30 tot 17.00 uur.")
        boss.click("#canned-form button[type=submit]")
        expect(boss.locator("#canned-list")).to_contain_text("Openingstijden")
        boss.click("#canned-dialog [data-close]")
        expect(boss.locator("#canned-select option", has_text="Openingstijden")).to_have_count(1)
        boss.click("#audit-open")
        expect(boss.locator("#audit-rows")).to_contain_text("transfer")
        expect(boss.locator("#audit-rows")).to_contain_text("Ruud Smit")
        boss.click("#audit-dialog [data-close]")

        ruud.click("#logout")
        expect(ruud.locator("#login-view")).to_be_visible()
        expect(ruud.locator("#login-error")).to_have_text("U bent uitgelogd.")

        lotte = login("Lotte Bakker", "lotte")                         # holds Henk's chat
        lotte.click("#logout")
        expect(lotte.locator("#confirm-text")).to_contain_text("1 gesprek in behandeling")
        lotte.click("#confirm-ok")
        expect(lotte.locator("#login-view")).to_be_visible()
        browser.close()
    with service.sessions() as session:
        assert core.current_state(session, bot_chat) == "queued"    # back for a colleague
    assert errors == []
