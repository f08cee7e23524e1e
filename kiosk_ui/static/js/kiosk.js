// The kiosk screen: an attract loop (with this kiosk's pairing QR) while idle, a
// discreet greeting while a consenting member stands here, and the member's personal
// space once they opened it themselves (member QR at the reader, or the app).
//
// Privacy: everything personal is built with textContent from the edge's messages and
// removed from the DOM when the space closes, when the link drops and on idle; the
// page stores nothing (no cookies of its own, no localStorage). Money arrives in
// integer minor units and is formatted here with Intl.NumberFormat.

import { I18n, readConfig } from "./i18n.js";
import { SocketClient } from "./sio.js";

const config = readConfig("kiosk-config");
const i18n = I18n.fromPage(document.documentElement.lang);
const homeLanguage = i18n.language;
const $ = (id) => document.getElementById(id);
const shell = $("kiosk");
const greetingBox = $("greeting");
const attract = $("attract");
const spaceRoot = $("space-root");
const notices = $("notices");
const pairImage = $("pairing-qr");
const langButton = $("lang-toggle");
langButton.removeAttribute("data-i18n-aria"); // NB: labelled in refreshStatic instead
const TOUCH_EVERY_MS = 5000;
const NOTICE_MS = 7000;
const RETURN_REASONS = ["too_small", "too_large", "damaged", "not_as_described", "changed_mind"];
const FULFILMENTS = ["ship_to_home", "other_store", "pickup_here"];

let greeted = null; // {first_name, language} while a greeting is up
let greetTimer = null;
let space = null; // the open space's last payload, or null
let sheet = null; // the open dialog: {mode: "aisle" | "return" | "handoff", ...}
let idle = null; // {left, timer} while the "still there?" warning runs
let lastTouch = 0;
let online = true;

// --- small DOM helpers ----------------------------------------------------------------------

function el(tag, attrs = {}, text = null) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value !== null && value !== undefined && value !== false) node.setAttribute(name, value);
  }
  if (text !== null) node.textContent = text; // NB: text only: markup from profiles stays inert
  return node;
}

function part(role) {
  return spaceRoot.querySelector(`[data-role="${role}"]`);
}

function locale() {
  return i18n.language === "en" ? "en-GB" : "fr-FR";
}

function money(minor, currency) {
  if (typeof minor !== "number") return i18n.t("kiosk.price_unknown");
  try {
    const format = new Intl.NumberFormat(locale(), { style: "currency", currency });
    return format.format(minor / 10 ** format.resolvedOptions().maximumFractionDigits);
  } catch {
    return `${(minor / 100).toFixed(2)} ${currency}`;
  }
}

function known(prefix, value, fallback) {
  const key = `${prefix}.${value}`;
  return i18n.has(key) ? i18n.t(key) : i18n.t(`${prefix}.${fallback}`);
}

function notice(kind, key) {
  const text = i18n.t(i18n.has(key) ? key : "kiosk.error.other");
  const node = el("div", { class: `notice notice-${kind}`, "data-testid": "notice", "data-kind": kind, role: "status" }, text);
  notices.append(node);
  while (notices.children.length > 3) notices.firstElementChild.remove();
  setTimeout(() => node.remove(), NOTICE_MS);
}

// --- greeting (no personal data beyond a first name) --------------------------------------------

function renderGreeting() {
  const card = $("greeting-template").content.cloneNode(true);
  card.querySelector('[data-role="hello"]').textContent = i18n.t("kiosk.greet_hello", { name: greeted.first_name });
  card.querySelector('[data-role="line"]').textContent = i18n.t("kiosk.greet_line");
  card.querySelector('[data-role="hint"]').textContent = i18n.t("kiosk.greet_hint");
  greetingBox.replaceChildren(card);
}

function greet(data) {
  if (space || !data || typeof data.first_name !== "string" || !data.first_name) return;
  greeted = { first_name: data.first_name, language: data.language };
  i18n.use(data.language === "en" ? "en" : "fr");
  refreshStatic();
  renderGreeting();
  greetingBox.hidden = false;
  attract.hidden = true;
  shell.dataset.state = "greeting";
  clearTimeout(greetTimer);
  greetTimer = setTimeout(clearGreeting, config.idle_s * 1000);
}

