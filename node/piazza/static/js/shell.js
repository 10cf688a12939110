// What the piazza and the explorer share around their views: the hash router, the navigation,
// the language switch and the node's status line (docs/piazza.md, "Pages").

import { h, mount, announce } from "./dom.js";
import { lang, setLanguage, translator } from "./i18n.js";
import { get } from "./api.js";

const t = translator({
  it: { skip: "Vai al contenuto", loading: "Caricamento…", "lang-label": "Lingua", "view-failed": "Questa pagina non si è caricata: {message}",
        "node-up": "Nodo collegato · blocco {height}", "node-down": "Nodo non raggiungibile", retry: "Riprova" },
  en: { skip: "Skip to content", loading: "Loading…", "lang-label": "Language", "view-failed": "This page did not load: {message}",
        "node-up": "Node connected · block {height}", "node-down": "Node unreachable", retry: "Retry" },
});

/** The current route: "#/market/listing/ab12?class=x" → {parts: ["market", "listing", "ab12"], query}. */
export function currentRoute() {
  const raw = location.hash.replace(/^#\/?/, "");
  const [path, search] = raw.split("?");
  return { parts: path ? path.split("/").map(decodeURIComponent) : [], query: new URLSearchParams(search || "") };
}

/** Go to a route of this page ("#/wallet/send"). */
export function go(hash) {
  if (location.hash === hash) window.dispatchEvent(new HashChangeEvent("hashchange"));
  else location.hash = hash;
}

/**
 * Start a page: `views` maps a first path part to {label, load: () => import(...)}; `fallback` is the
 * part shown for "#/". Each view module exports render(main, route) and may return a cleanup function.
 */
export function startShell({ views, fallback, navId = "nav", titles }) {
  document.documentElement.lang = lang;
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = titles[el.dataset.i18n] ?? t(el.dataset.i18n);
  const main = document.getElementById("main");
  // The skip link focuses the content without changing the hash, which is the router's (#main is no route).
  const skip = document.querySelector("a.skip");
  if (skip) skip.addEventListener("click", (event) => { event.preventDefault(); main.focus(); });
  const nav = document.getElementById(navId);
  if (nav) {
    mount(nav, Object.entries(views).filter(([, v]) => v.label).map(([part, view]) =>
      h("li", {}, h("a", { href: `#/${part}`, dataset: { part } }, view.label))));
  }
  const language = document.getElementById("language");
  if (language) {
    const select = h("select", { id: "language-select", "aria-label": t("lang-label"), onchange: (e) => setLanguage(e.target.value) },
      h("option", { value: "it", selected: lang === "it" }, "Italiano"), h("option", { value: "en", selected: lang === "en" }, "English"));
    mount(language, select);
  }
  let cleanup = null;
  let serial = 0;
  async function show() {
    const route = currentRoute();
    const part = route.parts[0] || fallback;
    const view = views[part] || views[fallback];
    if (nav) for (const a of nav.querySelectorAll("a")) {
      if (a.dataset.part === part) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
    }
    if (typeof cleanup === "function") cleanup();
    cleanup = null;
    const mine = ++serial;
    mount(main, h("p", { class: "loading" }, t("loading")));
    try {
      const module = await view.load();
      if (mine !== serial) return;
      const done = await module.render(main, route);
      // A view left while it was loading stops at once (its polling, say) instead of running on unseen.
      if (mine !== serial) { if (typeof done === "function") done(); return; }
      cleanup = done;
      const heading = main.querySelector("h1");
      if (heading) { document.title = `${heading.textContent} · ${titles.brand}`; announce(heading.textContent); }
    } catch (error) {
      if (mine !== serial) return;
      console.warn(error);
      mount(main, h("div", { class: "notice bad", role: "alert" }, t("view-failed", { message: error.message })),
        h("button", { type: "button", onclick: show }, t("retry")));
    }
  }
  window.addEventListener("hashchange", show);
  show();
  watchNode();
}

async function watchNode() {
  const line = document.getElementById("node-status");
  if (!line) return;
  for (;;) {
    try {
      const status = await get("/v1/status");
      line.textContent = t("node-up", { height: status.height });
    } catch {
      line.textContent = t("node-down");
    }
    await new Promise((resolve) => setTimeout(resolve, 5000));
  }
}
