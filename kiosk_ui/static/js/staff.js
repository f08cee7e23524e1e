// The staff console: the queue of alerts and the members in the store, live.
// The page holds no state beyond what the server sent: a snapshot on every
// (re)connection, then arrival / departure / alert / kpi / handover signals.
//
// Lists are updated in place: a card is created once, then its parts are patched,
// so focus, scroll and a half-typed code survive every signal. Cards keep their
// place (oldest first) when claimed, so the next tap lands where the clerk aimed.

import { I18n, readConfig } from "./i18n.js";
import { SocketClient } from "./sio.js";

const config = readConfig("staff-config");
const i18n = I18n.fromPage(document.documentElement.lang);
const present = new Map(); // customer_id -> member view
const alerts = new Map(); // alert_id -> alert view
const cards = new Map(); // alert_id -> <li>
const rows = new Map(); // customer_id -> <li>
let kpi = null;
const NAME_KEY = "storeedge.staff_name";

const $ = (id) => document.getElementById(id);
const nameInput = $("staff-name-input");

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function label(prefix, value) {
  const key = `${prefix}.${value}`;
  return i18n.has(key) ? i18n.t(key) : String(value ?? "");
}

function kindLabel(kind) {
  return i18n.has(`alert.${kind}`) ? i18n.t(`alert.${kind}`) : i18n.t("alert.other");
}

function duration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(Number(seconds))) {
    return i18n.t("staff.kpi_none");
  }
  const total = Math.max(0, Math.round(Number(seconds)));
  if (total < 60) return i18n.t("staff.dur_s", { s: total });
  if (total % 60 === 0) return i18n.t("staff.dur_min_only", { m: total / 60 });
  return i18n.t("staff.dur_min", { m: Math.floor(total / 60), s: String(total % 60).padStart(2, "0") });
}

function clockTime(seconds) {
  const locale = i18n.language === "en" ? "en-GB" : "fr-FR";
  return new Date(Number(seconds) * 1000).toLocaleTimeString(locale, { hour: "2-digit", minute: "2-digit" });
}

function initials(name) {
  const words = String(name || "?").trim().split(/\s+/);
  return words
    .slice(0, 2)
    .map((w) => w[0] || "")
    .join("")
    .toUpperCase();
}

// --- sound and announcements -------------------------------------------------------------

let audio = null;
function unlockAudio() {
  if (audio || !window.AudioContext) return;
  try {
    audio = new AudioContext();
  } catch {
    audio = null;
  }
}
document.addEventListener("pointerdown", unlockAudio, { once: true });
document.addEventListener("keydown", unlockAudio, { once: true });

function chime(urgent) {
  // Generated here (WebAudio): no sound file, works offline.
  if (!audio) return;
  const notes = urgent ? [880, 660, 880] : [660, 880];
  notes.forEach((frequency, index) => {
    const start = audio.currentTime + index * 0.18;
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.type = "sine";
    osc.frequency.value = frequency;
    gain.gain.setValueAtTime(0.0001, start);
    gain.gain.exponentialRampToValueAtTime(0.25, start + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, start + 0.16);
    osc.connect(gain).connect(audio.destination);
    osc.start(start);
    osc.stop(start + 0.17);
  });
}

function announce(text) {
  const region = $("announcer");
  region.textContent = "";
  // NB: a fresh text node after a tick makes screen readers speak it even if repeated.
  setTimeout(() => {
    region.textContent = text;
  }, 50);
}

let toastTimer = null;
function toast(text) {
  const box = $("toast");
  box.textContent = text;
  box.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => {
    box.hidden = true;
  }, 5000);
}

// --- members ---------------------------------------------------------------------------

function memberRow(customerId) {
  const li = el("li", "member");
  li.setAttribute("data-testid", "visit");
  li.dataset.customerId = customerId;
  const avatar = el("span", "avatar");
  avatar.setAttribute("aria-hidden", "true");
  const body = el("div", "member-body");
  const top = el("div", "member-top");
  const meta = el("div", "member-meta");
  body.append(top, meta);
  li.append(avatar, body, el("span", "pickup-flag"));
  return li;
}

