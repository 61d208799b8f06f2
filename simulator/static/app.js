// Phone page of the Balie WhatsApp simulator. Plain JS, no build step.
// The citizen's messages go to POST /_sim/send and /_sim/click; the
// conversation (both directions and read marks) is polled from /_sim/events.
"use strict";

const POLL_MS = 500;
const TYPING_MS = 25000; // Meta drops the typing indicator after 25 s or at the reply
const RECENT_KEY = "balie-sim-recent";
const WA_KEY = "balie-sim-wa-id";
const NAME_KEY = "balie-sim-name";

const $ = (id) => document.getElementById(id);
const chat = $("chat");
const textBox = $("text");
const waInput = $("wa-id");
const nameInput = $("profile-name");

let waId = "";
let since = null;         // last seen event seq for the current wa_id
let generation = 0;       // bumped when the wa_id changes, so stale polls are ignored
let inbound = new Map();  // wamid -> {el, ticks, read}
let typingTimer = null;
let sheetState = null;

// ---- helpers ------------------------------------------------------------------------

function esc(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}

function inline(s) {
  // s is already escaped. WhatsApp markers only count at word edges.
  const edge = "(^|[\\s(>])";
  const end = "(?=$|[\\s.,!?;:)<])";
  s = s.replace(/```([\s\S]+?)```/g, "<code>$1</code>");
  s = s.replace(new RegExp(edge + "\\*(\\S(?:[^*\\n]*?\\S)?)\\*" + end, "g"), "$1<strong>$2</strong>");
  s = s.replace(new RegExp(edge + "_(\\S(?:[^_\\n]*?\\S)?)_" + end, "g"), "$1<em>$2</em>");
  s = s.replace(new RegExp(edge + "~(\\S(?:[^~\\n]*?\\S)?)~" + end, "g"), "$1<del>$2</del>");
  return s;
}

