// Blocks as the status page and the list of blocks show them: one summary row each, read from
// /v1/blocks/{height} (the node has no route for a range of blocks: a page asks for each).
import { h } from "../dom.js";
import { get } from "../api.js";
import { blockLink, clock, moment, row } from "./common.js";
import { translator } from "../i18n.js";

const t = translator({
  it: { height: "Altezza", time: "Ora", txs: "Transazioni", "txs-short": "Tx", round: "Round", signers: "Firme" },
  en: { height: "Height", time: "Time", txs: "Transactions", "txs-short": "Txs", round: "Round", signers: "Signatures" },
});

/** The columns of a blocks table; "Tx" is short for a phone's width, its whole word read out and shown on hover. */
export const BLOCK_COLUMNS = () => [t("height"), t("time"), h("abbr", { title: t("txs") }, t("txs-short")), t("round"), t("signers")];

/** What a list shows of a block: its height, time, transactions, the round that decided it and who signed. */
export function summary(block) {
  return {
    height: block.height,
    hash: block.hash,
    time: block.header.time_ms,
    txs: block.txs.length,
    round: block.certificate.round,
    signers: block.certificate.signatures.map((s) => s.validator),
    proposer: block.header.proposer,
  };
}

/** Summaries of the blocks `from`, `from - 1`, … (at most `count`, never below height 1), newer first. */
export async function blockSummaries(from, count) {
  const heights = [];
  for (let height = from; height >= 1 && heights.length < count; height--) heights.push(height);
  const blocks = await Promise.all(heights.map((height) => get(`/v1/blocks/${height}`)));
  return blocks.map(summary);
}

/** One row of a blocks table, keyed by its height (the status page adds and drops rows in place). */
export function blockRow(s) {
  return row([blockLink(s.height), h("time", { datetime: new Date(s.time).toISOString(), title: moment(s.time) }, clock(s.time)), String(s.txs),
    h("span", { class: s.round > 0 ? "badge bad" : "badge" }, String(s.round)), String(s.signers.length)],
  { dataset: { height: String(s.height) } });
}