function clearGreeting() {
  clearTimeout(greetTimer);
  greeted = null;
  greetingBox.replaceChildren(); // nothing personal stays in the page
  greetingBox.hidden = true;
  if (!space) {
    attract.hidden = false;
    shell.dataset.state = "idle";
    if (i18n.language !== homeLanguage) {
      i18n.use(homeLanguage);
      refreshStatic();
    }
  }
}

// --- the personal space --------------------------------------------------------------------------

function openSpace(data) {
  if (!data || typeof data.session_id !== "string") return;
  wipeSpace();
  clearGreeting();
  notices.replaceChildren(); // NB: yesterday's "code refused" is not about this space
  space = data;
  i18n.use(data.language === "en" ? "en" : "fr");
  refreshStatic();
  spaceRoot.replaceChildren($("space-template").content.cloneNode(true));
  attract.hidden = true;
  greetingBox.hidden = true;
  shell.dataset.state = "space";
  renderSpace();
  const title = part("hello");
  title.setAttribute("tabindex", "-1");
  title.focus();
}

function updateSpace(data) {
  if (!space || !data || data.session_id !== space.session_id) return;
  space = data;
  renderSpace();
  if (data.why === "cart_replaced") {
    const note = part("cart-note");
    note.textContent = i18n.t("kiosk.cart_replaced");
    note.hidden = false;
  }
}

function wipeSpace() {
  stopIdle();
  sheet = null;
  space = null;
  spaceRoot.replaceChildren(); // NB: the dialogs live inside: they go with it
  if (!greeted) {
    attract.hidden = false;
    shell.dataset.state = "idle";
  }
}

function closedSpace(data) {
  if (!space) return;
  wipeSpace();
  const reason = data && data.reason;
  const key = reason === "idle" ? "kiosk.notice.closed_idle"
    : reason === "walked_away" || reason === "departed" ? "kiosk.notice.closed_away"
    : "kiosk.notice.closed";
  notice("done", key);
  if (i18n.language !== homeLanguage) {
    i18n.use(homeLanguage);
    refreshStatic();
  }
}

function renderSpace() {
  if (!space) return;
  const focusKey = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.key : null;
  const name = space.first_name;
  part("hello").textContent = name ? i18n.t("kiosk.space_hello", { name }) : i18n.t("kiosk.space_hello_anon");
  part("tier").textContent = known("tier", space.tier, "member");
  const points = part("points");
  points.textContent = i18n.t("kiosk.points", { points: new Intl.NumberFormat(locale()).format(space.points) });
  points.setAttribute("data-points", String(space.points));
  const advisor = spaceRoot.querySelector('[data-testid="call-advisor"]');
  advisor.textContent = i18n.t(space.advisor_called ? "kiosk.advisor_called" : "kiosk.call_advisor");
  advisor.setAttribute("aria-disabled", space.advisor_called ? "true" : "false");
  spaceRoot.querySelector('[data-testid="continue-on-phone"]').textContent = i18n.t("kiosk.continue_on_phone");
  spaceRoot.querySelector('[data-testid="close-space"]').textContent = i18n.t("kiosk.close_space");
  part("wishlist-title").textContent = i18n.t("kiosk.wishlist");
  part("cart-title").textContent = i18n.t("kiosk.cart");
  part("orders-title").textContent = i18n.t("kiosk.orders");
  renderList(part("wishlist"), space.wishlist.map(wishItem), "kiosk.wishlist_empty");
  renderList(part("cart"), space.cart.lines.map(cartLine), "kiosk.cart_empty");
  renderList(part("orders"), space.orders.map(orderItem), "kiosk.orders_empty");
  renderTotal();
  if (sheet) renderSheet();
  if (idle) renderIdle();
  if (focusKey) {
    const again = spaceRoot.querySelector(`[data-key="${CSS.escape(focusKey)}"]`);
    if (again) again.focus();
  }
}

function renderList(list, items, emptyKey) {
  list.replaceChildren(...(items.length ? items : [el("li", { class: "empty" }, i18n.t(emptyKey))]));
}

