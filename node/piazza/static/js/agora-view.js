// The agora (FORMAT.md §6.7; docs/piazza.md "Marketplace and agora"): its spaces and who may take part
// in each; a space's proposals with their supports, its participatory budgets, and writing a proposal.
// A proposal with its thread, a ballot and a budget are their own modules, loaded with their route.
import { h, mount } from "./dom.js";
import { get, ApiError } from "./api.js";
import { translator, formatDate } from "./i18n.js";
import { fromHex, toHex } from "./codec.js";
import { loadClasses, money } from "./piazza-classes.js";
import { whoAmI, identityFacts } from "./piazza-account.js";
import { notice, report, statusSlot } from "./piazza-act.js";
import { newId } from "./piazza-links.js";
import { eligibilityText, eligibilityOf, eligibilityBadge, excerpt } from "./agora-words.js";
import { publishPost, textProblem } from "./agora-texts.js";

const t = translator({
  it: {
    title: "Agorà", intro: "Dove la federazione discute, propone e vota: ogni identità conta una volta sola.",
    spaces: "Spazi", none: "Ancora nessuno spazio.", who: "Chi partecipa: {who}", missing: "Questo spazio non esiste.",
    back: "Tutti gli spazi", rules: "Regole", threshold: "Una proposta ha bisogno di {n} sostegni per andare al voto.",
    "no-threshold": "Una proposta può andare al voto senza sostegni.",
    quorum: "Quorum: {q}% degli aventi diritto; un'opzione passa con più del {p}% dei voti decisivi.",
    proposals: "Proposte", "no-proposals": "Ancora nessuna proposta.", supports: "{n} sostegni", "supports-one": "1 sostegno", ballot: "In votazione",
    budgets: "Bilanci partecipativi", "budget-of": "Bilancio partecipativo:", "no-budgets": "Nessun bilancio partecipativo.",
    "ph-submitting": "Si presentano i progetti fino al {date}", "ph-selecting": "Si scelgono i progetti fino al {date}",
    "ph-closing": "In chiusura", "ph-closed": "Chiuso",
    write: "Scrivi una proposta", text: "La tua proposta", "text-help": "Il testo resta sui nodi, fuori dalla catena: sulla catena va solo la sua impronta (SHA-256). Puoi cancellarlo in seguito.",
    send: "Pubblica la proposta", proposed: "Proposta pubblicata.", "see-it": "Vedi la proposta",
    erased: "cancellata", hidden: "nascosta",
  },
  en: {
    title: "Agora", intro: "Where the federation discusses, proposes and votes: each identity counts once.",
    spaces: "Spaces", none: "No space yet.", who: "Who takes part: {who}", missing: "This space does not exist.",
    back: "All spaces", rules: "Rules", threshold: "A proposal needs {n} supports to go to a vote.",
    "no-threshold": "A proposal may go to a vote without supports.",
    quorum: "Quorum: {q}% of those entitled; an option passes with more than {p}% of the decisive votes.",
    proposals: "Proposals", "no-proposals": "No proposal yet.", supports: "{n} supports", "supports-one": "1 support", ballot: "Being voted",
    budgets: "Participatory budgets", "budget-of": "Participatory budget:", "no-budgets": "No participatory budget.",
    "ph-submitting": "Projects are submitted until {date}", "ph-selecting": "Projects are selected until {date}",
    "ph-closing": "Closing", "ph-closed": "Closed",
    write: "Write a proposal", text: "Your proposal", "text-help": "The text stays on the nodes, off the chain: only its fingerprint (SHA-256) goes on it. You may erase it later.",
    send: "Publish the proposal", proposed: "Proposal published.", "see-it": "See the proposal",
    erased: "erased", hidden: "hidden",
  },
});

const PAGES = {
  post: () => import("./agora-post.js"),
  ballot: () => import("./agora-ballot.js"),
  budget: () => import("./agora-budget.js"),
};

export async function render(main, route) {
  const page = PAGES[route.parts[1]];
  if (page) return (await page()).render(main, route);
  if (route.parts[1] === "space") return renderSpace(main, route, route.parts[2] || "");
  return renderSpaces(main);
}

