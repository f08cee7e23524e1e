// The staff console: members in the store and open alerts, live. The page
// holds no state of its own beyond what the server sent: a snapshot on every
// (re)connection, then arrival / departure / alert / forget signals.

import { I18n, readConfig } from "./i18n.js";
import { SocketClient } from "./sio.js";

const config = readConfig("staff-config");
const i18n = I18n.fromPage(document.documentElement.lang);
const present = new Map(); // customer_id -> arrival view
const alerts = new Map(); // alert_id -> alert view
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

function ago(seconds) {
  const elapsed = Math.max(0, Date.now() / 1000 - Number(seconds));
  if (!Number.isFinite(elapsed) || elapsed < 60) return i18n.t("staff.ago_now");
  if (elapsed < 3600) return i18n.t("staff.ago_min", { n: Math.floor(elapsed / 60) });
  return i18n.t("staff.ago_hour", { n: Math.floor(elapsed / 3600) });
}

function clockTime(seconds) {
  const locale = i18n.language === "en" ? "en-GB" : "fr-FR";
  return new Date(Number(seconds) * 1000).toLocaleTimeString(locale, {
    hour: "2-digit",
    minute: "2-digit",
  });
}

function initials(name) {
  const words = String(name || "?").trim().split(/\s+/);
  return words
    .slice(0, 2)
    .map((w) => w[0] || "")
    .join("")
    .toUpperCase();
}

function memberRow(view) {
  const li = el("li", "member");
  li.dataset.customerId = view.customer_id;
  const avatar = el("span", view.vip ? "avatar avatar-vip" : "avatar", initials(view.display_name));
  avatar.setAttribute("aria-hidden", "true");
  const body = el("div", "member-body");
  const top = el("div", "member-top");
  top.append(el("span", "member-name", view.display_name || view.customer_id));
  if (view.vip) top.append(el("span", "badge badge-vip", i18n.t("staff.vip")));
  if (view.tier) top.append(el("span", `badge badge-tier tier-${view.tier}`, label("tier", view.tier)));
  const meta = el("div", "member-meta");
  meta.append(el("span", "zone-chip", label("zone", view.zone)));
  meta.append(el("span", "meta", `${label("staff.via", view.via)} · ${clockTime(view.since)}`));
  body.append(top, meta);
  li.append(avatar, body);
  const pickups = Array.isArray(view.pickups) ? view.pickups.length : 0;
  if (pickups) {
    const text = pickups === 1 ? i18n.t("staff.pickups_one") : i18n.t("staff.pickups_many", { n: pickups });
    li.append(el("span", "pickup-flag", text));
  }
  return li;
}

function alertDetails(view) {
  const lines = [];
  if (view.order_id) lines.push(i18n.t("alert.order", { order: view.order_id }));
  if (view.pickup_point) lines.push(i18n.t("alert.point", { point: view.pickup_point }));
  return lines;
}

function alertCard(view) {
  const li = el("li", `alert-card kind-${view.kind} state-${view.state}`);
  li.dataset.alertId = view.alert_id;
  const head = el("div", "alert-head");
  const kindKey = i18n.has(`alert.${view.kind}`) ? `alert.${view.kind}` : "alert.other";
  head.append(el("span", "alert-kind", i18n.t(kindKey)));
  head.append(el("span", `state-chip state-chip-${view.state}`, label("staff.state", view.state)));
  const who = el("div", "alert-who");
  who.append(el("span", "alert-name", view.display_name || view.customer_id || ""));
  who.append(el("span", "zone-chip", label("zone", view.zone)));
  who.append(el("span", "meta", ago(view.raised_at)));
  li.append(head, who);
  for (const line of alertDetails(view)) li.append(el("div", "alert-detail", line));
  if (view.state === "claimed" && view.claimed_by) {
    li.append(el("div", "alert-claimed", i18n.t("staff.claimed_by", { name: view.claimed_by })));
  }
  const actions = el("div", "alert-actions");
  if (view.state === "open") actions.append(actionButton("claim", "btn btn-primary", view.alert_id));
  actions.append(actionButton("resolve", view.state === "open" ? "btn btn-secondary" : "btn btn-primary", view.alert_id));
  li.append(actions);
  return li;
}

function actionButton(action, className, alertId) {
  const button = el("button", className, i18n.t(`staff.${action}`));
  button.type = "button";
  button.dataset.action = action;
  button.addEventListener("click", () => act(action, alertId, button));
  return button;
}

async function act(action, alertId, button) {
  button.disabled = true;
  try {
    const answer = await client.emit(action, { alert_id: alertId, staff: staffName() });
    if (!answer || !answer.ok) toast(i18n.t(`staff.error.${(answer && answer.error) || "internal"}`));
  } catch {
    toast(i18n.t("staff.error.offline"));
  } finally {
    button.disabled = false;
  }
}

function staffName() {
  if (config.staff) return config.staff;
  return (nameInput && nameInput.value.trim()) || "";
}

let toastTimer = null;
function toast(text) {
  const box = $("toast");
  box.textContent = text;
  box.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => {
    box.hidden = true;
  }, 4000);
}

const ALERT_ORDER = { open: 0, claimed: 1 };

function render() {
  const alertViews = [...alerts.values()].sort(
    (a, b) => (ALERT_ORDER[a.state] ?? 2) - (ALERT_ORDER[b.state] ?? 2) || a.raised_at - b.raised_at,
  );
  $("alert-list").replaceChildren(...alertViews.map(alertCard));
  $("alerts-count").textContent = String(alertViews.length);
  $("alerts-empty").hidden = alertViews.length > 0;
  const members = [...present.values()].sort((a, b) => b.since - a.since);
  $("present-list").replaceChildren(...members.map(memberRow));
  $("present-count").textContent = String(members.length);
  $("present-empty").hidden = members.length > 0;
}

function snapshot(data) {
  present.clear();
  alerts.clear();
  for (const view of data.present || []) present.set(view.customer_id, view);
  for (const view of data.alerts || []) alerts.set(view.alert_id, view);
  render();
}

function forget(data) {
  present.delete(data.customer_id);
  for (const [id, view] of alerts) if (view.customer_id === data.customer_id) alerts.delete(id);
  render();
}

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
  .on("arrival", (view) => {
    present.set(view.customer_id, view);
    render();
  })
  .on("departure", (data) => {
    present.delete(data.customer_id);
    render();
  })
  .on("alert", (view) => {
    if (view.state === "resolved") alerts.delete(view.alert_id);
    else alerts.set(view.alert_id, view);
    render();
  })
  .on("forget", forget);

if (nameInput) {
  nameInput.value = localStorage.getItem(NAME_KEY) || "";
  nameInput.addEventListener("change", () => localStorage.setItem(NAME_KEY, nameInput.value.trim()));
}
const LANG_KEY = "storeedge.staff_lang"; // a staff tablet keeps its user's language
const savedLanguage = localStorage.getItem(LANG_KEY);
if (savedLanguage && savedLanguage !== i18n.language && !new URLSearchParams(location.search).has("lang")) {
  i18n.use(savedLanguage);
}
$("lang-toggle").addEventListener("click", () => {
  i18n.use(i18n.other());
  localStorage.setItem(LANG_KEY, i18n.language);
  render();
});
render();
setInterval(render, 30000);
client.connect();
