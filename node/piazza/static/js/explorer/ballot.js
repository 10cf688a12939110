// A ballot of the agora: the proposal it decides, its window and quorum, and its tally once the rules let
// it be shown (a commit-then-reveal ballot only when decided; FORMAT.md §6.7) (#/ballot/ID).
import { h, mount } from "../dom.js";
import { ApiError, get } from "../api.js";
import { locale, translator } from "../i18n.js";
import { accountLink, blockLink, facts, moment, mono, orNotFound, permille, showNotFound, vocabulary } from "./common.js";

const t = translator({
  it: {
    title: "Votazione", missing: "Nessuna votazione con id «{id}».", id: "Id", space: "Spazio", proposal: "Proposta", status: "Stato",
    mode: "Modalità", opens: "Si apre", closes: "Si chiude", reveal: "Rivelazioni fino a", quorum: "Quorum", pass: "Per passare serve",
    eligible: "Aventi diritto", cast: "Hanno votato", opener: "Aperta da", created: "Aperta al blocco", tally: "Conteggio",
    outcome: "Esito: «{label}»", "no-outcome": "Nessun esito ancora.", hidden: "Voto segreto: i conteggi si vedono quando la votazione è decisa.",
    votes: "{n} voti ({share})", vote: "1 voto ({share})", "of-eligible": "{cast} su {eligible}", "text-missing": "(testo non disponibile su questo nodo)",
    "share-of": "{share} dei voti espressi",
  },
  en: {
    title: "Ballot", missing: "No ballot with id “{id}”.", id: "Id", space: "Space", proposal: "Proposal", status: "Status",
    mode: "Mode", opens: "Opens", closes: "Closes", reveal: "Reveals until", quorum: "Quorum", pass: "To pass it needs",
    eligible: "Eligible", cast: "Voted", opener: "Opened by", created: "Opened in block", tally: "Tally",
    outcome: "Outcome: “{label}”", "no-outcome": "No outcome yet.", hidden: "Secret ballot: the counts show once it is decided.",
    votes: "{n} votes ({share})", vote: "1 vote ({share})", "of-eligible": "{cast} of {eligible}", "text-missing": "(text not available at this node)",
    "share-of": "{share} of the votes cast",
  },
});

const word = vocabulary({
  it: {
    status: { scheduled: "in programma", open: "aperta", revealing: "in rivelazione", decided: "decisa", failed: "senza esito" },
    mode: { public: "voto palese", "commit-reveal": "voto segreto (impegno e rivelazione)" },
  },
  en: { mode: { "commit-reveal": "secret (commit, then reveal)" } },
});

/** The proposal's post, or null when this node lacks it (its text is kept off chain). */
async function proposalOf(id) {
  try {
    return (await get(`/v1/agora/posts/${id}`)).post;
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return null;
    throw error;
  }
}

function tally(ballot) {
  if (ballot.counts === null) return h("p", { class: "notice warn" }, t("hidden"));
  const total = ballot.counts.reduce((a, b) => a + b, 0);
  const percent = new Intl.NumberFormat(locale, { style: "percent", maximumFractionDigits: 1 });
  return h("ul", { class: "plain tally", id: "ballot-tally" }, ballot.options.map((label, i) => {
    const share = total ? ballot.counts[i] / total : 0;
    const fill = h("span");
    fill.style.width = `${(share * 100).toFixed(1)}%`;
    return h("li", {},
      h("div", { class: "spread" }, h("strong", {}, label), h("span", {}, t(ballot.counts[i] === 1 ? "vote" : "votes", { n: ballot.counts[i], share: percent.format(share) }))),
      h("div", { class: "bar", "aria-hidden": "true" }, fill));
  }));
}

export async function render(main, route) {
  const id = (route.parts[1] || "").toLowerCase();
  if (!/^[0-9a-f]{32}$/.test(id)) return void showNotFound(main, t("missing", { id: route.parts[1] || "" }));
  const ballot = await orNotFound(main, () => get(`/v1/agora/ballots/${id}`), t("missing", { id }));
  if (!ballot) return;
  const [space, post] = await Promise.all([get(`/v1/agora/spaces/${ballot.space}`), proposalOf(ballot.proposal)]);
  mount(main,
    h("h1", {}, t("title")),
    h("blockquote", { class: "card", id: "ballot-proposal" }, post && post.text ? post.text : t("text-missing")),
    facts([
      [t("status"), h("span", { class: ballot.status === "failed" ? "badge bad" : "badge" }, word("status", ballot.status))],
      [t("space"), space.name],
      [t("mode"), word("mode", ballot.mode)],
      [t("opens"), moment(ballot.opens_ms)],
      [t("closes"), moment(ballot.closes_ms)],
      ballot.reveal_until_ms !== null ? [t("reveal"), moment(ballot.reveal_until_ms)] : null,
      [t("eligible"), String(ballot.eligible)],
      [t("cast"), ballot.cast === null ? "—" : t("of-eligible", { cast: ballot.cast, eligible: ballot.eligible })],
      [t("quorum"), permille(ballot.quorum_permille)],
      [t("pass"), t("share-of", { share: permille(ballot.pass_permille) })],
      [t("opener"), accountLink(ballot.opener, true)],
      [t("created"), blockLink(ballot.created_height)],
      [t("proposal"), mono(ballot.proposal)],
      [t("id"), mono(ballot.id)],
    ], { id: "ballot-facts" }),
    h("h2", {}, t("tally")),
    tally(ballot),
    h("p", { class: "card", id: "ballot-outcome" }, ballot.outcome ? t("outcome", { label: ballot.outcome.label }) : t("no-outcome")));
}
