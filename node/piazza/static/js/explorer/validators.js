// The validator set of the next block, which are up as this node sees it, and the federation's proposals
// that change the set and its rules (#/validators).
import { h, mount } from "../dom.js";
import { get } from "../api.js";
import { translator } from "../i18n.js";
import { blockSummaries } from "./chain.js";
import { accountLink, empty, pager, table, t as common } from "./common.js";
import { validatorStates } from "./status.js";

const RECENT = 12;

const t = translator({
  it: {
    title: "Validatori", intro: "{n} validatori per il blocco {height}, nell'ordine in cui propongono; un blocco vale con le firme di {quorum}.",
    connected: "collegato a questo nodo", signed: "ha firmato {k} degli ultimi {n} blocchi",
    peer: "in rete a {peer}", active: "attivo", silent: "non risponde",
    proposals: "Proposte della federazione", kind: "Cambiamento", status: "Stato", effective: "Dall'altezza", approvals: "Approvazioni",
    "no-proposals": "Nessuna proposta della federazione.",
  },
  en: {
    title: "Validators", intro: "{n} validators for block {height}, in the order they propose; a block stands with the signatures of {quorum}.",
    connected: "connected to this node", signed: "signed {k} of the last {n} blocks",
    peer: "on the network at {peer}", active: "up", silent: "not responding",
    proposals: "Federation proposals", kind: "Change", status: "Status", effective: "From height", approvals: "Approvals",
    "no-proposals": "No federation proposal.",
  },
});

export async function render(main, route) {
  const after = route.query.get("after");
  const [status, set, proposals] = await Promise.all([
    get("/v1/status"), get("/v1/governance/validators"), get("/v1/governance/proposals", { limit: 50, after }),
  ]);
  const recent = status.height > 0 ? await blockSummaries(status.height, RECENT) : [];
  const states = validatorStates(status, set.validators, recent);
  mount(main,
    h("h1", {}, t("title")),
    h("p", {}, t("intro", { n: set.validators.length, height: set.height, quorum: set.quorum })),
    // A list, not a table: an address, its badges and its network address fit a phone's width one under the other.
    h("ol", { class: "plain cards", id: "validators" }, states.map((s, i) => h("li", { class: "card", dataset: { address: s.address } },
      h("div", { class: "spread" }, h("span", {}, `${i + 1}. `, accountLink(s.address, true)),
        s.self ? h("span", { class: "badge" }, common("this-node")) : null),
      h("div", { class: "row" },
        h("span", { class: s.up ? "badge good" : "badge bad" }, s.up ? t("active") : t("silent")),
        s.connected ? h("span", { class: "badge" }, t("connected")) : null,
        h("span", { class: "muted" }, t("signed", { k: s.signed, n: recent.length }))),
      set.validators[i].peer ? h("div", { class: "mono muted" }, t("peer", { peer: set.validators[i].peer })) : null))),
    h("h2", {}, t("proposals")),
    proposals.proposals.length === 0 ? empty(t("no-proposals")) : table(t("proposals"),
      [t("kind"), t("status"), t("effective"), t("approvals")],
      proposals.proposals.map((p) => [p.kind, p.status, String(p.effective_height), String(p.approvals.length)]),
      { id: "proposals" }),
    pager({ newer: after ? "#/validators" : null, older: proposals.next ? `#/validators?after=${proposals.next}` : null, ordered: true }));
}
