// The kiosk screen: an attract loop while idle, a discreet greeting while a
// consenting member stands at this kiosk. Privacy: the greeting shows the first
// name only, and its DOM is removed on clear, on idle timeout and when the
// link drops (a greeting that can no longer be cleared must not stay up).

import { I18n, readConfig } from "./i18n.js";
import { SocketClient } from "./sio.js";

const config = readConfig("kiosk-config");
const i18n = I18n.fromPage(document.documentElement.lang);
const shell = document.getElementById("kiosk");
const greetingBox = document.getElementById("greeting");
const attract = document.getElementById("attract");
const linkStatus = document.getElementById("link-status");
const clock = document.getElementById("clock");
const homeLanguage = i18n.language;

let greeted = null; // {first_name, language} while a greeting is up
let idleTimer = null;

function renderGreeting() {
  const card = document.getElementById("greeting-template").content.cloneNode(true);
  card.querySelector('[data-role="hello"]').textContent = i18n.t("kiosk.greet_hello", {
    name: greeted.first_name,
  });
  card.querySelector('[data-role="line"]').textContent = i18n.t("kiosk.greet_line");
  card.querySelector('[data-role="hint"]').textContent = i18n.t("kiosk.greet_hint");
  greetingBox.replaceChildren(card);
}

function greet(data) {
  if (!data || typeof data.first_name !== "string" || !data.first_name) return;
  greeted = { first_name: data.first_name, language: data.language };
  i18n.use(data.language === "en" ? "en" : "fr");
  renderGreeting();
  greetingBox.hidden = false;
  attract.hidden = true;
  shell.dataset.state = "greeting";
  clearTimeout(idleTimer);
  idleTimer = setTimeout(clearGreeting, config.idle_s * 1000);
}

function clearGreeting() {
  clearTimeout(idleTimer);
  greeted = null;
  greetingBox.replaceChildren(); // nothing personal stays in the page
  greetingBox.hidden = true;
  attract.hidden = false;
  shell.dataset.state = "idle";
  if (i18n.language !== homeLanguage) i18n.use(homeLanguage);
}

function toggleLanguage() {
  i18n.use(i18n.other());
  if (greeted) renderGreeting();
}

function tick() {
  const now = new Date();
  clock.textContent = now.toLocaleTimeString(i18n.language === "en" ? "en-GB" : "fr-FR", {
    hour: "2-digit",
    minute: "2-digit",
  });
}

const client = new SocketClient(config.namespace, {
  auth: { kiosk_id: config.kiosk_id },
  onStatus(status) {
    if (status === "refused") location.reload(); // revoked: the page says "not enrolled"
    const online = status === "connected";
    linkStatus.hidden = online;
    shell.dataset.link = online ? "up" : "down";
    if (online) {
      client.emit("sync").catch(() => {});
    } else {
      clearGreeting();
    }
  },
});
client.on("greet", greet).on("clear", clearGreeting);

document.getElementById("lang-toggle").addEventListener("click", toggleLanguage);
tick();
setInterval(tick, 10000);
client.connect();