function renderTotal() {
  const lines = space.cart.lines.filter((l) => typeof l.price_minor === "number");
  const total = part("cart-total");
  if (!lines.length) {
    total.textContent = "";
    return;
  }
  const sum = lines.reduce((acc, l) => acc + l.price_minor * l.qty, 0);
  total.textContent = i18n.t("kiosk.cart_total", { total: money(sum, lines[0].currency) });
}

function productInfo(p) {
  const box = el("div", { class: "product-info" });
  box.append(el("h3", { class: "product-name" }, p.name));
  box.append(el("p", { class: "price", "data-testid": "price", "data-minor": p.price_minor }, money(p.price_minor, p.currency)));
  const facts = el("p", { class: "facts" });
  facts.append(el("span", { class: "stock", "data-testid": "stock", "data-level": p.stock }, known("kiosk.stock", p.stock, "unknown")));
  facts.append(el("span", { class: "location", "data-testid": "location" },
    p.location ? i18n.t("kiosk.location", { place: p.location }) : i18n.t("kiosk.location_unknown")));
  box.append(facts);
  return box;
}

function wishItem(p) {
  const li = el("li", { class: "product", "data-testid": "wishlist-item", "data-sku": p.sku });
  li.append(productInfo(p));
  const actions = el("div", { class: "product-actions" });
  const inCart = space.cart.lines.some((l) => l.sku === p.sku);
  if (inCart) {
    actions.append(el("span", { class: "badge ok" }, i18n.t("kiosk.in_cart")));
  } else {
    const id = `qty-${p.sku}`;
    const label = el("label", { class: "qty", for: id }, i18n.t("kiosk.qty"));
    const select = el("select", { id, "data-role": "qty", "data-key": `qty:${p.sku}` });
    for (let n = 1; n <= 10; n += 1) select.append(el("option", { value: String(n) }, String(n)));
    actions.append(label, select);
    actions.append(el("button", { type: "button", class: "btn btn-primary", "data-testid": "add-to-cart", "data-key": `add:${p.sku}`,
      "aria-label": i18n.t("kiosk.add_to_cart_label", { name: p.name }) }, i18n.t("kiosk.add_to_cart")));
  }
  if (p.orderable_elsewhere) {
    actions.append(el("button", { type: "button", class: "btn btn-secondary", "data-testid": "order-elsewhere", "data-key": `aisle:${p.sku}`,
      "aria-label": i18n.t("kiosk.order_elsewhere_label", { name: p.name }) }, i18n.t("kiosk.order_elsewhere")));
  }
  li.append(actions);
  return li;
}

function cartLine(line) {
  const li = el("li", { class: "product", "data-testid": "cart-line", "data-sku": line.sku, "data-qty": String(line.qty), "data-line-id": line.line_id });
  li.append(productInfo(line));
  const actions = el("div", { class: "product-actions" });
  actions.append(el("span", { class: "qty-figure" }, i18n.t("kiosk.qty_n", { n: line.qty })));
  actions.append(el("button", { type: "button", class: "btn btn-quiet", "data-testid": "remove-line", "data-key": `remove:${line.line_id}`,
    "aria-label": i18n.t("kiosk.remove_line_label", { name: line.name }) }, i18n.t("kiosk.remove_line")));
  li.append(actions);
  return li;
}

function orderItem(order) {
  const li = el("li", { class: "order", "data-testid": "order", "data-order-id": order.order_id });
  li.append(el("h3", { class: "order-title" }, i18n.t("kiosk.order_title", { order: order.order_id })));
  li.append(el("p", { class: "order-status" },
    `${known("kiosk.order_kind", order.kind, "other")} · ${known("kiosk.order_status", order.status, "other")}`));
  const lines = el("ul", { class: "order-lines" });
  for (const line of order.lines) lines.append(el("li", {}, `${line.name} × ${line.qty}`));
  li.append(lines);
  if (order.pickup_point) li.append(el("p", { class: "muted" }, i18n.t("kiosk.pickup_point", { point: order.pickup_point })));
  const actions = el("div", { class: "order-actions" });
  if (order.ready_for_pickup) {
    if (order.pickup_requested) actions.append(el("span", { class: "badge ok" }, i18n.t("kiosk.pickup_requested")));
    else actions.append(el("button", { type: "button", class: "btn btn-primary", "data-testid": "pickup-here", "data-key": `pickup:${order.order_id}` }, i18n.t("kiosk.pickup_here")));
  }
  if (order.returnable) {
    if (order.return_requested) actions.append(el("span", { class: "badge ok" }, i18n.t("kiosk.return_requested")));
    else actions.append(el("button", { type: "button", class: "btn btn-secondary", "data-testid": "return-start", "data-key": `return:${order.order_id}` }, i18n.t("kiosk.return_start")));
  }
  if (actions.children.length) li.append(actions);
  return li;
}

