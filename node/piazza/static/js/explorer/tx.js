// A transaction by its hash: its status and result, its block, and its body as readable fields
// (#/tx/HASH). The status route says where it is (height, index); the block holds the transaction.
import { h, mount } from "../dom.js";
import { get } from "../api.js";
import { translator } from "../i18n.js";
import { accountLink, classes, facts, mono, moment, resultBadge, showNotFound } from "./common.js";
import { bodyFacts } from "./txbody.js";

const t = translator({
  it: {
    title: "Transazione", missing: "Nessuna transazione con hash «{hash}» su questa catena né in attesa su questo nodo.",
    hash: "Hash", status: "Stato", committed: "confermata", pending: "in attesa", rejected: "rifiutata", result: "Esito",
    block: "Blocco", position: "altezza {height}, posizione {index}", time: "Ora", type: "Tipo", signer: "Firmatario",
    nonce: "Nonce", expiry: "Valida fino all'altezza", body: "Contenuto", error: "Motivo",
    "pending-note": "Il nodo l'ha ricevuta: non è ancora in un blocco.", refresh: "Aggiorna",
  },
  en: {
    title: "Transaction", missing: "No transaction with hash “{hash}” on this chain nor pending at this node.",
    hash: "Hash", status: "Status", committed: "committed", pending: "pending", rejected: "rejected", result: "Result",
    block: "Block", position: "height {height}, position {index}", time: "Time", type: "Type", signer: "Signer",
    nonce: "Nonce", expiry: "Valid until height", body: "Body", error: "Reason",
    "pending-note": "The node has it: it is not in a block yet.", refresh: "Refresh",
  },
});

export async function render(main, route) {
  const hash = (route.parts[1] || "").toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(hash)) return void showNotFound(main, t("missing", { hash: route.parts[1] || "" }));
  const status = await get(`/v1/txs/${hash}`);
  if (status.status === "unknown") return void showNotFound(main, t("missing", { hash }));
  const heading = h("h1", {}, t("title"));
  if (status.status !== "committed") {
    const badge = h("span", { class: status.status === "pending" ? "badge" : "badge bad", id: "tx-status" }, t(status.status));
    return void mount(main, heading, facts([
      [t("hash"), mono(hash)],
      [t("status"), badge],
      status.error ? [t("error"), `${status.error.code}: ${status.error.message}`] : null,
    ]), status.status === "pending" ? [h("p", { class: "notice warn" }, t("pending-note")),
      h("a", { class: "button secondary", href: `#/tx/${hash}?t=${Date.now()}` }, t("refresh"))] : null);
  }
  const [block, known] = await Promise.all([get(`/v1/blocks/${status.height}`), classes()]);
  const tx = block.txs[status.index];
  mount(main, heading,
    facts([
      [t("hash"), mono(hash)],
      [t("status"), h("span", { class: "badge good", id: "tx-status" }, t("committed"))],
      [t("result"), h("span", {}, resultBadge(status.result), status.result.code === "OK" ? null : [" ", status.result.message])],
      [t("block"), h("a", { href: `#/block/${status.height}`, id: "tx-block" }, t("position", { height: status.height, index: status.index }))],
      [t("time"), moment(block.header.time_ms)],
      [t("type"), h("span", { class: "type" }, tx.type)],
      [t("signer"), accountLink(tx.signer, true)],
      [t("nonce"), String(tx.nonce)],
      [t("expiry"), String(tx.expiry)],
    ], { id: "tx-facts" }),
    h("h2", {}, t("body"), " · ", h("span", { class: "mono" }, tx.type)),
    await bodyFacts(tx.type, tx.body, known));
}