function fillMember(li, view) {
  const [avatar, body, flag] = li.children;
  avatar.className = view.vip ? "avatar avatar-vip" : "avatar";
  avatar.textContent = initials(view.display_name);
  const [top, meta] = body.children;
  const badges = [el("span", "member-name", view.display_name || view.customer_id)];
  if (view.vip) badges.push(el("span", "badge badge-vip", i18n.t("staff.vip")));
  if (view.tier) badges.push(el("span", `badge badge-tier tier-${view.tier}`, label("tier", view.tier)));
  top.replaceChildren(...badges);
  meta.replaceChildren(
    el("span", "zone-chip", label("zone", view.zone)),
    el("span", "meta", `${label("staff.via", view.via)} · ${clockTime(view.since)}`),
  );
  const pickups = Array.isArray(view.pickups) ? view.pickups.length : 0;
  flag.hidden = pickups === 0;
  flag.textContent = pickups === 1 ? i18n.t("staff.pickups_one") : i18n.t("staff.pickups_many", { n: pickups });
}

function showMember(view) {
  present.set(view.customer_id, view);
  let li = rows.get(view.customer_id);
  if (!li) {
    li = memberRow(view.customer_id);
    rows.set(view.customer_id, li);
    $("present-list").prepend(li); // NB: newest on top; a known member keeps their row
  }
  fillMember(li, view);
  for (const alert of alerts.values()) if (alert.customer_id === view.customer_id) patchCard(alert);
  counts();
}

function dropMember(customerId) {
  present.delete(customerId);
  const li = rows.get(customerId);
  if (li) keepFocus(li, () => li.remove());
  rows.delete(customerId);
  counts();
}

// --- alerts ----------------------------------------------------------------------------

function button(action, className, text, handler) {
  const node = el("button", className, text);
  node.type = "button";
  node.dataset.action = action;
  node.setAttribute("data-testid", action);
  node.addEventListener("click", handler);
  return node;
}

function alertCard(view) {
  const li = el("li", "alert-card");
  li.setAttribute("data-testid", "alert");
  li.dataset.alertId = view.alert_id;
  li.dataset.kind = view.kind;
  li.tabIndex = -1;
  const titleId = `alert-title-${view.alert_id}`;
  li.setAttribute("aria-labelledby", titleId);
  const head = el("div", "alert-head");
  const title = el("h3", "alert-kind");
  title.id = titleId;
  head.append(title, el("span", "state-chip"));
  const who = el("div", "alert-who");
  who.append(el("span", "alert-name"), el("span", "zone-chip"), el("span", "wait"));
  const details = el("div", "alert-details");
  const claimed = el("p", "alert-claimed");
  const actions = el("div", "alert-actions");
  const id = view.alert_id;
  actions.append(
    button("claim", "btn btn-primary", "", (e) => act("claim", { alert_id: id }, e.currentTarget)),
    button("resolve", "btn btn-secondary", "", (e) => act("resolve", { alert_id: id }, e.currentTarget)),
  );
  li.append(head, who, details, claimed, actions);
  if (view.kind === "pickup" && view.order_id) li.append(handoverForm(view));
  return li;
}

function handoverForm(view) {
  const form = el("form", "handover");
  form.noValidate = true;
  const fieldId = `code-${view.alert_id}`;
  const lab = el("label", "handover-label");
  lab.htmlFor = fieldId;
  const input = el("input", "code-input");
  input.id = fieldId;
  input.name = "code";
  input.inputMode = "numeric";
  input.autocomplete = "off";
  input.maxLength = 10;
  input.pattern = "[0-9]*";
  const submit = el("button", "btn btn-primary");
  submit.type = "submit";
  submit.dataset.role = "hand-over";
  const row = el("div", "handover-row");
  row.append(input, submit);
  const override = button("override", "btn btn-quiet", "", () => {
    confirmBox.hidden = false;
    override.hidden = true;
    confirmBox.querySelector("button").focus();
  });
  const confirmBox = el("div", "override-confirm");
  confirmBox.hidden = true;
  const note = el("p", "override-note");
  const yes = button("override-confirm", "btn btn-secondary", "", async (e) => {
    const done = await act("hand_over", { order_id: view.order_id, proof: "staff" }, e.currentTarget);
    if (!done) {
      confirmBox.hidden = true;
      override.hidden = false;
    }
  });
  const no = button("override-cancel", "btn btn-quiet", "", () => {
    confirmBox.hidden = true;
    override.hidden = false;
    override.focus();
  });
  confirmBox.append(note, yes, no);
  form.append(lab, row, override, confirmBox);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const code = input.value.replace(/\s+/g, "");
    const done = await act("hand_over", { order_id: view.order_id, proof: "code", code }, submit);
    if (done) input.value = "";
  });
  return form;
}