// --- dialogs: endless aisle, return, hand-off QR ----------------------------------------------------

function openSheet(state) {
  sheet = state;
  renderSheet();
  const dialog = part("dialog");
  if (!dialog.open) dialog.showModal();
}

function closeSheet() {
  sheet = null;
  const dialog = part("dialog");
  if (dialog && dialog.open) dialog.close();
  if (dialog) part("dialog-body").replaceChildren();
}

function button(testid, text, cls = "btn btn-secondary", extra = {}) {
  return el("button", { type: "button", class: cls, "data-testid": testid, ...extra }, text);
}

function renderSheet() {
  const title = part("dialog-title");
  const body = part("dialog-body");
  const actions = part("dialog-actions");
  const parts = [];
  const buttons = [button("dialog-cancel", i18n.t(sheet.mode === "handoff" ? "kiosk.close" : "kiosk.cancel"), "btn btn-quiet")];
  if (sheet.mode === "aisle") {
    title.textContent = i18n.t("kiosk.aisle_title", { name: sheet.name });
    parts.push(el("p", {}, i18n.t("kiosk.aisle_help")));
    const choices = el("div", { class: "choices", role: "group", "aria-labelledby": "dialog-title" });
    for (const choice of FULFILMENTS) {
      choices.append(button(`fulfilment-${choice}`, i18n.t(`kiosk.fulfilment.${choice}`), "btn btn-choice",
        { "aria-pressed": sheet.choice === choice ? "true" : "false", "data-choice": choice }));
    }
    parts.push(choices);
    buttons.push(button("confirm", i18n.t("kiosk.confirm"), "btn btn-primary", { "aria-disabled": sheet.choice ? "false" : "true" }));
  } else if (sheet.mode === "return") {
    const order = space.orders.find((o) => o.order_id === sheet.order_id);
    title.textContent = i18n.t("kiosk.return_title", { order: sheet.order_id });
    const group = el("fieldset", { class: "return-lines" });
    group.append(el("legend", {}, i18n.t("kiosk.return_lines")));
    for (const line of order ? order.lines : []) {
      const id = `return-${line.sku}`;
      const row = el("div", { class: "check" });
      const box = el("input", { type: "checkbox", id, "data-testid": "return-line", "data-sku": line.sku });
      box.checked = sheet.skus.has(line.sku);
      row.append(box, el("label", { for: id }, `${line.name} × ${line.qty}`));
      group.append(row);
    }
    parts.push(group);
    const reasonId = "return-reason";
    parts.push(el("label", { for: reasonId, class: "field-label" }, i18n.t("kiosk.return_reason")));
    const select = el("select", { id: reasonId, "data-testid": "return-reason" });
    select.append(el("option", { value: "" }, i18n.t("kiosk.return_reason_pick")));
    for (const reason of RETURN_REASONS) select.append(el("option", { value: reason }, i18n.t(`kiosk.return_reason.${reason}`)));
    select.value = sheet.reason || "";
    parts.push(select);
    buttons.push(button("confirm", i18n.t("kiosk.confirm"), "btn btn-primary"));
  } else if (sheet.mode === "handoff") {
    title.textContent = i18n.t("kiosk.handoff_title");
    parts.push(el("img", { class: "qr", "data-testid": "handoff-qr", "data-payload": sheet.payload, src: sheet.image, alt: i18n.t("kiosk.handoff_alt"), width: "240", height: "240" }));
    parts.push(el("p", {}, i18n.t("kiosk.handoff_help")));
  }
  body.replaceChildren(...parts);
  actions.replaceChildren(...buttons);
}

