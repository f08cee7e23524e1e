// The staff console: the queue of alerts and the members in the store, live.
// The page holds no state beyond what the server sent: a snapshot on every
// (re)connection, then arrival / departure / alert / kpi / handover signals.
//
// Lists are updated in place: a card is created once, then its parts are patched,
// so focus, scroll and a half-typed code survive every signal. Cards keep their
// place (oldest first) when claimed, so the next tap lands where the clerk aimed.

import { I18n, readConfig } from "./i18n.js";
import { SocketClient } from "./sio.js";
import {
  alertCard,
  duration,
  fillMember,
  kindLabel,
  label,
  memberRow,
  patchCard as patchView,
  useI18n,
} from "./staff_cards.js";
import { announce, chime, toast } from "./staff_notify.js";

const config = readConfig("staff-config");
const i18n = I18n.fromPage(document.documentElement.lang);
useI18n(i18n);
const present = new Map(); // customer_id -> member view
const alerts = new Map(); // alert_id -> alert view
const cards = new Map(); // alert_id -> <li>
const rows = new Map(); // customer_id -> <li>
let kpi = null;
const NAME_KEY = "storeedge.staff_name";

const $ = (id) => document.getElementById(id);
const nameInput = $("staff-name-input");

function patchCard(view) {
  const li = cards.get(view.alert_id);
  const member = view.customer_id ? present.get(view.customer_id) : null;
  if (li) patchView(li, view, member ? member.zone : null);
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
    const li = alertCard(view, act);
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