function patchCard(view) {
  const li = cards.get(view.alert_id);
  if (!li) return;
  const state = view.state;
  li.dataset.state = state;
  li.className = `alert-card kind-${view.kind} state-${state}`;
  const [head, who, details, claimed, actions, form] = li.children;
  head.children[0].textContent = kindLabel(view.kind);
  const chip = head.children[1];
  chip.className = `state-chip state-chip-${state}`;
  chip.textContent = label("staff.state", state);
  const [name, zone, wait] = who.children;
  name.textContent = view.display_name || view.customer_id || "";
  const member = view.customer_id ? present.get(view.customer_id) : null;
  zone.textContent = label("zone", member ? member.zone : view.zone); // NB: where they are now
  wait.dataset.since = String(view.raised_at);
  wait.textContent = i18n.t("staff.waiting", { t: duration(Date.now() / 1000 - view.raised_at) });
  const lines = [];
  if (view.order_id) lines.push(el("p", "alert-detail", i18n.t("alert.order", { order: view.order_id })));
  const point = view.pickup_point_name || view.pickup_point;
  if (point) lines.push(el("p", "alert-detail", i18n.t("alert.point", { point })));
  if (view.note) lines.push(el("p", "alert-detail", i18n.t("staff.note", { note: view.note })));
  if (view.detail) lines.push(el("p", "alert-detail", String(view.detail)));
  if (Array.isArray(view.lines) && view.lines.length) {
    lines.push(el("p", "lines-title", i18n.t("staff.lines")));
    const list = el("ul", "pick-lines");
    for (const line of view.lines) list.append(el("li", "", i18n.t("staff.line", { qty: line.qty, sku: line.sku })));
    lines.push(list);
  }
  details.replaceChildren(...lines);
  claimed.hidden = !(state === "claimed" && view.claimed_by);
  claimed.textContent = view.claimed_by ? i18n.t("staff.claimed_by", { name: view.claimed_by }) : "";
  const [claim, resolve] = actions.children;
  claim.textContent = i18n.t("staff.claim");
  resolve.textContent = i18n.t("staff.resolve");
  resolve.className = state === "claimed" ? "btn btn-primary" : "btn btn-secondary";
  if (state === "claimed" && !claim.hidden) {
    const hadFocus = document.activeElement === claim;
    claim.hidden = true;
    if (hadFocus) resolve.focus(); // NB: never drop focus to <body>
  }
  claim.hidden = state === "claimed";
  if (form) {
    form.querySelector(".handover-label").textContent = i18n.t("staff.code_label");
    form.querySelector("[data-role=hand-over]").textContent = i18n.t("staff.hand_over");
    form.querySelector("[data-action=override]").textContent = i18n.t("staff.override");
    form.querySelector(".override-note").textContent = i18n.t("staff.override_note");
    form.querySelector("[data-action=override-confirm]").textContent = i18n.t("staff.override_confirm");
    form.querySelector("[data-action=override-cancel]").textContent = i18n.t("staff.cancel");
  }
}

function placeCard(li, view) {
  // Oldest first: the longest wait is the most urgent. Existing cards never move.
  const list = $("alert-list");
  for (const other of list.children) {
    const seen = alerts.get(other.dataset.alertId);
    if (seen && seen.raised_at > view.raised_at) {
      list.insertBefore(li, other);
      return;
    }
  }
  list.append(li);
}

