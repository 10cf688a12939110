// The chain explorer: status, blocks, transactions, accounts, identities, classes, listings,
// ballots, evidence, with one search box (docs/piazza.md).
import { startShell } from "./shell.js";
import { translator } from "./i18n.js";

const t = translator({ it: { brand: "Esploratore" }, en: { brand: "Explorer" } });

startShell({
  fallback: "status",
  navId: null,
  titles: { brand: t("brand") },
  views: {
    status: { load: () => import("./explorer-view.js") },
  },
});