// WhatsApp text -> safe HTML: *bold*, _italic_, ~strike~, ```mono```, links, line breaks.
function formatText(text) {
  const parts = String(text || "").split(/(https?:\/\/[^\s<>"]*[^\s<>".,:;'!?)\]])/g);
  return parts
    .map((p, i) => (i % 2 ? `<a href="${esc(p)}" target="_blank" rel="noopener noreferrer">${esc(p)}</a>` : inline(esc(p))))
    .join("")
    .replace(/\n/g, "<br>");
}

function safeUrl(url) {
  return /^https?:\/\//i.test(String(url || "")) ? String(url) : null;
}

function clock(epochSeconds) {
  const d = epochSeconds ? new Date(epochSeconds * 1000) : new Date();
  return d.toLocaleTimeString("nl-NL", { hour: "2-digit", minute: "2-digit" });
}

function randomWaId() {
  let n = "316";
  for (let i = 0; i < 8; i++) n += Math.floor(Math.random() * 10);
  return n;
}

function randomWamid() {
  const bytes = new Uint8Array(18);
  crypto.getRandomValues(bytes);
  return "wamid.SIM" + btoa(String.fromCharCode(...bytes)).replace(/[+/=]/g, "");
}

function atBottom() {
  return chat.scrollHeight - chat.scrollTop - chat.clientHeight < 80;
}

function scrollDown(force) {
  if (force || atBottom()) chat.scrollTop = chat.scrollHeight;
}

async function api(path, body) {
  const opts = body === undefined ? {} : { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) };
  const res = await fetch(path, opts);
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(data.error || `HTTP ${res.status}`);
  return data;
}

// ---- notices ------------------------------------------------------------------------

let noticeTimer = null;
function notice(text, isError) {
  const el = $("notice");
  el.textContent = text;
  el.className = "notice" + (isError ? " error" : "");
  el.hidden = false;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => { el.hidden = true; }, 8000);
}

function webhookProblem(result) {
  if (!result || result.ok) return null;
  if (result.status) return `De bot weigerde het bericht (webhook gaf HTTP ${result.status}).`;
  if (result.error === "timeout") return "De bot reageerde niet op tijd (time-out op de webhook).";
  return "De bot is niet bereikbaar. Draait Rasa op de webhook-URL?";
}

// ---- rendering ----------------------------------------------------------------------

function bubbleShell(side, timestamp) {
  const msg = document.createElement("div");
  msg.className = "msg " + side;
  const bubble = document.createElement("div");
  bubble.className = "bubble";
  msg.appendChild(bubble);
  const stamp = document.createElement("span");
  stamp.className = "stamp";
  stamp.textContent = clock(timestamp);
  return { msg, bubble, stamp };
}

function appendMessage(el) {
  const typing = chat.querySelector(".typing");
  chat.insertBefore(el, typing || null);
}

function setTicks(entry, state) {
  const order = { pending: 0, delivered: 1, read: 2 };
  if (state !== "failed" && entry.state !== "failed" && order[state] < order[entry.state]) return;
  entry.state = state;
  entry.ticks.className = "ticks" + (state === "read" ? " read" : state === "failed" ? " failed" : "");
  entry.ticks.textContent = state === "pending" ? "\u2713" : state === "failed" ? "!" : "\u2713\u2713";
  entry.ticks.title = { pending: "Verstuurd", delivered: "Afgeleverd bij de bot", read: "Gelezen", failed: "Niet afgeleverd" }[state];
  entry.el.dataset.state = state;
}

function renderInbound(ev) {
  // A message the citizen sent (text or a tapped button/row).
  let entry = inbound.get(ev.wamid);
  if (!entry) {
    const { msg, bubble, stamp } = bubbleShell("in", ev.timestamp);
    msg.dataset.testid = "msg-in";
    msg.dataset.wamid = ev.wamid;
    if (!ev.quote && ev.context_id) {
      const original = chat.querySelector(`.msg.out[data-wamid="${CSS.escape(ev.context_id)}"] .text`);
      if (original) ev.quote = original.textContent;
    }
    if (ev.quote) {
      const q = document.createElement("div");
      q.className = "quote";
      q.innerHTML = inline(esc(ev.quote));
      bubble.appendChild(q);
    }
    const body = document.createElement("span");
    body.className = "text";
    body.innerHTML = formatText(ev.text);
    bubble.appendChild(body);
    const ticks = document.createElement("span");
    ticks.className = "ticks";
    stamp.appendChild(ticks);
    bubble.appendChild(stamp);
    appendMessage(msg);
    entry = { el: msg, ticks, state: "pending", seq: ev.seq || Infinity };
    inbound.set(ev.wamid, entry);
    setTicks(entry, "pending");
    scrollDown(true);
  }
  if (ev.seq) entry.seq = ev.seq;
  if (ev.webhook) setTicks(entry, ev.webhook.ok ? "delivered" : "failed");
  return entry;
}

function addButtonsFor(ev, msg) {
  const inter = ev.payload.interactive || {};
  const action = inter.action || {};
  const quote = (inter.body && inter.body.text) || "";
  if (inter.type === "button") {
    const box = document.createElement("div");
    box.className = "buttons";
    for (const b of action.buttons || []) {
      const reply = b.reply || {};
      const btn = document.createElement("button");
      btn.type = "button";
      btn.className = "reply-button";
      btn.dataset.testid = "reply-button";
      btn.dataset.replyId = reply.id;
      btn.textContent = reply.title;
      btn.addEventListener("click", () => click("button", reply.id, reply.title, ev.wamid, quote));
      box.appendChild(btn);
    }
    msg.appendChild(box);
  } else if (inter.type === "list") {
    const btn = document.createElement("button");
    btn.type = "button";
    btn.className = "list-button";
    btn.dataset.testid = "list-button";
    btn.innerHTML = `<span aria-hidden="true">&#9776;</span> ${esc(action.button || "Kies")}`;
    btn.addEventListener("click", () => openSheet(ev, quote));
    msg.querySelector(".bubble").appendChild(btn);
  } else if (inter.type === "cta_url" && action.parameters && safeUrl(action.parameters.url)) {
    const link = document.createElement("a");
    link.className = "reply-button";
    link.href = safeUrl(action.parameters.url);
    link.target = "_blank";
    link.rel = "noopener noreferrer";
    link.textContent = "\u2197 " + (action.parameters.display_text || action.parameters.url);
    const box = document.createElement("div");
    box.className = "buttons";
    box.appendChild(link);
    msg.appendChild(box);
  }
}

function renderOutbound(ev) {
  // A message the bot sent through the fake Graph API.
  hideTyping();
  const p = ev.payload || {};
  const { msg, bubble, stamp } = bubbleShell("out", ev.received_at);
  msg.dataset.testid = "msg-out";
  msg.dataset.wamid = ev.wamid;
  const add = (cls, html) => {
    const d = document.createElement("div");
    d.className = cls;
    d.innerHTML = html;
    bubble.appendChild(d);
  };
  if (p.type === "interactive") {
    const inter = p.interactive || {};
    if (inter.header && inter.header.type === "text") add("header", formatText(inter.header.text));
    add("text", formatText((inter.body || {}).text));
    if (inter.footer) add("footer", formatText(inter.footer.text));
  } else if (p.type === "template") {
    add("text", `<em>[sjabloon: ${esc((p.template || {}).name)}]</em>`);
  } else if (p.type === "image") {
    const img = p.image || {};
    const url = safeUrl(img.link);
    const link = url ? ` <a href="${esc(url)}" target="_blank" rel="noopener noreferrer">${esc(url)}</a>` : "";
    add("text", `<em>[afbeelding]</em>${link}` + (img.caption ? "<br>" + formatText(img.caption) : ""));
  } else if (p.type && p.type !== "text") {
    add("text", `<em>[${esc(p.type)}]</em> ${formatText((p[p.type] || {}).caption || "")}`);
  } else {
    add("text", formatText((p.text || {}).body));
  }
  bubble.appendChild(stamp);
  if (p.type === "interactive") addButtonsFor(ev, msg);
  appendMessage(msg);
  scrollDown(false);
}

function renderRead(ev) {
  // Meta: marking one message read marks every earlier one read too.
  const target = inbound.get(ev.message_id);
  if (target) {
    for (const entry of inbound.values()) {
      if (entry.seq <= target.seq && entry.state !== "failed") setTicks(entry, "read");
    }
  }
  if (ev.typing) showTyping();
}

function showTyping() {
  $("header-sub").textContent = "typt…";
  if (!chat.querySelector(".typing")) {
    const msg = document.createElement("div");
    msg.className = "msg out typing";
    msg.dataset.testid = "typing";
    msg.innerHTML = '<div class="bubble"><span class="dot"></span><span class="dot"></span><span class="dot"></span></div>';
    chat.appendChild(msg);
    scrollDown(false);
  }
  clearTimeout(typingTimer);
  typingTimer = setTimeout(hideTyping, TYPING_MS);
}

function hideTyping() {
  clearTimeout(typingTimer);
  $("header-sub").textContent = "Zakelijk account";
  const t = chat.querySelector(".typing");
  if (t) t.remove();
}

function render(ev) {
  if (ev.kind === "in") renderInbound(ev);
  else if (ev.kind === "out") renderOutbound(ev);
  else if (ev.kind === "read") renderRead(ev);
}

// ---- list sheet ---------------------------------------------------------------------

function openSheet(ev, quote) {
  const action = (ev.payload.interactive || {}).action || {};
  sheetState = { ev, quote, row: null };
  $("sheet-title").textContent = action.button || "Kies";
  const body = $("sheet-body");
  body.innerHTML = "";
  for (const section of action.sections || []) {
    if (section.title) {
      const t = document.createElement("div");
      t.className = "section-title";
      t.textContent = section.title;
      body.appendChild(t);
    }
    for (const row of section.rows || []) {
      const opt = document.createElement("button");
      opt.type = "button";
      opt.className = "row-option";
      opt.dataset.testid = "list-row";
      opt.dataset.replyId = row.id;
      opt.innerHTML = `<span class="txt"><div class="title">${esc(row.title)}</div>${
        row.description ? `<div class="desc">${esc(row.description)}</div>` : ""
      }</span><span class="radio"></span>`;
      opt.addEventListener("click", () => {
        body.querySelectorAll(".row-option").forEach((o) => o.classList.remove("selected"));
        opt.classList.add("selected");
        sheetState.row = row;
        $("sheet-send").disabled = false;
      });
      opt.addEventListener("dblclick", () => sendSheet());
      body.appendChild(opt);
    }
  }
  $("sheet-send").disabled = true;
  $("sheet").hidden = false;
}

function closeSheet() {
  $("sheet").hidden = true;
  sheetState = null;
}

function sendSheet() {
  if (!sheetState || !sheetState.row) return;
  const { ev, quote, row } = sheetState;
  closeSheet();
  click("list", row.id, row.title, ev.wamid, quote, row.description);
}

// ---- sending ------------------------------------------------------------------------

async function deliver(path, body, local) {
  const entry = renderInbound(local);
  try {
    const result = await api(path, body);
    if (result.seq) entry.seq = result.seq;
    setTicks(entry, result.webhook && result.webhook.ok ? "delivered" : "failed");
    const problem = webhookProblem(result.webhook);
    if (problem) notice(problem, true);
  } catch (err) {
    setTicks(entry, "failed");
    notice("Versturen mislukt: " + err.message, true);
  }
}

function sendText() {
  const text = textBox.value.trim();
  if (!text) return;
  if (!checkWaId()) return;
  textBox.value = "";
  autosize();
  const wamid = randomWamid();
  const profile_name = nameInput.value.trim() || undefined;
  deliver("/_sim/send", { wa_id: waId, text, profile_name, wamid }, { wamid, text, timestamp: Date.now() / 1000 });
}

function click(kind, replyId, title, contextId, quote, description) {
  if (!checkWaId()) return;
  const wamid = randomWamid();
  const profile_name = nameInput.value.trim() || undefined;
  const body = { wa_id: waId, reply_id: replyId, title, kind, context_id: contextId, wamid, profile_name, description };
  deliver("/_sim/click", body, { wamid, text: title, quote, timestamp: Date.now() / 1000 });
}

// ---- polling ------------------------------------------------------------------------

let offline = false;
async function poll() {
  const gen = generation;
  if (!/^\d{6,15}$/.test(waId)) {
    setTimeout(poll, POLL_MS);
    return;
  }
  try {
    const q = new URLSearchParams({ wa_id: waId });
    if (since !== null) q.set("since", since);
    const data = await api("/_sim/events?" + q.toString());
    if (gen === generation) {
      for (const ev of data.events) {
        render(ev);
        since = Math.max(since || 0, ev.seq);
      }
      if (since === null) since = data.seq;
    }
    if (offline) {
      offline = false;
      notice("Simulator weer bereikbaar.", false);
    }
  } catch (err) {
    if (!offline) notice("Simulator niet bereikbaar; nieuwe poging…", true);
    offline = true;
  }
  setTimeout(poll, offline ? 2000 : POLL_MS);
}

// ---- wa_id picker -------------------------------------------------------------------

function recent() {
  try { return JSON.parse(localStorage.getItem(RECENT_KEY)) || []; } catch (e) { return []; }
}

function remember(id) {
  const list = [id, ...recent().filter((x) => x !== id)].slice(0, 8);
  localStorage.setItem(RECENT_KEY, JSON.stringify(list));
  localStorage.setItem(WA_KEY, id);
  const dl = $("recent-ids");
  const sel = $("recent-select");
  dl.innerHTML = "";
  sel.innerHTML = '<option value="">Kies een nummer…</option>';
  for (const x of list) {
    dl.insertAdjacentHTML("beforeend", `<option value="${esc(x)}">`);
    sel.insertAdjacentHTML("beforeend", `<option value="${esc(x)}">+${esc(x)}</option>`);
  }
}

function checkWaId() {
  if (/^\d{6,15}$/.test(waId)) return true;
  notice("Vul een geldig nummer in: 6 tot 15 cijfers, bijvoorbeeld 31612345678.", true);
  return false;
}

function switchTo(id) {
  id = String(id || "").replace(/\D/g, "");
  waInput.value = id;
  if (id === waId) return;
  waId = id;
  generation += 1;
  since = null;
  inbound = new Map();
  hideTyping();
  chat.querySelectorAll(".msg").forEach((m) => m.remove());
  if (/^\d{6,15}$/.test(id)) {
    remember(id);
    since = 0; // load this chat's history from the start
  }
}

// ---- wiring -------------------------------------------------------------------------

function autosize() {
  textBox.style.height = "auto";
  textBox.style.height = Math.min(textBox.scrollHeight, 120) + "px";
}

$("composer").addEventListener("submit", (e) => { e.preventDefault(); sendText(); });
textBox.addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); sendText(); }
});
textBox.addEventListener("input", autosize);
waInput.addEventListener("change", () => switchTo(waInput.value));
$("recent-select").addEventListener("change", (e) => { if (e.target.value) switchTo(e.target.value); e.target.value = ""; });
$("new-id").addEventListener("click", () => switchTo(randomWaId()));
$("clear-chat").addEventListener("click", () => {
  chat.querySelectorAll(".msg").forEach((m) => m.remove());
  inbound = new Map();
});
nameInput.addEventListener("change", () => localStorage.setItem(NAME_KEY, nameInput.value.trim()));
$("sheet-close").addEventListener("click", closeSheet);
$("sheet-send").addEventListener("click", sendSheet);
$("sheet").addEventListener("click", (e) => { if (e.target.id === "sheet") closeSheet(); });

(async function start() {
  nameInput.value = localStorage.getItem(NAME_KEY) || "Test Inwoner";
  const fromUrl = new URLSearchParams(location.search).get("wa_id");
  switchTo(fromUrl || localStorage.getItem(WA_KEY) || randomWaId());
  try {
    const cfg = await api("/_sim/config");
    $("business-name").textContent = cfg.business_name;
    $("webhook-url").textContent = cfg.webhook_url;
    $("graph-url").textContent = cfg.graph_api_url;
  } catch (err) {
    notice("Simulator niet bereikbaar.", true);
  }
  poll();
  textBox.focus();
})();
