// One block: its header, its certificate (the round and who signed) and its transactions (#/block/HEIGHT).
import { h, mount } from "../dom.js";
import { get } from "../api.js";
import { translator } from "../i18n.js";
import {
  accountLink, empty, facts, mono, moment, orNotFound, resultBadge, showNotFound, table, typeName, t as common,
} from "./common.js";

const t = translator({
  it: {
    missing: "Non c'è un blocco all'altezza «{height}».", hash: "Hash", time: "Ora", proposer: "Proponente",
    prev: "Blocco precedente", "state-root": "Radice dello stato", "tx-root": "Radice delle transazioni",
    "results-root": "Radice dei risultati", "validators-hash": "Hash dei validatori", certificate: "Certificato",
    round: "Round", signatures: "Firme", signers: "Validatori che hanno firmato", txs: "Transazioni ({n})",
    "no-txs": "Nessuna transazione in questo blocco.", index: "N.", tx: "Transazione", type: "Tipo", signer: "Firmatario",
    result: "Esito", effects: "Effetti di fine blocco ({n})", module: "Modulo", item: "Oggetto", around: "Blocchi vicini",
    previous: "← Blocco {height}", next: "Blocco {height} →",
  },
  en: {
    missing: "There is no block at height “{height}”.", hash: "Hash", time: "Time", proposer: "Proposer",
    prev: "Previous block", "state-root": "State root", "tx-root": "Transactions root",
    "results-root": "Results root", "validators-hash": "Validators hash", certificate: "Certificate",
    round: "Round", signatures: "Signatures", signers: "Validators who signed", txs: "Transactions ({n})",
    "no-txs": "No transaction in this block.", index: "No.", tx: "Transaction", type: "Type", signer: "Signer",
    result: "Result", effects: "End-of-block effects ({n})", module: "Module", item: "Item", around: "Nearby blocks",
    previous: "← Block {height}", next: "Block {height} →",
  },
});

export async function render(main, route) {
  const asked = route.parts[1] || "";
  if (!/^[0-9]{1,18}$/.test(asked) || Number(asked) < 1) return void showNotFound(main, t("missing", { height: asked }));
  const status = await get("/v1/status");
  if (Number(asked) > status.height) return void showNotFound(main, t("missing", { height: asked }));
  const block = await orNotFound(main, () => get(`/v1/blocks/${asked}`), t("missing", { height: asked }));
  if (!block) return;
  const { header, certificate } = block;
  mount(main,
    h("h1", {}, common("block", { height: block.height })),
    h("nav", { class: "pager", "aria-label": t("around") },
      block.height > 1 ? h("a", { href: `#/block/${block.height - 1}`, class: "button secondary" }, t("previous", { height: block.height - 1 })) : h("span"),
      block.height < status.height ? h("a", { href: `#/block/${block.height + 1}`, class: "button secondary" }, t("next", { height: block.height + 1 })) : h("span")),
    facts([
      [t("hash"), mono(block.hash)],
      [t("time"), moment(header.time_ms)],
      [t("proposer"), accountLink(header.proposer, true)],
      [t("prev"), block.height > 1 ? h("a", { href: `#/block/${block.height - 1}`, class: "mono" }, header.prev_hash) : mono(header.prev_hash)],
      [t("state-root"), mono(header.state_root)],
      [t("tx-root"), mono(header.tx_root)],
      [t("results-root"), mono(header.results_root)],
      [t("validators-hash"), mono(header.validators_hash)],
    ], { id: "block-header" }),
    h("h2", {}, t("certificate")),
    facts([
      [t("round"), h("span", { id: "block-round" }, String(certificate.round))],
      [t("signatures"), String(certificate.signatures.length)],
      [t("signers"), h("ul", { class: "plain", id: "block-signers" }, certificate.signatures.map((s) => h("li", {}, accountLink(s.validator, true))))],
    ], { id: "block-certificate" }),
    h("h2", {}, t("txs", { n: block.txs.length })),
    block.txs.length === 0 ? empty(t("no-txs")) : table(t("txs", { n: block.txs.length }),
      [t("type"), t("signer"), t("result")],
      block.txs.map((tx) => [h("a", { href: `#/tx/${tx.hash}`, class: "type" }, typeName(tx.type)), accountLink(tx.signer), resultBadge(tx.result)]),
      { id: "block-txs" }),
    block.effects.length === 0 ? null : [
      h("h2", {}, t("effects", { n: block.effects.length })),
      table(t("effects", { n: block.effects.length }), [t("module"), t("item"), t("result")],
        block.effects.map((e) => [e.module, mono(e.item), resultBadge(e.result)]), { id: "block-effects" }),
    ]);
}
