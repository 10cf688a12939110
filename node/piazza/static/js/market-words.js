// The marketplace's words for people: categories, ways of delivery, the statuses of listings and orders
// (FORMAT.md §6.5.1), Italian first. A category the piazza does not know is shown as it is on the chain.
import { translator } from "./i18n.js";

const t = translator({
  it: {
    "cat-food": "Alimentari", "cat-household": "Casa", "cat-health": "Salute", "cat-culture": "Cultura",
    "cat-education": "Istruzione", "cat-transport": "Trasporti", "cat-services": "Servizi", "cat-sport": "Sport",
    "del-pickup": "Ritiro sul posto", "del-delivery": "Consegna a domicilio", "del-appointment": "Su appuntamento",
    "ls-active": "Attivo", "ls-paused": "Sospeso", "ls-withdrawn": "Ritirato",
    "os-placed": "In attesa del fornitore", "os-accepted": "Accettato: da confermare", "os-disputed": "In contestazione",
    "os-confirmed": "Consegna confermata", "os-released": "Pagato alla scadenza", "os-decided": "Deciso dall'arbitro",
    "os-declined": "Rifiutato dal fornitore", "os-cancelled": "Annullato", "os-expired": "Scaduto",
  },
  en: {
    "cat-food": "Food", "cat-household": "Household", "cat-health": "Health", "cat-culture": "Culture",
    "cat-education": "Education", "cat-transport": "Transport", "cat-services": "Services", "cat-sport": "Sport",
    "del-pickup": "Pick-up", "del-delivery": "Home delivery", "del-appointment": "By appointment",
    "ls-active": "Active", "ls-paused": "Paused", "ls-withdrawn": "Withdrawn",
    "os-placed": "Waiting for the provider", "os-accepted": "Accepted: to confirm", "os-disputed": "Disputed",
    "os-confirmed": "Delivery confirmed", "os-released": "Paid at the deadline", "os-decided": "Decided by the arbiter",
    "os-declined": "Declined by the provider", "os-cancelled": "Cancelled", "os-expired": "Expired",
  },
});

function word(prefix, value) {
  const key = `${prefix}-${value}`;
  const text = t(key);
  return text === key ? value : text;
}

export const categoryName = (category) => word("cat", category);
export const deliveryName = (delivery) => word("del", delivery);
export const listingStatusName = (status) => word("ls", status);
export const orderStatusName = (status) => word("os", status);

/** The tone of an order's badge: good once completed, bad when refunded or disputed. */
export function orderTone(status) {
  if (["confirmed", "released", "decided"].includes(status)) return "good";
  if (["declined", "cancelled", "expired", "disputed"].includes(status)) return "bad";
  return "";
}

export const DAY_MS = 86_400_000;
