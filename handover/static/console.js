// Balie agent console. Plain JS, no build step, no third-party code.
// Data comes from the agent API (/docs); live updates from /api/events (SSE).
// Everything from the server is put into the page with textContent, never as HTML.
"use strict";

(() => {
  const $ = (selector) => document.querySelector(selector);
  const $$ = (selector) => Array.from(document.querySelectorAll(selector));

  const REASONS = {
    low_confidence: "Bot twijfelde",
    privacy: "Persoonsgegevens",
    ask_human: "Vraagt om medewerker",
    agent_pickup: "Zelf overgenomen",
  };
  const STATES = { bot: "Bij de bot", queued: "In de wachtrij", assigned: "In behandeling", closed: "Afgesloten" };
  const ROLES = { agent: "medewerker", supervisor: "teamleider", admin: "beheerder" };
  const LONG_WAIT_S = 10 * 60;

  const ui = {
    me: null,
    tab: "queue",
    queue: [],
    bot: [],
    listFetchedAt: 0,
    selected: null,          // open conversation id
    detail: null,
    detailFetchedAt: 0,
    cursor: 0,
    canned: [],
    agents: [],
    knownQueued: null,       // queued ids seen before (null until the first load)
    lastSeenMessage: new Map(),
    unseenQueued: false,
    drafts: new Map(),
    sound: localStorage.getItem("balie.sound") !== "off",
    audio: null,
    source: null,
    refreshing: null,
    again: false,
  };

  // ---------------------------------------------------------------- API

  class ApiError extends Error {
    constructor(status, message, code) { super(message); this.status = status; this.code = code; }
  }

  async function api(method, path, body) {
    const options = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(path, options);
    } catch (err) {
      throw new ApiError(0, "De server is niet bereikbaar. Controleer uw verbinding.", "network");
    }
    if (response.status === 204) return null;
    let data = null;
    try { data = await response.json(); } catch (err) { data = null; }
    if (response.status === 401 && path !== "/api/login") {
      showLogin("Uw sessie is verlopen. Log opnieuw in.");
    }
    if (!response.ok) {
      throw new ApiError(response.status, (data && data.message) || "Er ging iets mis.", data && data.error);
    }
    return data;
  }

  // ---------------------------------------------------------------- helpers

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children) {
      if (child !== null && child !== undefined) node.append(child);
    }
    return node;
  }

  function duration(seconds) {
    const s = Math.max(0, Math.floor(seconds));
    if (s < 60) return "< 1 min";
    const minutes = Math.floor(s / 60);
    if (minutes < 60) return `${minutes} min`;
    const hours = Math.floor(minutes / 60);
    return `${hours} u ${String(minutes % 60).padStart(2, "0")} min`;
  }

  function clock(iso) {
    if (!iso) return "";
    const date = new Date(iso);
    const time = date.toLocaleTimeString("nl-NL", { hour: "2-digit", minute: "2-digit" });
    const today = new Date().toDateString() === date.toDateString();
    return today ? time : `${date.toLocaleDateString("nl-NL", { day: "numeric", month: "short" })} ${time}`;
  }

  function sinceFetch(fetchedAt) { return (Date.now() - fetchedAt) / 1000; }

  function windowInfo(leftSeconds) {
    if (leftSeconds <= 0) return { cls: "bad", label: "24-uursvenster verlopen", short: "Venster dicht" };
    const text = duration(leftSeconds);
    if (leftSeconds < 3600) return { cls: "bad", label: `Nog ${text} om te antwoorden`, short: `Nog ${text}` };
    if (leftSeconds < 4 * 3600) return { cls: "warn", label: `Nog ${text} om te antwoorden`, short: `Nog ${text}` };
    return { cls: "ok", label: `Nog ${text} om te antwoorden`, short: `Nog ${text}` };
  }

  let toastTimer = null;
  function toast(message, isError = false) {
    const node = $("#toast");
    node.textContent = message;
    node.className = isError ? "toast error" : "toast";
    node.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { node.hidden = true; }, isError ? 7000 : 3500);
  }

  function fail(err) { toast(err.message || String(err), true); }

  // ---------------------------------------------------------------- sound

  function unlockAudio() {
    if (ui.audio || !window.AudioContext) return;
    try { ui.audio = new AudioContext(); } catch (err) { ui.audio = null; }
  }

  function beep() {
    if (!ui.sound || !ui.audio) return;
    const start = ui.audio.currentTime;
    [0, 0.18].forEach((offset, i) => {
      const osc = ui.audio.createOscillator();
      const gain = ui.audio.createGain();
      osc.type = "sine";
      osc.frequency.value = i === 0 ? 880 : 1175;
      gain.gain.setValueAtTime(0.0001, start + offset);
      gain.gain.exponentialRampToValueAtTime(0.2, start + offset + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + offset + 0.15);
      osc.connect(gain).connect(ui.audio.destination);
      osc.start(start + offset);
      osc.stop(start + offset + 0.16);
    });
  }

  function renderSoundToggle() {
    const button = $("#sound-toggle");
    button.textContent = ui.sound ? "Geluid aan" : "Geluid uit";
    button.classList.toggle("muted-off", !ui.sound);
    button.setAttribute("aria-pressed", String(ui.sound));
  }

  // ---------------------------------------------------------------- login

  function showLogin(message) {
    if (ui.source) { ui.source.close(); ui.source = null; }
    ui.me = null;
    $("#app-view").hidden = true;
    $("#login-view").hidden = false;
    const error = $("#login-error");
    error.hidden = !message;
    error.textContent = message || "";
    $("#login-username").focus();
    document.title = "Balie · Agentconsole";
  }

  async function onLogin(event) {
    event.preventDefault();
    unlockAudio();
    const error = $("#login-error");
    error.hidden = true;
    try {
      const result = await api("POST", "/api/login", {
        username: $("#login-username").value.trim(),
        password: $("#login-password").value,
      });
      $("#login-password").value = "";
      await showApp(result.agent);
    } catch (err) {
      error.textContent = err.message;
      error.hidden = false;
    }
  }

  async function showApp(me) {
    ui.me = me;
    ui.knownQueued = null;
    $("#login-view").hidden = true;
    $("#app-view").hidden = false;
    $("#me").textContent = `${me.name} · ${ROLES[me.role] || me.role}`;
    const boss = me.role === "supervisor" || me.role === "admin";
    $("#canned-manage").hidden = !boss;
    $("#audit-open").hidden = !boss;
    $('[data-tab="mine"]').firstChild.textContent = boss ? "In behandeling " : "Mijn gesprekken ";
    renderSoundToggle();
    connectEvents();
    await Promise.all([loadCanned(), loadAgents(), refresh()]);
  }

  async function onLogout() {
    // The server puts an agent's chats back in the queue at their last logout.
    await refresh();   // count what the agent holds now, also right after logging in
    if (!ui.me) return;   // the session ended meanwhile: the login form is showing
    const mine = ui.queue.filter((i) => i.state === "assigned" && i.agent_id === ui.me.id).length;
    if (mine && !(await confirmDialog("Uitloggen?",
        `U heeft nog ${mine === 1 ? "1 gesprek" : `${mine} gesprekken`} in behandeling. ` +
        "Als u uitlogt, gaan die terug naar de wachtrij en helpt een collega verder.", "Uitloggen"))) return;
    try { await api("POST", "/api/logout"); } catch (err) { /* already logged out */ }
    ui.selected = null;
    ui.detail = null;
    showLogin("U bent uitgelogd.");
  }

  // ---------------------------------------------------------------- live updates

  function setLive(on, text) {
    const node = $("#live");
    node.className = `live ${on ? "on" : "off"}`;
    $("#live-text").textContent = text;
  }

  function connectEvents() {
    if (ui.source) ui.source.close();
    const source = new EventSource("/api/events");
    ui.source = source;
    source.addEventListener("hello", () => { setLive(true, "Live"); refresh(); });
    source.addEventListener("change", () => refresh());
    source.addEventListener("logout", () => showLogin("Uw sessie is verlopen. Log opnieuw in."));
    source.onerror = () => setLive(false, "Verbinding weg, opnieuw verbinden…");
  }

  // One refresh at a time; a change during a refresh triggers one more.
  async function refresh() {
    if (!ui.me) return;
    if (ui.refreshing) { ui.again = true; return ui.refreshing; }
    ui.refreshing = (async () => {
      try {
        do {
          ui.again = false;
          await loadLists();
          if (ui.selected !== null) await loadDetail(ui.selected, false);
        } while (ui.again);
      } catch (err) {
        if (err.status !== 401) fail(err);
      } finally {
        ui.refreshing = null;
      }
    })();
    return ui.refreshing;
  }

  async function loadLists() {
    const [queue, bot] = await Promise.all([api("GET", "/api/queue"), api("GET", "/api/bot-conversations")]);
    if (!ui.me) return;   // logged out while the lists were on their way
    ui.queue = queue;
    ui.bot = bot;
    ui.listFetchedAt = Date.now();
    noticeNewWork(queue);
    renderLists();
  }

  function noticeNewWork(queue) {
    const queued = queue.filter((item) => item.state === "queued").map((item) => item.conversation_id);
    const newQueued = ui.knownQueued !== null && queued.some((id) => !ui.knownQueued.has(id));
    ui.knownQueued = new Set(queued);
    // a citizen wrote again in one of my chats: beep, but that is not queue work
    let newMine = false;
    for (const item of queue) {
      if (item.state !== "assigned" || item.agent_id !== ui.me.id) continue;
      const before = ui.lastSeenMessage.get(item.conversation_id);
      if (before !== undefined && item.last_message_at && item.last_message_at !== before) newMine = true;
      ui.lastSeenMessage.set(item.conversation_id, item.last_message_at);
    }
    if (newQueued || newMine) beep();
    if (newQueued && ui.tab !== "queue") ui.unseenQueued = true;
  }

  // ---------------------------------------------------------------- lists

  function currentItems() {
    if (ui.tab === "bot") return ui.bot;
    if (ui.tab === "mine") return ui.queue.filter((i) => i.state === "assigned");
    return ui.queue.filter((i) => i.state === "queued");
  }

  function renderLists() {
    const queued = ui.queue.filter((i) => i.state === "queued").length;
    $("#count-queue").textContent = queued;
    $("#count-mine").textContent = ui.queue.filter((i) => i.state === "assigned").length;
    $("#count-bot").textContent = ui.bot.length;
    $('[data-tab="queue"]').classList.toggle("alert", ui.unseenQueued && ui.tab !== "queue");
    document.title = queued ? `(${queued}) Balie · Agentconsole` : "Balie · Agentconsole";
    $$(".tab").forEach((tab) => tab.setAttribute("aria-selected", String(tab.dataset.tab === ui.tab)));

    const items = currentItems();
    ui.cursor = Math.min(ui.cursor, Math.max(0, items.length - 1));
    const list = $("#chat-list");
    list.replaceChildren(...items.map((item, index) => chatItem(item, index)));
    const empty = $("#list-empty");
    empty.hidden = items.length > 0;
    empty.textContent = {
      queue: "Niemand in de wachtrij. Nieuwe gesprekken verschijnen hier vanzelf.",
      mine: "U heeft nu geen gesprekken in behandeling.",
      bot: "Geen recente gesprekken met de digitale assistent.",
    }[ui.tab];
  }

  function chatItem(item, index) {
    const elapsed = sinceFetch(ui.listFetchedAt);
    const isBot = ui.tab === "bot";
    const waiting = isBot ? null : (item.waiting_s || 0) + elapsed;
    const win = windowInfo(item.window_left_s - elapsed);
    const tags = el("div", { class: "chat-tags" });
    if (!isBot) {
      if (item.state === "queued" && item.place) tags.append(el("span", { class: "badge queued", text: `#${item.place}` }));
      if (item.reason) tags.append(el("span", { class: `badge badge-soft reason-${item.reason}`, text: REASONS[item.reason] || item.reason }));
      if (item.state === "assigned" && item.agent_name) tags.append(el("span", { class: "badge assigned", text: item.agent_name }));
    }
    tags.append(el("span", { class: `badge win-${win.cls}`, text: win.short, title: "24-uursvenster van WhatsApp" }));
    const when = isBot ? clock(item.last_message_at) : `${item.state === "queued" ? "wacht" : "bezig"} ${duration(waiting)}`;
    const node = el("li", {
      class: "chat" + (item.conversation_id === ui.selected ? " active" : "") + (index === ui.cursor ? " cursor" : ""),
      role: "option",
      tabindex: "-1",
      "aria-selected": String(item.conversation_id === ui.selected),
      "data-id": item.conversation_id,
      onclick: () => { ui.cursor = index; openConversation(item.conversation_id); },
    },
      el("div", { class: "chat-top" },
        el("span", { class: "chat-name" },
          !isBot && item.needs_reply && item.state === "assigned" ? el("span", { class: "new-dot", title: "Nieuw bericht" }) : null,
          item.name),
        el("span", { class: "chat-wait" + (!isBot && waiting > LONG_WAIT_S && item.state === "queued" ? " long" : ""), text: when })),
      el("div", { class: "chat-msg", text: item.last_message || "—" }),
      tags);
    return node;
  }

  function setTab(tab) {
    ui.tab = tab;
    ui.cursor = 0;
    if (tab === "queue") ui.unseenQueued = false;
    renderLists();
  }

  function moveCursor(step) {
    const items = currentItems();
    if (!items.length) return;
    ui.cursor = (ui.cursor + step + items.length) % items.length;
    renderLists();
    const node = $$("#chat-list .chat")[ui.cursor];
    if (node) { node.focus(); node.scrollIntoView({ block: "nearest" }); }
  }

  function cursorItem() { return currentItems()[ui.cursor] || null; }

  // ---------------------------------------------------------------- conversation

  async function openConversation(id) {
    if (ui.selected !== null && ui.selected !== id) ui.drafts.set(ui.selected, $("#reply-text").value);
    const switched = ui.selected !== id;
    ui.selected = id;
    if (switched) $("#reply-text").value = ui.drafts.get(id) || "";
    renderLists();
    try {
      await loadDetail(id, true);
    } catch (err) {
      if (err.status === 404) closeDetail();
      fail(err);
    }
  }

  function closeDetail() {
    ui.selected = null;
    ui.detail = null;
    $("#detail").hidden = true;
    $("#empty").hidden = false;
    renderLists();
  }

  async function loadDetail(id, scrollDown) {
    let detail;
    try {
      detail = await api("GET", `/api/conversations/${id}`);
    } catch (err) {
      if (err.status === 404 && !scrollDown) { closeDetail(); toast("Dit gesprek is niet meer zichtbaar voor u."); return; }
      throw err;
    }
    if (ui.selected !== id) return;
    ui.detail = detail;
    ui.detailFetchedAt = Date.now();
    renderDetail(scrollDown);
  }

  function renderDetail(scrollDown) {
    const d = ui.detail;
    $("#empty").hidden = true;
    $("#detail").hidden = false;
    $("#d-name").textContent = d.name;
    $("#d-phone").textContent = d.phone;
    const stateBadge = $("#d-state");
    stateBadge.textContent = d.state === "queued" && d.place ? `${STATES[d.state]} (#${d.place})` : STATES[d.state] || d.state;
    stateBadge.className = `badge ${d.state}`;
    const reason = $("#d-reason");
    reason.hidden = !d.reason;
    reason.textContent = REASONS[d.reason] || d.reason || "";
    $("#d-agent").textContent = d.agent_name ? `· ${d.agent_name}` : "";

    for (const button of $$("[data-action]")) button.hidden = !d.actions.includes(button.dataset.action);
    renderWindow();
    renderTranscript(scrollDown);
    renderNotes();
  }

  function renderWindow() {
    const d = ui.detail;
    if (!d) return;
    const left = d.window_left_s - sinceFetch(ui.detailFetchedAt);
    const info = windowInfo(left);
    const box = $("#d-window");
    box.className = `window ${info.cls}`;
    box.querySelector(".window-label").textContent = info.label;
    box.querySelector(".window-bar span").style.width = `${Math.max(0, Math.min(100, (left / 86400) * 100))}%`;
    box.title = "WhatsApp staat vrije berichten toe tot 24 uur na het laatste bericht van de inwoner.";

    const canReply = d.actions.includes("reply") && left > 0;
    const composer = $("#reply-form");
    composer.classList.toggle("disabled", !canReply);
    $("#reply-text").disabled = !canReply;
    $("#reply-send").disabled = !canReply;
    $("#canned-select").disabled = !canReply;
    let hint = "";
    if (left <= 0) hint = "Het 24-uursvenster is voorbij: via WhatsApp kunt u niet meer antwoorden. Bel de inwoner als dat nodig is.";
    else if (d.state === "queued") hint = "Pak het gesprek op (O) om te antwoorden.";
    else if (d.state === "bot") hint = "Dit gesprek is bij de digitale assistent. Neem het over (O) om te antwoorden.";
    else if (!d.actions.includes("reply")) hint = `Dit gesprek is van ${d.agent_name || "een collega"}.`;
    $("#reply-hint").textContent = hint;
  }

  function renderTranscript(scrollDown) {
    const list = $("#transcript");
    const nearBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
    list.replaceChildren(...ui.detail.messages.map(messageItem));
    if (scrollDown || nearBottom) list.scrollTop = list.scrollHeight;
  }

  function messageItem(m) {
    const status = m.direction === "out" && m.status
      ? { pending: " · wordt verstuurd", sent: " · verstuurd ✓", delivered: " · afgeleverd ✓✓", read: " · gelezen ✓✓", failed: " · niet verstuurd ⚠" }[m.status] || ""
      : "";
    return el("li", { class: `msg ${m.direction} ${m.author}${m.status === "failed" ? " failed" : ""}` },
      el("span", { class: "who", text: m.author_name }),
      document.createTextNode(m.text),
      m.privacy_kinds && m.privacy_kinds.length
        ? el("span", { class: "privacy", text: `Persoonsgegevens weggehaald: ${m.privacy_kinds.join(", ")}` })
        : null,
      el("span", { class: "when", text: clock(m.at) + status }));
  }

  function renderNotes() {
    const notes = ui.detail.notes;
    $("#notes").replaceChildren(...(notes.length
      ? notes.map((n) => el("li", { class: "note" }, document.createTextNode(n.text),
        el("span", { class: "when", text: `${n.agent_name} · ${clock(n.at)}` })))
      : [el("li", { class: "muted small", text: "Nog geen notities." })]));
  }

  // ---------------------------------------------------------------- actions

  async function act(action, id, body) {
    const result = await api("POST", `/api/conversations/${id}/${action}`, body);
    await refresh();
    return result;
  }

  async function claim(item) {
    const target = item || (ui.detail && { conversation_id: ui.detail.conversation_id, version: ui.detail.version, state: ui.detail.state });
    if (!target) return;
    const action = !target.state || target.state === "bot" ? "pickup" : "claim";   // bot-list items have no state
    try {
      const body = target.version !== undefined ? { version: target.version } : undefined;
      ui.selected = target.conversation_id;
      await act(action, target.conversation_id, body);
      setTab("mine");
      await openConversation(target.conversation_id);
      toast("U heeft het gesprek opgepakt. De inwoner krijgt uw voornaam te zien.");
      $("#reply-text").focus();
    } catch (err) {
      fail(err);
      refresh();
    }
  }

  async function release() {
    if (!ui.detail) return;
    try {
      await act("release", ui.detail.conversation_id);
      toast("Het gesprek staat weer in de wachtrij.");
    } catch (err) { fail(err); }
  }

  async function transfer() {
    if (!ui.detail || !ui.detail.actions.includes("transfer")) return;
    await loadAgents();
    const options = ui.agents.filter((a) => a.active && a.id !== ui.detail.agent_id);
    if (!options.length) { toast("Er is geen andere actieve medewerker.", true); return; }
    const select = $("#transfer-agent");
    select.replaceChildren(...options.map((a) => el("option", { value: a.id, text: `${a.name} (${ROLES[a.role] || a.role})` })));
    const dialog = $("#transfer-dialog");
    dialog.showModal();
    select.focus();
  }

  async function onTransferSubmit(event) {
    event.preventDefault();
    $("#transfer-dialog").close();
    try {
      await act("transfer", ui.detail.conversation_id, { agent_id: Number($("#transfer-agent").value) });
      toast("Het gesprek is doorverbonden.");
    } catch (err) { fail(err); }
  }

  function confirmDialog(title, text, okLabel) {
    return new Promise((resolve) => {
      const dialog = $("#confirm-dialog");
      $("#confirm-title").textContent = title;
      $("#confirm-text").textContent = text;
      $("#confirm-ok").textContent = okLabel;
      dialog.returnValue = "";
      dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
      dialog.showModal();
      $("#confirm-ok").focus();
    });
  }

  async function closeConversation() {
    if (!ui.detail || !ui.detail.actions.includes("close")) return;
    const ok = await confirmDialog("Gesprek afsluiten?",
      "De inwoner krijgt een kort afsluitbericht en praat daarna weer met de digitale assistent.", "Afsluiten");
    if (!ok) return;
    const id = ui.detail.conversation_id;
    try {
      await act("close", id);
      ui.drafts.delete(id);
      $("#reply-text").value = "";
      toast("Het gesprek is afgesloten en terug bij de digitale assistent.");
    } catch (err) { fail(err); }
  }

  async function onReply(event) {
    event.preventDefault();
    if (!ui.detail) return;
    const box = $("#reply-text");
    const text = box.value.trim();
    if (!text) return;
    const send = $("#reply-send");
    send.disabled = true;
    try {
      await api("POST", `/api/conversations/${ui.detail.conversation_id}/reply`, { text });
      box.value = "";
      ui.drafts.delete(ui.detail.conversation_id);
      await refresh();
      const list = $("#transcript");
      list.scrollTop = list.scrollHeight;
    } catch (err) {
      fail(err);
    } finally {
      send.disabled = false;
      renderWindow();
      box.focus();
    }
  }

  async function onNote(event) {
    event.preventDefault();
    if (!ui.detail) return;
    const box = $("#note-text");
    const text = box.value.trim();
    if (!text) return;
    try {
      await api("POST", `/api/conversations/${ui.detail.conversation_id}/notes`, { text });
      box.value = "";
      await refresh();
      toast("Notitie opgeslagen.");
    } catch (err) { fail(err); }
  }

  // ---------------------------------------------------------------- canned responses

  async function loadCanned() {
    try { ui.canned = await api("GET", "/api/canned"); } catch (err) { ui.canned = []; }
    const select = $("#canned-select");
    select.replaceChildren(el("option", { value: "", text: "Standaardtekst invoegen… (S)" }),
      ...ui.canned.map((c) => el("option", { value: c.id, text: c.title })));
    renderCannedList();
  }

  function insertCanned() {
    const select = $("#canned-select");
    const item = ui.canned.find((c) => String(c.id) === select.value);
    select.value = "";
    if (!item) return;
    const box = $("#reply-text");
    const start = box.selectionStart ?? box.value.length;
    const end = box.selectionEnd ?? box.value.length;
    box.value = box.value.slice(0, start) + item.body + box.value.slice(end);
    box.focus();
    box.selectionStart = box.selectionEnd = start + item.body.length;
  }

  function renderCannedList() {
    const list = $("#canned-list");
    if (!list) return;
    list.replaceChildren(...(ui.canned.length ? ui.canned.map((c) => el("li", {},
      el("span", { text: c.title }),
      el("span", {},
        el("button", { class: "btn", type: "button", text: "Bewerken", onclick: () => editCanned(c) }),
        " ",
        el("button", { class: "btn btn-danger", type: "button", text: "Verwijderen", onclick: () => deleteCanned(c) }))))
      : [el("li", { class: "muted", text: "Nog geen standaardteksten." })]));
  }

  function editCanned(c) {
    $("#canned-id").value = c ? c.id : "";
    $("#canned-title").value = c ? c.title : "";
    $("#canned-body").value = c ? c.body : "";
    $("#canned-title").focus();
  }

  async function deleteCanned(c) {
    try {
      await api("DELETE", `/api/canned/${c.id}`);
      await loadCanned();
      toast("Standaardtekst verwijderd.");
    } catch (err) { fail(err); }
  }

  async function onCannedSubmit(event) {
    event.preventDefault();
    const id = $("#canned-id").value;
    const body = { title: $("#canned-title").value.trim(), body: $("#canned-body").value.trim() };
    try {
      await api(id ? "PUT" : "POST", id ? `/api/canned/${id}` : "/api/canned", body);
      editCanned(null);
      await loadCanned();
      toast("Standaardtekst opgeslagen.");
    } catch (err) { fail(err); }
  }

  // ---------------------------------------------------------------- agents and audit

  async function loadAgents() {
    try { ui.agents = await api("GET", "/api/agents"); } catch (err) { ui.agents = []; }
  }

  async function openAudit() {
    try {
      const [entries] = await Promise.all([api("GET", "/api/audit?limit=200"), loadAgents()]);
      const names = new Map(ui.agents.map((a) => [`agent:${a.id}`, a.name]));
      $("#audit-rows").replaceChildren(...entries.map((e) => el("tr", {},
        el("td", { text: clock(e.at) }),
        el("td", { text: names.get(e.actor) || e.actor }),
        el("td", { text: e.action }),
        el("td", { text: e.conversation_id ?? "" }),
        el("td", { text: Object.keys(e.detail).length ? JSON.stringify(e.detail) : "" }))));
      $("#audit-dialog").showModal();
    } catch (err) { fail(err); }
  }

  // ---------------------------------------------------------------- keyboard

  function typing(target) {
    return target instanceof HTMLElement && (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName));
  }

  function onKey(event) {
    unlockAudio();
    if (!ui.me || document.querySelector("dialog[open]")) return;
    if (typing(event.target)) {
      if (event.key === "Escape") event.target.blur();
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const handlers = {
      j: () => moveCursor(1), ArrowDown: () => moveCursor(1),
      k: () => moveCursor(-1), ArrowUp: () => moveCursor(-1),
      Enter: () => { const item = cursorItem(); if (item) openConversation(item.conversation_id); },
      1: () => setTab("queue"), 2: () => setTab("mine"), 3: () => setTab("bot"),
      o: () => {
        if (ui.detail && (ui.detail.actions.includes("claim") || ui.detail.actions.includes("pickup"))) claim(null);
        else if (!ui.detail && cursorItem()) claim(cursorItem());
      },
      r: () => { if (!$("#reply-text").disabled) $("#reply-text").focus(); },
      s: () => { if (!$("#canned-select").disabled) $("#canned-select").focus(); },
      n: () => { if (ui.detail) $("#note-text").focus(); },
      v: () => { if (ui.detail && ui.detail.actions.includes("release")) release(); },
      d: () => transfer(),
      a: () => closeConversation(),
      "?": () => $("#help-dialog").showModal(),
      Escape: () => { if (ui.detail) closeDetail(); },
    };
    const handler = handlers[event.key] || handlers[event.key.toLowerCase()];
    if (handler) {
      event.preventDefault();
      handler();
    }
  }

  // ---------------------------------------------------------------- wiring

  function wire() {
    $("#login-form").addEventListener("submit", onLogin);
    $("#logout").addEventListener("click", onLogout);
    $("#sound-toggle").addEventListener("click", () => {
      unlockAudio();
      ui.sound = !ui.sound;
      localStorage.setItem("balie.sound", ui.sound ? "on" : "off");
      renderSoundToggle();
      if (ui.sound) beep();
    });
    $("#help-open").addEventListener("click", () => $("#help-dialog").showModal());
    $("#canned-manage").addEventListener("click", () => { editCanned(null); $("#canned-dialog").showModal(); });
    $("#canned-new").addEventListener("click", () => editCanned(null));
    $("#canned-form").addEventListener("submit", onCannedSubmit);
    $("#audit-open").addEventListener("click", openAudit);
    $$(".tab").forEach((tab) => tab.addEventListener("click", () => setTab(tab.dataset.tab)));
    $$("[data-action]").forEach((button) => button.addEventListener("click", () => {
      const action = button.dataset.action;
      if (action === "claim" || action === "pickup") claim(null);
      else if (action === "release") release();
      else if (action === "transfer") transfer();
      else if (action === "close") closeConversation();
    }));
    $$("dialog [data-close]").forEach((button) => button.addEventListener("click", () => button.closest("dialog").close()));
    $("#transfer-form").addEventListener("submit", onTransferSubmit);
    $("#reply-form").addEventListener("submit", onReply);
    $("#reply-text").addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) onReply(event);
    });
    $("#canned-select").addEventListener("change", insertCanned);
    $("#note-form").addEventListener("submit", onNote);
    document.addEventListener("keydown", onKey);
    document.addEventListener("click", unlockAudio, { once: true });
    // waiting times and the 24-hour window count down between server updates
    setInterval(() => { if (ui.me) { renderLists(); renderWindow(); } }, 15000);
  }

  async function boot() {
    wire();
    try {
      await showApp(await api("GET", "/api/me"));
    } catch (err) {
      showLogin(err.status === 401 || err.status === undefined ? "" : err.message);
    }
  }

  boot();
})();
