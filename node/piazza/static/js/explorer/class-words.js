// A credit class's rules in plain words, shared by the list of classes and a class's page (FORMAT.md §6.3).
import { translator } from "../i18n.js";
import { vocabulary } from "./common.js";

export const word = vocabulary({
  it: {
    kinds: { welfare: "welfare aziendale", purchase_group: "gruppo d'acquisto", virtue: "crediti di virtù", community: "crediti comunitari" },
    transferability: {
      p2p: "si possono dare ad altre persone e spendere presso i fornitori",
      spend_only: "si possono solo spendere presso i fornitori accreditati",
    },
  },
  en: {
    kinds: { welfare: "company welfare", purchase_group: "purchase group", virtue: "virtue credits", community: "community credits" },
    transferability: {
      p2p: "may be given to other people and spent with providers",
      spend_only: "may only be spent with accredited providers",
    },
  },
});

export const t = translator({
  it: { anyone: "chiunque", anything: "qualsiasi acquisto", forever: "senza scadenza", expired: "scaduta", valid: "valida", until: "fino al {date}", from: "dal {date}" },
  en: { anyone: "anyone", anything: "anything", forever: "no expiry", expired: "expired", valid: "valid", until: "until {date}", from: "from {date}" },
});