function keepFocus(node, remove) {
  // NB: if focus is inside a card that goes away, move it to a neighbour, not <body>.
  const focused = node.contains(document.activeElement);
  const next = node.nextElementSibling || node.previousElementSibling;
  remove();
  if (focused) (next || $("alert-list")).focus();
}

function showAlert(view, live) {
  const before = alerts.get(view.alert_id);
  if (view.state === "resolved") {
    alerts.delete(view.alert_id);
    const li = cards.get(view.alert_id);
    cards.delete(view.alert_id);
    if (li) keepFocus(li, () => li.remove());
    if (live && view.closed_reason === "departed") {
      announce(i18n.t("staff.closed.departed", { name: view.display_name || "" }));
    }
    counts();
    return;
  }
  alerts.set(view.alert_id, view);
  if (!cards.has(view.alert_id)) {
    const li = alertCard(view);
    cards.set(view.alert_id, li);
    placeCard(li, view);
  }
  patchCard(view);
  counts();
  if (!live) return;
  const vars = { kind: kindLabel(view.kind), name: view.display_name || "", staff: view.claimed_by || "" };
  if (!before) {
    announce(i18n.t("staff.announce_new", vars));
    chime(false);
  } else if (view.state === "escalated" && before.state !== "escalated") {
    announce(i18n.t("staff.announce_escalated", vars));
    chime(true);
  } else if (view.state === "claimed" && before.state !== "claimed") {
    announce(i18n.t("staff.announce_claimed", vars));
  }
}

function counts() {
  $("alerts-count").textContent = String(alerts.size);
  $("alerts-empty").hidden = alerts.size > 0;
  $("present-count").textContent = String(present.size);
  $("present-empty").hidden = present.size > 0;
}

// --- kpi -------------------------------------------------------------------------------

function showKpi(data) {
  if (data) kpi = data;
  if (!kpi) return;
  $("kpi-claim-median").textContent = duration(kpi.claim.median_s);
  $("kpi-claim-p90").textContent = duration(kpi.claim.p90_s);
  $("kpi-handover-median").textContent = duration(kpi.handover.median_s);
  $("kpi-handover-p90").textContent = duration(kpi.handover.p90_s);
  for (const [id, value] of [
    ["kpi-claim-median", kpi.claim.median_s],
    ["kpi-claim-p90", kpi.claim.p90_s],
    ["kpi-handover-median", kpi.handover.median_s],
    ["kpi-handover-p90", kpi.handover.p90_s],
  ]) {
    const over = value !== null && value > kpi.target_s;
    $(id).classList.toggle("kpi-over", over);
  }
  $("kpi-target").textContent = i18n.t("staff.kpi_target", { t: duration(kpi.target_s) });
  $("kpi-count").textContent = i18n.t("staff.kpi_count", {
    n: kpi.handover.count,
    k: kpi.handover.within_target,
  });
}

// --- acts ------------------------------------------------------------------------------

function staffName() {
  if (config.staff) return config.staff;
  return (nameInput && nameInput.value.trim()) || "";
}

function errorText(code) {
  if (i18n.has(`staff.refused.${code}`)) {
    return i18n.t("staff.refused", { where: i18n.t("staff.where.console"), reason: i18n.t(`staff.refused.${code}`) });
  }
  return i18n.t(i18n.has(`staff.error.${code}`) ? `staff.error.${code}` : "staff.error.internal");
}

async function act(action, data, control) {
  if (!staffName()) {
    toast(i18n.t("staff.error.name_required"));
    nameInput?.focus();
    return false;
  }
  // NB: not `disabled`: a disabled button drops the focus to <body> mid-act.
  if (control.getAttribute("aria-disabled") === "true") return false;
  control.setAttribute("aria-disabled", "true");
  try {
    const answer = await client.emit(action, { ...data, staff: staffName() });
    if (answer && answer.ok) return true;
    const code = (answer && answer.error) || "internal";
    toast(errorText(code));
    if (code === "name_required") nameInput?.focus();
    return false;
  } catch {
    toast(i18n.t("staff.error.offline"));
    return false;
  } finally {
    control.removeAttribute("aria-disabled");
  }
}

