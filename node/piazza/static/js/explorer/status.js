// The chain's status, kept current: height, last block time, the validators and which are up, and the
// rounds that decided the recent blocks. Polled every 2 s and updated in place, without any live region:
// a screen reader is not told of every block (docs/piazza.md, "The explorer").
import { h, mount } from "../dom.js";
import { get } from "../api.js";
import { translator } from "../i18n.js";
import { BLOCK_COLUMNS, blockRow, blockSummaries } from "./chain.js";
import { accountLink, ago, facts, moment, row, table, vocabulary, t as common } from "./common.js";

export const POLL_MS = 2000;
const RECENT = 12;

const t = translator({
  it: {
    title: "Stato della catena", chain: "Catena", height: "Altezza", "last-block": "Ultimo blocco", role: "Ruolo del nodo",
    pending: "Transazioni in attesa", up: "Validatori attivi", "up-of": "{up} di {all} · quorum {quorum}",
    rounds: "Round per altezza", "rounds-all-first": "tutti gli ultimi {n} blocchi decisi al primo round (0)",
    "rounds-some": "ultimi {n} blocchi: {later} decisi dopo il primo round, al massimo il round {max} (altezza {height})",
    validators: "Validatori", recent: "Blocchi recenti", validator: "Validatore", state: "Stato", signed: "Firme recenti",
    "signed-of": "{k} su {n}", active: "attivo", silent: "non risponde", connected: "collegato a questo nodo",
    updated: "Aggiornato alle {time}, ogni 2 secondi.", stale: "Nodo non raggiungibile alle {time}: riprovo tra 2 secondi.",
    "no-blocks": "Nessun blocco ancora.", "all-blocks": "Tutti i blocchi",
  },
  en: {
    title: "Chain status", chain: "Chain", height: "Height", "last-block": "Last block", role: "Node role",
    pending: "Pending transactions", up: "Validators up", "up-of": "{up} of {all} · quorum {quorum}",
    rounds: "Rounds per height", "rounds-all-first": "all of the last {n} blocks decided in the first round (0)",
    "rounds-some": "last {n} blocks: {later} decided after the first round, at most round {max} (height {height})",
    validators: "Validators", recent: "Recent blocks", validator: "Validator", state: "State", signed: "Recent signatures",
    "signed-of": "{k} of {n}", active: "up", silent: "not responding", connected: "connected to this node",
    updated: "Updated at {time}, every 2 seconds.", stale: "Node unreachable at {time}: trying again in 2 seconds.",
    "no-blocks": "No block yet.", "all-blocks": "All blocks",
  },
});

const word = vocabulary({ it: { role: { validator: "validatore", observer: "osservatore" } }, en: {} });

/**
 * Which validators are up, as this node can tell: itself, those it is connected to, and those whose
 * signatures are in the recent blocks' certificates (a validator another node hears is up too).
 */
export function validatorStates(status, validators, recent) {
  const connected = new Set((status.peers || []).map((p) => p.address));
  if (status.role === "validator") connected.add(status.node_address);
  return validators.map(({ address }) => {
    const signed = recent.filter((b) => b.signers.includes(address)).length;
    return { address, connected: connected.has(address), self: address === status.node_address, signed, up: connected.has(address) || signed > 0 };
  });
}

function roundsText(recent) {
  if (recent.length === 0) return "—";
  const later = recent.filter((b) => b.round > 0);
  if (later.length === 0) return t("rounds-all-first", { n: recent.length });
  const worst = later.reduce((a, b) => (b.round > a.round ? b : a));
  return t("rounds-some", { n: recent.length, later: later.length, max: worst.round, height: worst.height });
}

