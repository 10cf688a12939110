// The residents' piazza: wallet, marketplace, purchase groups, agora (docs/piazza.md).
import { startShell } from "./shell.js";
import { translator } from "./i18n.js";

const t = translator({
  it: { brand: "Piazza", sections: "Sezioni", wallet: "Borsellino", market: "Mercato", groups: "Gruppi d'acquisto", agora: "Agorà", explorer: "Esplora" },
  en: { brand: "Piazza", sections: "Sections", wallet: "Wallet", market: "Market", groups: "Purchase groups", agora: "Agora", explorer: "Explore" },
});

startShell({
  fallback: "wallet",
  titles: { brand: t("brand") },
  views: {
    wallet: { label: t("wallet"), load: () => import("./wallet-view.js") },
    market: { label: t("market"), load: () => import("./market-view.js") },
    groups: { label: t("groups"), load: () => import("./groups-view.js") },
    agora: { label: t("agora"), load: () => import("./agora-view.js") },
  },
});
