// Translations for the screens: both catalogs are embedded in the page (no fetch,
// works offline); elements carry data-i18n keys and are re-rendered on a switch.

export class I18n {
  constructor(catalogs, language) {
    this.catalogs = catalogs;
    this.language = catalogs[language] ? language : "fr";
  }

  static fromPage(language) {
    const catalogs = JSON.parse(document.getElementById("i18n-catalogs").textContent);
    return new I18n(catalogs, language);
  }

  t(key, vars = {}) {
    const text = this.catalogs[this.language][key] ?? this.catalogs.fr[key] ?? key;
    return text.replace(/\{(\w+)\}/g, (whole, name) => (name in vars ? String(vars[name]) : whole));
  }

  has(key) {
    return key in this.catalogs[this.language];
  }

  other() {
    return this.language === "fr" ? "en" : "fr";
  }

  use(language, root = document) {
    if (!this.catalogs[language]) return;
    this.language = language;
    document.documentElement.lang = language;
    for (const el of root.querySelectorAll("[data-i18n]")) {
      const vars = el.dataset.i18nVars ? JSON.parse(el.dataset.i18nVars) : {};
      el.textContent = this.t(el.dataset.i18n, vars);
    }
    for (const el of root.querySelectorAll("[data-i18n-placeholder]")) {
      el.placeholder = this.t(el.dataset.i18nPlaceholder);
    }
    for (const el of root.querySelectorAll("[data-i18n-aria]")) {
      el.setAttribute("aria-label", this.t(el.dataset.i18nAria));
    }
  }
}

export function readConfig(id) {
  return JSON.parse(document.getElementById(id).textContent);
}
