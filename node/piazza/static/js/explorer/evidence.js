// Evidence of double signing the chain recorded, in key order, a page at a time (#/evidence).
import { h, mount } from "../dom.js";
import { get } from "../api.js";
import { translator } from "../i18n.js";
import { accountLink, blockLink, empty, mono, pager, short, table } from "./common.js";

export const PAGE = 50;

const t = translator({
  it: {
    title: "Prove di doppia firma", intro: "Un validatore che firma due voti diversi per la stessa altezza, round e tipo lascia una prova: chiunque la vede la registra sulla catena.",
    none: "Nessuna prova registrata: nessun validatore ha firmato due volte.", validator: "Validatore", where: "Altezza · round",
    type: "Voto", votes: "I due voti", recorded: "Registrata al blocco", reporter: "Segnalata da", nil: "nessun blocco",
  },
  en: {
    title: "Double-signing evidence", intro: "A validator that signs two different votes for the same height, round and type leaves evidence: anyone who sees it records it on the chain.",
    none: "No evidence recorded: no validator has signed twice.", validator: "Validator", where: "Height · round",
    type: "Vote", votes: "The two votes", recorded: "Recorded in block", reporter: "Reported by", nil: "no block",
  },
});

export async function render(main, route) {
  const after = route.query.get("after");
  const page = await get("/v1/evidence", { limit: PAGE, after });
  const vote = (hash) => (hash === null ? t("nil") : mono(short(hash, 8, 4)));
  mount(main,
    h("h1", {}, t("title")),
    h("p", { class: "muted" }, t("intro")),
    page.evidence.length === 0 ? empty(t("none")) : table(t("title"),
      [t("validator"), t("where"), t("type"), t("votes"), t("recorded"), t("reporter")],
      page.evidence.map((e) => [accountLink(e.validator), `${e.height} · ${e.round}`, e.type,
        h("span", {}, vote(e.block_hash_a), " ≠ ", vote(e.block_hash_b)), blockLink(e.included_height), accountLink(e.reporter)]),
      { id: "evidence" }),
    pager({ newer: after ? "#/evidence" : null, older: page.next ? `#/evidence?after=${page.next}` : null, ordered: true }));
}
