// The validator set of the next block, which are up as this node sees it, and the federation's proposals
// that change the set and its rules (#/validators).
import { h, mount } from "../dom.js";
import { get } from "../api.js";
import { translator } from "../i18n.js";
import { blockSummaries } from "./chain.js";
import { accountLink, empty, mono, pager, table, t as common } from "./common.js";
import { validatorStates } from "./status.js";

const RECENT = 12;

const t = translator({
  it: {
    title: "Validatori", intro: "{n} validatori per il blocco {height}; un blocco vale con le firme di {quorum}.",
    validator: "Validatore", order: "Turno", state: "Stato", connected: "Collegato a questo nodo", signed: "Firme negli ultimi {n} blocchi",
    peer: "Indirizzo di rete", genesis: "dalla genesi", active: "attivo", silent: "non risponde",
    proposals: "Proposte della federazione", kind: "Cambiamento", status: "Stato", effective: "Dall'altezza", approvals: "Approvazioni",
    "no-proposals": "Nessuna proposta della federazione.",
  },
  en: {
    title: "Validators", intro: "{n} validators for block {height}; a block stands with the signatures of {quorum}.",
    validator: "Validator", order: "Turn", state: "State", connected: "Connected to this node", signed: "Signatures in the last {n} blocks",
    peer: "Network address", genesis: "from genesis", active: "up", silent: "not responding",
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
    table(t("title"), [t("order"), t("validator"), t("state"), t("connected"), t("signed", { n: recent.length }), t("peer")],
      states.map((s, i) => [
        String(i + 1),
        h("span", {}, accountLink(s.address), s.self ? h("span", { class: "badge" }, common("this-node")) : null),
        h("span", { class: s.up ? "badge good" : "badge bad" }, s.up ? t("active") : t("silent")),
        common(s.connected ? "yes" : "no"),
        String(s.signed),
        set.validators[i].peer ? mono(set.validators[i].peer) : t("genesis"),
      ]), { id: "validators" }),
    h("h2", {}, t("proposals")),
    proposals.proposals.length === 0 ? empty(t("no-proposals")) : table(t("proposals"),
      [t("kind"), t("status"), t("effective"), t("approvals")],
      proposals.proposals.map((p) => [p.kind, p.status, String(p.effective_height), String(p.approvals.length)]),
      { id: "proposals" }),
    pager({ newer: after ? "#/validators" : null, older: proposals.next ? `#/validators?after=${proposals.next}` : null, ordered: true }));
}