export async function render(main) {
  let [status, set] = await Promise.all([get("/v1/status"), get("/v1/governance/validators")]);
  let recent = status.height > 0 ? await blockSummaries(status.height, RECENT) : [];

  const live = {
    height: h("span", { id: "status-height", class: "amount big" }),
    time: h("span", { id: "status-time" }),
    pending: h("span", { id: "status-pending" }),
    up: h("span", { id: "status-up" }),
    rounds: h("span", { id: "status-rounds" }),
    updated: h("p", { class: "muted", id: "status-updated" }),
  };
  const validatorsTable = table(t("validators"), [t("validator"), t("state"), t("signed")], [], { id: "status-validators" });
  const blocksTable = table(t("recent"), BLOCK_COLUMNS(), [], { id: "status-blocks" });
  const validatorRows = validatorsTable.querySelector("tbody");
  const blockRows = blocksTable.querySelector("tbody");

  mount(main,
    h("h1", {}, t("title")),
    facts([
      [t("chain"), h("span", { class: "mono" }, status.chain_id)],
      [t("height"), live.height],
      [t("last-block"), live.time],
      [t("up"), live.up],
      [t("rounds"), live.rounds],
      [t("pending"), live.pending],
      [t("role"), word("role", status.role)],
    ], { id: "status-facts" }),
    h("h2", {}, t("validators")), validatorsTable,
    h("div", { class: "spread" }, h("h2", {}, t("recent")), h("a", { href: "#/blocks" }, t("all-blocks"))),
    blocksTable,
    live.updated);

  let shownValidators = "";
  function paint() {
    live.height.textContent = String(status.height);
    live.time.textContent = status.block_time_ms ? `${moment(status.block_time_ms)} (${ago(status.block_time_ms)})` : "—";
    live.pending.textContent = String(status.mempool_size ?? "—");
    const states = validatorStates(status, set.validators, recent);
    live.up.textContent = t("up-of", { up: states.filter((s) => s.up).length, all: states.length, quorum: set.quorum });
    live.rounds.textContent = roundsText(recent);
    // Rows are changed in place, not rebuilt: a keyboard user's focus on a link stays where it is.
    const names = states.map((s) => s.address).join();
    if (names !== shownValidators) {
      shownValidators = names;
      validatorRows.replaceChildren(...states.map((s) => row([
        h("span", {}, accountLink(s.address), s.self ? h("span", { class: "badge" }, common("this-node")) : null),
        h("span", { class: "validator-state" }), h("span", { class: "validator-signed" }),
      ], { dataset: { address: s.address } })));
    }
    for (const s of states) {
      const tr = validatorRows.querySelector(`tr[data-address="${s.address}"]`);
      const badge = tr.querySelector(".validator-state");
      badge.className = `validator-state badge ${s.up ? "good" : "bad"}`;
      badge.textContent = s.up ? t("active") : t("silent");
      badge.title = s.connected ? t("connected") : "";
      tr.querySelector(".validator-signed").textContent = t("signed-of", { k: s.signed, n: recent.length });
    }
    const top = Number(blockRows.firstElementChild?.dataset.height ?? 0);
    for (const s of [...recent].reverse()) if (s.height > top) blockRows.prepend(blockRow(s));
    while (blockRows.children.length > RECENT) blockRows.lastElementChild.remove();
    if (recent.length === 0 && blockRows.children.length === 0) {
      blockRows.append(h("tr", {}, h("td", { colspan: "5" }, t("no-blocks"))));
    } else if (recent.length > 0) {
      for (const tr of [...blockRows.children]) if (!tr.dataset.height) tr.remove();
    }
  }

  paint();
  live.updated.textContent = t("updated", { time: moment(Date.now()) });

  let stopped = false;
  let timer = null;
  async function tick() {
    try {
      const [next, nextSet] = await Promise.all([get("/v1/status"), get("/v1/governance/validators")]);
      if (stopped) return;
      if (next.height > status.height) {
        const fresh = await blockSummaries(next.height, Math.min(RECENT, next.height - status.height));
        recent = [...fresh, ...recent].slice(0, RECENT);
      }
      if (stopped) return;
      status = next;
      set = nextSet;
      paint();
      live.updated.textContent = t("updated", { time: moment(Date.now()) });
    } catch (error) {
      if (stopped) return;
      live.updated.textContent = t("stale", { time: moment(Date.now()) });
    } finally {
      if (!stopped) timer = setTimeout(tick, POLL_MS);
    }
  }
  timer = setTimeout(tick, POLL_MS);
  return () => { stopped = true; clearTimeout(timer); };
}