async function renderSpaces(main) {
  const [spaces, me] = await Promise.all([get("/v1/agora/spaces", { limit: 200 }), whoAmI()]);
  const facts = await identityFacts(me && me.identity);
  mount(main,
    h("h1", {}, t("title")),
    h("p", { class: "muted" }, t("intro")),
    h("h2", {}, t("spaces")),
    spaces.spaces.length === 0 ? h("p", { class: "muted" }, t("none")) : h("ul", { class: "plain spaces" }, spaces.spaces.map((space) => {
      const verdict = eligibilityOf(space, me, facts);
      return h("li", { class: "card" },
        h("h3", {}, h("a", { href: `#/agora/space/${space.id}` }, space.name)),
        h("p", {}, t("who", { who: eligibilityText(space.eligibility) })),
        me ? h("span", { class: `badge ${verdict.may ? "good" : ""}` }, verdict.why) : null);
    })));
}

async function renderSpace(main, route, id) {
  let space;
  try {
    space = await get(`/v1/agora/spaces/${encodeURIComponent(id)}`);
  } catch (error) {
    if (!(error instanceof ApiError) || (error.status !== 404 && error.status !== 400)) throw error;
    mount(main, h("h1", {}, t("missing")), h("a", { href: "#/agora" }, t("back")));
    return;
  }
  const [me, proposals, budgets, classes] = await Promise.all([
    whoAmI(), get(`/v1/agora/spaces/${space.id}/proposals`, { limit: 200 }),
    get(`/v1/agora/spaces/${space.id}/budgets`, { limit: 200 }), loadClasses()]);
  const facts = await identityFacts(me && me.identity);
  const verdict = eligibilityOf(space, me, facts);
  const again = async (shown) => { await render(main, route); report(main, shown); };
  const newest = [...proposals.proposals].sort((a, b) => b.created_height - a.created_height);
  mount(main,
    h("p", {}, h("a", { href: "#/agora" }, `← ${t("back")}`)),
    h("h1", {}, space.name),
    h("p", {}, t("who", { who: eligibilityText(space.eligibility) })),
    eligibilityBadge(verdict),
    h("details", { class: "card" }, h("summary", {}, t("rules")),
      h("p", {}, space.support_threshold ? t("threshold", { n: space.support_threshold }) : t("no-threshold")),
      h("p", {}, t("quorum", { q: space.quorum_permille / 10, p: space.pass_permille / 10 }))),
    h("h2", {}, t("proposals")),
    newest.length === 0 ? h("p", { class: "muted" }, t("no-proposals")) : h("ul", { class: "plain proposals" }, newest.map((p) => h("li", { class: "card" },
      h("p", {}, h("a", { href: `#/agora/post/${p.id}` }, excerpt(p))),
      h("p", { class: "row" },
        h("span", { class: "badge" }, t(p.supports === 1 ? "supports-one" : "supports", { n: p.supports })),
        p.status !== "visible" ? h("span", { class: "badge bad" }, t(p.status)) : null,
        p.ballot ? h("a", { class: "badge good", href: `#/agora/ballot/${p.ballot}` }, t("ballot")) : null)))),
    h("h2", {}, t("budgets")),
    budgets.budgets.length === 0 ? h("p", { class: "muted" }, t("no-budgets")) : h("ul", { class: "plain" }, budgets.budgets.map((b) => h("li", { class: "card" },
      h("p", {}, h("a", { href: `#/agora/budget/${b.id}` }, t("budget-of")), " ", money(classes, b.class_id, b.amount)),
      h("p", { class: "muted" }, t(`ph-${b.phase}`, { date: formatDate(b.phase === "submitting" ? b.submit_until_ms : b.closes_ms) }))))),
    verdict.may ? proposeForm(space, again) : null);
}

function proposeForm(space, again) {
  const text = h("textarea", { id: "propose-text", rows: "5", required: true, "aria-describedby": "propose-help" });
  const slot = statusSlot();
  const button = h("button", { type: "submit" }, t("send"));
  return [h("h2", { id: "propose-title" }, t("write")), h("form", { class: "card", "aria-labelledby": "propose-title", onsubmit: async (event) => {
    event.preventDefault();
    const problem = textProblem(text.value);
    if (problem) { mount(slot, notice("bad", problem)); slot.hidden = false; text.focus(); return; }
    const postId = newId();
    const done = await publishPost(slot, "agora.propose", [postId, fromHex(space.id)], text.value, button);
    if (!done) return;
    await again(notice("good", [t("proposed"), " ", h("a", { href: `#/agora/post/${toHex(postId)}` }, t("see-it"))], done.result.hash));
    if (done.warning) report(document.getElementById("main"), done.warning);
  } },
  h("label", { for: "propose-text" }, t("text")), text,
  h("p", { class: "field-help", id: "propose-help" }, t("text-help")),
  slot, button)];
}
