// The person in front of the marketplace and the agora: the active key of this browser (js/session.js),
// its balances, and the identity it is bound to with that identity's attributes (who may take part
// where, FORMAT.md §6.7 "Eligible").
import { h } from "./dom.js";
import { get } from "./api.js";
import { translator } from "./i18n.js";
import { activeAccount } from "./session.js";

const t = translator({
  it: { "no-wallet": "Per {what} serve un borsellino su questo dispositivo.", "open-wallet": "Apri il borsellino" },
  en: { "no-wallet": "To {what} you need a wallet on this device.", "open-wallet": "Open the wallet" },
});

/**
 * {label, address, balances: Map(class → BigInt), identity: hex | null}, or null when this browser
 * holds no key.
 */
export async function whoAmI() {
  const key = await activeAccount();
  if (!key) return null;
  const account = await get(`/v1/accounts/${key.address}`);
  return {
    label: key.label,
    address: key.address,
    balances: new Map(account.balances.map((b) => [b.class, BigInt(b.amount)])),
    identity: account.identity,
  };
}

/** The attributes an identity holds now ("resident:trento", …) and whether it is active. */
export async function identityFacts(identityId) {
  if (!identityId) return { active: false, attributes: new Set() };
  const identity = await get(`/v1/identities/${identityId}`);
  return {
    active: identity.status === "active",
    attributes: new Set(identity.attestations.filter((a) => a.valid).map((a) => a.attribute)),
  };
}

/** In place of a form, when there is no key: what it is for, and the way to the wallet. */
export function needWallet(what) {
  return h("div", { class: "notice warn" },
    h("p", {}, t("no-wallet", { what })),
    h("a", { class: "button secondary", href: "#/wallet" }, t("open-wallet")));
}

const HISTORY_PAGES = 3;

/**
 * The transactions of `type` this key signed that executed OK, newest first (bodies as the API renders
 * them: ids in hex). The piazza reads what the person did here instead of asking the node for a record
 * that may not exist: a vote or a selection the person never made is a 404, which a browser logs as an
 * error. A vote or selection made with another key of the same identity is not in this key's history:
 * the page then offers to vote or select as if none existed, and the last one counts (FORMAT.md §6.7).
 */
export async function ownActs(address, type) {
  const found = [];
  let before = null;
  for (let i = 0; i < HISTORY_PAGES; i++) {
    const page = await get(`/v1/accounts/${address}/txs`, { limit: 200, before });
    for (const tx of page.txs) if (tx.type === type && tx.result && tx.result.code === "OK") found.push(tx);
    before = page.next;
    if (!before) break;
  }
  return found;
}