async function confirmSheet() {
  if (sheet.mode === "aisle") {
    if (!sheet.choice) return;
    const done = await act("request_order", { sku: sheet.sku, qty: 1, fulfilment: sheet.choice }, "kiosk.notice.ordered");
    if (done) closeSheet();
  } else if (sheet.mode === "return") {
    const skus = [...spaceRoot.querySelectorAll('[data-testid="return-line"]')].filter((b) => b.checked).map((b) => b.dataset.sku);
    const reason = spaceRoot.querySelector('[data-testid="return-reason"]').value;
    if (!skus.length) return notice("refused", "kiosk.error.bad_lines");
    if (!reason) return notice("refused", "kiosk.error.bad_reason");
    const done = await act("request_return", { order_id: sheet.order_id, skus, reason }, "kiosk.notice.return_sent");
    if (done) closeSheet();
  }
  return undefined;
}

// --- idle warning (WCAG 2.2.1: a visible countdown and a one-press way to stay) -------------------

function startIdle(data) {
  if (!space) return;
  stopIdle();
  idle = { left: Math.max(1, Math.round(Number(data && data.seconds) || 20)), timer: null };
  renderIdle();
  const dialog = part("idle");
  if (!dialog.open) dialog.showModal();
  idle.timer = setInterval(() => {
    idle.left -= 1;
    if (idle.left <= 0) {
      closedSpace({ reason: "idle" }); // NB: the edge closes it too; the page does not wait
      return;
    }
    renderIdle();
  }, 1000);
}

function renderIdle() {
  part("idle-title").textContent = i18n.t("kiosk.idle_title");
  part("idle-help").textContent = i18n.t("kiosk.idle_help", { n: idle.left });
  part("stay").textContent = i18n.t("kiosk.stay");
}

function stopIdle() {
  if (!idle) return;
  clearInterval(idle.timer);
  idle = null;
  const dialog = part("idle");
  if (dialog && dialog.open) dialog.close();
}

// --- acts: each one is checked again by the edge --------------------------------------------------------

async function act(event, data, doneKey = null) {
  if (!space) return false;
  lastTouch = Date.now();
  try {
    const reply = await client.emit(event, { session: space.session_id, ...data });
    if (reply && reply.ok) {
      if (doneKey) notice("done", online ? doneKey : "kiosk.notice.offline_saved");
      return true;
    }
    notice("refused", `kiosk.error.${reply && reply.reason}`);
  } catch {
    notice("refused", "kiosk.error.offline");
  }
  return false;
}

function onSpaceClick(event) {
  const target = event.target.closest("[data-testid]");
  if (!target || !space) return;
  const item = target.closest("[data-sku]");
  const order = target.closest("[data-order-id]");
  switch (target.dataset.testid) {
    case "add-to-cart": {
      const qty = Number(item.querySelector('[data-role="qty"]').value);
      act("add_to_cart", { sku: item.dataset.sku, qty }, "kiosk.notice.added");
      break;
    }
    case "remove-line":
      act("remove_line", { line_id: item.dataset.lineId }, "kiosk.notice.removed");
      break;
    case "order-elsewhere": {
      const product = space.wishlist.find((p) => p.sku === item.dataset.sku);
      openSheet({ mode: "aisle", sku: item.dataset.sku, name: product ? product.name : item.dataset.sku, choice: null });
      break;
    }
    case "pickup-here":
      act("pickup_here", { order_id: order.dataset.orderId }, "kiosk.notice.pickup_sent");
      break;
    case "return-start":
      openSheet({ mode: "return", order_id: order.dataset.orderId, skus: new Set(), reason: "" });
      break;
    case "return-line":
      if (target.checked) sheet.skus.add(target.dataset.sku);
      else sheet.skus.delete(target.dataset.sku);
      break;
    case "call-advisor":
      if (!space.advisor_called) act("call_advisor", {}, "kiosk.notice.advisor_sent");
      break;
    case "continue-on-phone":
      act("handoff", {});
      break;
    case "close-space":
      act("close_space", {});
      break;
    case "confirm":
      confirmSheet();
      break;
    case "dialog-cancel":
      closeSheet();
      break;
    case "stay":
      stopIdle();
      act("stay", {});
      break;
    default:
      if (target.dataset.choice && sheet && sheet.mode === "aisle") {
        sheet.choice = target.dataset.choice;
        renderSheet();
        spaceRoot.querySelector(`[data-testid="fulfilment-${sheet.choice}"]`).focus();
      }
  }
}

