// The console's cards, built once and then patched in place (never rebuilt), so
// focus, scroll and a half-typed code survive every signal.
//   memberRow(id) / fillMember(li, view): a member in the store.
//   alertCard(view, act) / patchCard(li, view, zoneNow): one alert; act(action, data,
//   control) -> Promise<boolean> sends a clerk's act.

let i18n = null;

export function useI18n(catalogs) {
  i18n = catalogs;
}

export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

export function label(prefix, value) {
  const key = `${prefix}.${value}`;
  return i18n.has(key) ? i18n.t(key) : String(value ?? "");
}

export function kindLabel(kind) {
  return i18n.has(`alert.${kind}`) ? i18n.t(`alert.${kind}`) : i18n.t("alert.other");
}

export function duration(seconds) {
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

export function memberRow(customerId) {
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

export function fillMember(li, view) {
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


function button(action, className, text, handler) {
  const node = el("button", className, text);
  node.type = "button";
  node.dataset.action = action;
  node.setAttribute("data-testid", action);
  node.addEventListener("click", handler);
  return node;
}

export function alertCard(view, act) {
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
  if (view.kind === "pickup" && view.order_id) li.append(handoverForm(view, act));
  return li;
}

function handoverForm(view, act) {
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

export function patchCard(li, view, zoneNow) {
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
  name.hidden = !name.textContent; // NB: an alert about no one (a beacon) starts with its zone
  zone.textContent = label("zone", zoneNow || view.zone); // NB: where the member is now
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

