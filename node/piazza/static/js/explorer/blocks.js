// The committed blocks, newer first, a page at a time: #/blocks (from the head) or #/blocks?from=HEIGHT.
import { h, mount } from "../dom.js";
import { get } from "../api.js";
import { translator } from "../i18n.js";
import { BLOCK_COLUMNS, blockRow, blockSummaries } from "./chain.js";
import { empty, pager, table } from "./common.js";

export const PAGE = 20;

const t = translator({
  it: { title: "Blocchi", range: "Dall'altezza {from} alla {to}; la catena è all'altezza {head}.", none: "Nessun blocco ancora.", list: "Blocchi, dal più recente" },
  en: { title: "Blocks", range: "From height {from} down to {to}; the chain is at height {head}.", none: "No block yet.", list: "Blocks, newest first" },
});

export async function render(main, route) {
  const head = (await get("/v1/status")).height;
  if (head === 0) return void mount(main, h("h1", {}, t("title")), empty(t("none")));
  const asked = Number.parseInt(route.query.get("from") || "", 10);
  const from = Number.isSafeInteger(asked) && asked >= 1 ? Math.min(asked, head) : head;
  const blocks = await blockSummaries(from, PAGE);
  const to = blocks[blocks.length - 1].height;
  const newer = from < head ? `#/blocks?from=${Math.min(head, from + PAGE)}` : null;
  const older = to > 1 ? `#/blocks?from=${to - 1}` : null;
  mount(main,
    h("h1", {}, t("title")),
    h("p", { class: "muted" }, t("range", { from, to, head })),
    table(t("list"), BLOCK_COLUMNS(), [], { id: "blocks" }),
    pager({ newer, older }));
  main.querySelector("#blocks tbody").append(...blocks.map(blockRow));
}