function onSpaceChange(event) {
  if (event.target.dataset.testid === "return-reason" && sheet) sheet.reason = event.target.value;
}

function showHandoff(data) {
  if (!space || !data || typeof data.payload !== "string") return;
  openSheet({ mode: "handoff", payload: data.payload, image: data.image });
}

// --- what stays on the attract screen: pairing QR, store message, offline banner ------------------

function showPairing(data) {
  if (!data || typeof data.payload !== "string" || typeof data.image !== "string") return;
  pairImage.src = data.image;
  pairImage.dataset.payload = data.payload;
  $("pair-card").hidden = false;
}

function showStoreMessage(data) {
  const box = $("store-message");
  const text = data && typeof data.text === "string" ? data.text : "";
  box.textContent = text;
  box.hidden = !text;
}

function showLink(data) {
  online = !(data && data.online === false);
  $("offline").hidden = online;
}

function refreshStatic() {
  pairImage.alt = i18n.t("kiosk.pair_alt");
  // NB: WCAG 2.5.3: the spoken name starts with what the button shows ("EN")
  langButton.setAttribute("aria-label", `${i18n.t("common.lang_button")} – ${i18n.t("common.lang_button_label")}`);
}

function toggleLanguage() {
  i18n.use(i18n.other());
  refreshStatic();
  if (greeted) renderGreeting();
  renderSpace();
}

function toggleTextSize() {
  const big = document.body.classList.toggle("large-text");
  $("text-size").setAttribute("aria-pressed", big ? "true" : "false");
}

function touched() {
  if (!space || Date.now() - lastTouch < TOUCH_EVERY_MS) return;
  lastTouch = Date.now();
  client.emit("touch", { session: space.session_id }).catch(() => {});
}

function tick() {
  $("clock").textContent = new Date().toLocaleTimeString(locale(), { hour: "2-digit", minute: "2-digit" });
}

const client = new SocketClient(config.namespace, {
  auth: { kiosk_id: config.kiosk_id },
  onStatus(status) {
    if (status === "refused") location.reload(); // revoked: the page says "not enrolled"
    const up = status === "connected";
    $("link-status").hidden = up;
    shell.dataset.link = up ? "up" : "down";
    if (up) {
      client.emit("sync").catch(() => {});
    } else {
      wipeSpace(); // NB: a space that can no longer be closed from the edge must not stay up
      clearGreeting();
    }
  },
});
client
  .on("greet", greet)
  .on("clear", clearGreeting)
  .on("space", openSpace)
  .on("space_update", updateSpace)
  .on("space_closed", closedSpace)
  .on("idle_warning", startIdle)
  .on("handoff", showHandoff)
  .on("notice", (data) => data && notice(data.kind === "refused" ? "refused" : "info", String(data.key)))
  .on("pairing", showPairing)
  .on("store_message", showStoreMessage)
  .on("link", showLink);

spaceRoot.addEventListener("click", onSpaceClick);
spaceRoot.addEventListener("change", onSpaceChange);
spaceRoot.addEventListener("cancel", (event) => {
  // NB: Escape on the idle warning means "stay"; on a sheet it just closes it
  if (event.target.dataset.role === "idle") {
    event.preventDefault();
    stopIdle();
    act("stay", {});
  } else {
    sheet = null;
  }
}, true);
document.addEventListener("pointerdown", touched, true);
document.addEventListener("keydown", touched, true);
langButton.addEventListener("click", toggleLanguage);
refreshStatic();
$("text-size").addEventListener("click", toggleTextSize);
tick();
setInterval(tick, 10000);
client.connect();