// --- signals ---------------------------------------------------------------------------

function snapshot(data) {
  const members = data.present || [];
  const views = data.alerts || [];
  const keepMembers = new Set(members.map((m) => m.customer_id));
  for (const id of [...present.keys()]) if (!keepMembers.has(id)) dropMember(id);
  for (const view of [...members].sort((a, b) => a.since - b.since)) showMember(view);
  const keepAlerts = new Set(views.map((a) => a.alert_id));
  for (const view of [...alerts.values()]) {
    if (!keepAlerts.has(view.alert_id)) showAlert({ ...view, state: "resolved" }, false);
  }
  for (const view of views) showAlert(view, !alerts.has(view.alert_id) && booted);
  booted = true;
}

function forget(data) {
  dropMember(data.customer_id);
  for (const view of [...alerts.values()]) {
    if (view.customer_id === data.customer_id) showAlert({ ...view, state: "resolved" }, false);
  }
}

function handedOver(data) {
  toast(i18n.t("staff.handed_over", { order: data.order_id, name: data.display_name }));
  announce(i18n.t("staff.handed_over", { order: data.order_id, name: data.display_name }));
  const member = present.get(data.customer_id);
  if (member && Array.isArray(member.pickups)) {
    showMember({ ...member, pickups: member.pickups.filter((o) => o !== data.order_id) });
  }
}

function refused(data) {
  const where = data.where === "console" ? i18n.t("staff.where.console") : label("zone", data.where);
  const reason = i18n.has(`staff.refused.${data.reason}`) ? i18n.t(`staff.refused.${data.reason}`) : data.reason;
  const text = i18n.t("staff.refused", { where, reason });
  toast(text);
  announce(text);
}

let booted = false;
const client = new SocketClient(config.namespace, {
  onStatus(status) {
    const pill = $("live-pill");
    const online = status === "connected";
    pill.dataset.i18n = online ? "staff.live" : "staff.offline";
    pill.textContent = i18n.t(pill.dataset.i18n);
    pill.className = online ? "pill pill-live" : "pill pill-offline";
    if (online) client.emit("sync").catch(() => {});
    if (status === "refused" && config.pin_required) location.reload(); // sign-in expired
  },
});
client
  .on("snapshot", snapshot)
  .on("arrival", showMember)
  .on("departure", (data) => dropMember(data.customer_id))
  .on("alert", (view) => showAlert(view, true))
  .on("kpi", showKpi)
  .on("handed_over", handedOver)
  .on("handover_refused", refused)
  .on("forget", forget);

function relabel() {
  for (const view of present.values()) fillMember(rows.get(view.customer_id), view);
  for (const view of alerts.values()) patchCard(view);
  showKpi(null);
}

function nameState() {
  document.body.classList.toggle("has-name", Boolean(staffName()));
}
if (nameInput) {
  nameInput.value = localStorage.getItem(NAME_KEY) || "";
  nameInput.addEventListener("input", nameState);
  nameInput.addEventListener("change", () => localStorage.setItem(NAME_KEY, nameInput.value.trim()));
}
nameState();
const LANG_KEY = "storeedge.staff_lang"; // a staff tablet keeps its user's language
const savedLanguage = localStorage.getItem(LANG_KEY);
if (savedLanguage && savedLanguage !== i18n.language && !new URLSearchParams(location.search).has("lang")) {
  i18n.use(savedLanguage);
}
$("lang-toggle").addEventListener("click", () => {
  i18n.use(i18n.other());
  localStorage.setItem(LANG_KEY, i18n.language);
  relabel();
});
setInterval(() => {
  // The waiting time ticks in place; nothing is rebuilt.
  const now = Date.now() / 1000;
  for (const wait of document.querySelectorAll(".alert-card .wait")) {
    wait.textContent = i18n.t("staff.waiting", { t: duration(now - Number(wait.dataset.since)) });
  }
}, 1000);
counts();
client.connect();
