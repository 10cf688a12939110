// The person using this browser: which of their keys is active, whether it is unlocked, and how a
// transaction is signed and followed to its block (docs/piazza.md, "The wallet").
//
// The seed of an unlocked key lives only in this module's memory, for UNLOCK_MS after its last use;
// it is never stored unencrypted, never put in the page, never sent (tests/browser check every request).

import { h } from "./dom.js";
import { get, post, ApiError } from "./api.js";
import { translator } from "./i18n.js";
import { listKeys, unlock, WrongPassphrase } from "./keyring.js";
import { signTx } from "./tx.js";

const UNLOCK_MS = 10 * 60 * 1000;
const EXPIRY_BLOCKS = 300;          // a transaction not in a block within this many heights is dropped
const COMMIT_WAIT_MS = 30_000;
const ACTIVE = "incoop.active";

const t = translator({
  it: { "unlock-title": "Sblocca il borsellino", passphrase: "Frase segreta", unlock: "Sblocca", cancel: "Annulla",
        "wrong-passphrase": "Frase segreta sbagliata.", "unlock-help": "Serve per firmare. Resta su questo dispositivo.",
        "not-committed": "La transazione non è entrata in un blocco entro {seconds} secondi: controlla la cronologia più tardi." },
  en: { "unlock-title": "Unlock your wallet", passphrase: "Passphrase", unlock: "Unlock", cancel: "Cancel",
        "wrong-passphrase": "Wrong passphrase.", "unlock-help": "Needed to sign. It stays on this device.",
        "not-committed": "The transaction did not reach a block within {seconds} seconds: look at the history later." },
});

let unlocked = null;   // {address, seed, until}

/** The active key {label, address}, or null when this browser holds none. */
export async function activeAccount() {
  const keys = await listKeys();
  if (keys.length === 0) return null;
  const chosen = localStorage.getItem(ACTIVE);
  return keys.find((k) => k.address === chosen) || keys[0];
}

export function setActive(address) {
  localStorage.setItem(ACTIVE, address);
  lock();
}

export function lock() {
  if (unlocked) unlocked.seed.fill(0);
  unlocked = null;
}

export function isUnlocked(address) {
  return unlocked !== null && unlocked.address === address && Date.now() < unlocked.until;
}

/** Unlock `address` with `passphrase` (throws WrongPassphrase); the seed is kept for UNLOCK_MS. */
export async function unlockWith(address, passphrase) {
  const seed = await unlock(address, passphrase);
  lock();
  unlocked = { address, seed, until: Date.now() + UNLOCK_MS };
}

/** The active key's seed, asking for the passphrase in a dialog when it is locked; null if cancelled. */
export async function seedFor(address) {
  if (isUnlocked(address)) {
    unlocked.until = Date.now() + UNLOCK_MS;
    return unlocked.seed;
  }
  const ok = await askPassphrase(address);
  return ok ? unlocked.seed : null;
}

function askPassphrase(address) {
  return new Promise((resolve) => {
    const error = h("p", { class: "notice bad", role: "alert", hidden: true });
    const input = h("input", { id: "unlock-passphrase", type: "password", autocomplete: "current-password", required: true });
    const dialog = h("dialog", { "aria-labelledby": "unlock-title", class: "card" },
      h("form", { method: "dialog", onsubmit: async (event) => {
        event.preventDefault();
        try {
          await unlockWith(address, input.value);
          input.value = "";
          dialog.close();
          dialog.remove();
          resolve(true);
        } catch (err) {
          if (!(err instanceof WrongPassphrase)) throw err;
          error.textContent = t("wrong-passphrase");
          error.hidden = false;
          input.select();
        }
      } },
      h("h2", { id: "unlock-title" }, t("unlock-title")),
      h("label", { for: "unlock-passphrase" }, t("passphrase")), input,
      h("p", { class: "field-help" }, t("unlock-help")), error,
      h("div", { class: "row" },
        h("button", { type: "submit" }, t("unlock")),
        h("button", { type: "button", class: "secondary", onclick: () => { dialog.close(); dialog.remove(); resolve(false); } }, t("cancel")))));
    dialog.addEventListener("cancel", () => { dialog.remove(); resolve(false); });
    document.body.append(dialog);
    dialog.showModal();
    input.focus();
  });
}

export class TxFailed extends Error {
  constructor(code, message, hash = null) {
    super(message);
    this.code = code;
    this.hash = hash;
  }
}

/**
 * Sign a transaction of `type` with `body` by the active key, send it, and wait for its block.
 * Resolves to the committed status ({hash, height, index, result}) when it executed OK; throws
 * TxFailed with the node's code when it was refused, rejected or executed with an error; null when
 * the person cancelled the passphrase dialog.
 */
export async function submit(type, body) {
  const account = await activeAccount();
  if (!account) throw new TxFailed("NO_WALLET", "no wallet in this browser");
  const seed = await seedFor(account.address);
  if (!seed) return null;
  const [status, me] = await Promise.all([get("/v1/status"), get(`/v1/accounts/${account.address}`)]);
  const { raw, hash } = signTx(seed, {
    chainId: status.chain_id, type, nonce: me.pending_nonce, expiry: status.height + EXPIRY_BLOCKS, body,
  });
  try {
    await post("/v1/txs", raw);
  } catch (err) {
    if (err instanceof ApiError) throw new TxFailed(err.code, err.message, hash);
    throw err;
  }
  const deadline = Date.now() + COMMIT_WAIT_MS;
  while (Date.now() < deadline) {
    const seen = await get(`/v1/txs/${hash}`);
    if (seen.status === "committed") {
      if (seen.result.code !== "OK") throw new TxFailed(seen.result.code, seen.result.message, hash);
      return seen;
    }
    if (seen.status === "rejected") throw new TxFailed(seen.error?.code || "REJECTED", seen.error?.message || "rejected", hash);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new TxFailed("NOT_COMMITTED", t("not-committed", { seconds: COMMIT_WAIT_MS / 1000 }), hash);
}
