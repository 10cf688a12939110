// The chain explorer: status, blocks, transactions, accounts, identities, classes, listings, ballots,
// evidence and validators, read-only from the node's API, with one search box (docs/piazza.md, "The
// explorer"). Each view is a module of js/explorer/ exporting render(main, route).
import { startShell } from "./shell.js";
import { translator } from "./i18n.js";
import { mountSearch } from "./explorer/search.js";

const t = translator({
  it: {
    brand: "Esploratore", "to-piazza": "Alla piazza", sections: "Sezioni", status: "Stato", blocks: "Blocchi", classes: "Classi",
    listings: "Annunci", validators: "Validatori", evidence: "Prove",
  },
  en: {
    brand: "Explorer", "to-piazza": "To the piazza", sections: "Sections", status: "Status", blocks: "Blocks", classes: "Classes",
    listings: "Listings", validators: "Validators", evidence: "Evidence",
  },
});

document.querySelector("header.top nav").setAttribute("aria-label", t("sections"));
mountSearch(document.getElementById("search"));

startShell({
  fallback: "status",
  titles: { brand: t("brand"), "to-piazza": t("to-piazza") },
  views: {
    status: { label: t("status"), load: () => import("./explorer/status.js") },
    blocks: { label: t("blocks"), load: () => import("./explorer/blocks.js") },
    classes: { label: t("classes"), load: () => import("./explorer/classes.js") },
    listings: { label: t("listings"), load: () => import("./explorer/listings.js") },
    validators: { label: t("validators"), load: () => import("./explorer/validators.js") },
    evidence: { label: t("evidence"), load: () => import("./explorer/evidence.js") },
    block: { load: () => import("./explorer/block.js") },
    tx: { load: () => import("./explorer/tx.js") },
    account: { load: () => import("./explorer/account.js") },
    identity: { load: () => import("./explorer/identity.js") },
    class: { load: () => import("./explorer/class.js") },
    listing: { load: () => import("./explorer/listing.js") },
    ballot: { load: () => import("./explorer/ballot.js") },
    search: { load: () => import("./explorer/search.js") },
  },
});
