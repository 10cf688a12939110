// Doing something on the chain from a page of the marketplace or the agora: sign with the active key
// (js/session.js submit), wait for the block, and say what happened in words, with a link to the
// transaction in the explorer. Result codes are FORMAT.md §7's.
import { h, mount, announce } from "./dom.js";
import { translator } from "./i18n.js";
import { submit, TxFailed } from "./session.js";
import { ApiError } from "./api.js";
import { explorer } from "./piazza-links.js";

const t = translator({
  it: {
    sending: "Firma e invio in corso: attendi il blocco…", cancelled: "Operazione annullata: nulla è stato firmato.",
    "in-explorer": "Vedi la transazione", failed: "Non è andata a buon fine: {reason}",
    other: "la catena ha risposto {code} ({message}).",
    NO_WALLET: "su questo dispositivo non c'è un borsellino.",
    NOT_COMMITTED: "la transazione non è ancora in un blocco: controlla più tardi nella cronologia.",
    INSUFFICIENT_BALANCE: "non hai abbastanza crediti di questa classe.",
    NOT_ELIGIBLE: "questa classe di crediti non è spendibile da te.",
    WRONG_CATEGORY: "questa classe di crediti non paga questa categoria.",
    CLASS_EXPIRED: "questi crediti sono scaduti.", CLASS_NOT_YET_VALID: "questi crediti non sono ancora validi.",
    FROZEN: "il tuo conto è sospeso per questa classe.",
    NOT_ACCREDITED: "il fornitore non è accreditato per questa categoria e classe.",
    UNKNOWN_SIGNER: "la catena non conosce ancora questa chiave: prima deve ricevere crediti o un'identità.",
    CLASS_NOT_ACCEPTED: "l'annuncio non accetta questa classe.",
    QUANTITY_UNAVAILABLE: "non ci sono abbastanza pezzi disponibili.",
    LISTING_NOT_ACTIVE: "l'annuncio non è attivo.", LISTING_NOT_OPEN: "l'annuncio non è nel suo periodo di validità.",
    LISTING_WITHDRAWN: "l'annuncio è stato ritirato.", NOT_LISTING_OWNER: "l'annuncio non è tuo.",
    LISTING_NOT_PAUSED: "l'annuncio non è sospeso.", NOT_ARBITER: "l'arbitro scelto non è autorizzato.",
    SELF_TRANSFER: "non puoi pagare te stesso.",
    WRONG_ORDER_STATUS: "l'ordine è già passato a un altro stato: ricarica la pagina.",
    NOT_ORDER_PARTY: "non sei parte di questo ordine.",
    ACCEPT_WINDOW_CLOSED: "il tempo per accettare è scaduto.", DISPUTE_WINDOW_CLOSED: "il tempo per contestare è scaduto.",
    REVIEW_EXISTS: "hai già recensito questo ordine.",
    GROUP_FULL: "il gruppo non ha posto per questa quantità.", DEADLINE_PASSED: "il gruppo è chiuso.",
    LISTING_UNAVAILABLE: "l'annuncio del gruppo non è più disponibile.", NOT_COMMITTED_GROUP: "non hai impegni in questo gruppo.",
    NOT_SPACE_ELIGIBLE: "non puoi partecipare in questo spazio.",
    POST_NOT_VISIBLE: "il messaggio non è più visibile.", SUPPORT_WINDOW_CLOSED: "il tempo per sostenere è finito.",
    ALREADY_SUPPORTED: "hai già sostenuto questa proposta.", BALLOT_WINDOW: "la votazione non è aperta in questo momento.",
    UNKNOWN_OPTION: "questa opzione non c'è.", BUDGET_WINDOW: "ora non è il momento di questa operazione sul bilancio.",
    OVER_BUDGET: "i progetti scelti superano il bilancio.", UNKNOWN_PROJECT: "uno dei progetti non è del bilancio.",
    NOT_POST_AUTHOR: "non sei l'autore della proposta.", PROJECT_EXISTS: "la proposta è già un progetto del bilancio.",
  },
  en: {
    sending: "Signing and sending: waiting for the block…", cancelled: "Cancelled: nothing was signed.",
    "in-explorer": "See the transaction", failed: "It did not go through: {reason}",
    other: "the chain answered {code} ({message}).",
    NO_WALLET: "there is no wallet on this device.",
    NOT_COMMITTED: "the transaction is not in a block yet: look at the history later.",
    INSUFFICIENT_BALANCE: "you do not have enough credits of this class.",
    NOT_ELIGIBLE: "you may not spend this class of credits.",
    WRONG_CATEGORY: "this class of credits does not pay for this category.",
    CLASS_EXPIRED: "these credits have expired.", CLASS_NOT_YET_VALID: "these credits are not valid yet.",
    FROZEN: "your account is frozen for this class.",
    NOT_ACCREDITED: "the provider is not accredited for this category and class.",
    UNKNOWN_SIGNER: "the chain does not know this key yet: it must first receive credits or an identity.",
    CLASS_NOT_ACCEPTED: "the listing does not accept this class.",
    QUANTITY_UNAVAILABLE: "not enough units are left.",
    LISTING_NOT_ACTIVE: "the listing is not active.", LISTING_NOT_OPEN: "the listing is outside its validity.",
    LISTING_WITHDRAWN: "the listing was withdrawn.", NOT_LISTING_OWNER: "the listing is not yours.",
    LISTING_NOT_PAUSED: "the listing is not paused.", NOT_ARBITER: "that arbiter is not authorised.",
    SELF_TRANSFER: "you cannot pay yourself.",
    WRONG_ORDER_STATUS: "the order has already moved on: reload the page.",
    NOT_ORDER_PARTY: "you are not a party to this order.",
    ACCEPT_WINDOW_CLOSED: "the time to accept has passed.", DISPUTE_WINDOW_CLOSED: "the time to dispute has passed.",
    REVIEW_EXISTS: "you have already reviewed this order.",
    GROUP_FULL: "the group has no room for that quantity.", DEADLINE_PASSED: "the group is closed.",
    LISTING_UNAVAILABLE: "the group's listing is no longer available.", NOT_COMMITTED_GROUP: "you have no commitment in this group.",
    NOT_SPACE_ELIGIBLE: "you may not take part in this space.",
    POST_NOT_VISIBLE: "the post is no longer visible.", SUPPORT_WINDOW_CLOSED: "the time to support it is over.",
    ALREADY_SUPPORTED: "you already support this proposal.", BALLOT_WINDOW: "the ballot is not open now.",
    UNKNOWN_OPTION: "there is no such option.", BUDGET_WINDOW: "this is not the time for that in the budget.",
    OVER_BUDGET: "the projects chosen add up to more than the budget.", UNKNOWN_PROJECT: "a project is not in the budget.",
    NOT_POST_AUTHOR: "you are not the proposal's author.", PROJECT_EXISTS: "the proposal is already a project of the budget.",
  },
});

const CONTEXTUAL = { "gas.leave": { NOT_COMMITTED: "NOT_COMMITTED_GROUP" } };

/** Why a transaction failed, in the page's language. */
export function reasonOf(type, error) {
  const code = (CONTEXTUAL[type] && CONTEXTUAL[type][error.code]) || error.code;
  const known = t(code);
  return known !== code ? known : t("other", { code: error.code, message: error.message });
}

export function txLink(hash, label = null) {
  return h("a", { href: explorer.tx(hash) }, label || t("in-explorer"));
}

/** A notice that says `message` and links the transaction; focusable so that it can be brought to view. */
export function notice(kind, message, hash = null) {
  return h("div", { class: `notice ${kind}`, role: kind === "bad" ? "alert" : "status", tabindex: "-1" },
    message, hash ? [" ", txLink(hash)] : null);
}

/**
 * Sign and send `type` with `body`, showing progress in `slot` and disabling `button` meanwhile.
 * Returns the committed status ({hash, height, …}) when it executed OK; otherwise shows why in `slot`
 * and returns null (also when the person cancelled the passphrase dialog).
 */
export async function transact(slot, type, body, button = null) {
  if (button) button.disabled = true;
  slot.hidden = false;
  mount(slot, h("p", { class: "notice", role: "status" }, t("sending")));
  try {
    const result = await submit(type, body);
    if (result === null) {
      mount(slot, notice("warn", t("cancelled")));
      return null;
    }
    slot.replaceChildren();
    return result;
  } catch (error) {
    if (!(error instanceof TxFailed) && !(error instanceof ApiError)) throw error;
    const shown = notice("bad", t("failed", { reason: reasonOf(type, error) }), error.hash || null);
    mount(slot, shown);
    shown.focus();
    return null;
  } finally {
    if (button) button.disabled = false;
  }
}

/** After a view was drawn again: put `shown` under its heading, bring it to view and say it. */
export function report(main, shown) {
  const heading = main.querySelector("h1");
  if (heading) heading.after(shown); else main.prepend(shown);
  shown.focus();
  announce(shown.textContent);
}

/** A place for a form's progress and errors (a polite live region of its own). */
export function statusSlot() {
  return h("div", { class: "tx-status", "aria-live": "polite", hidden: true });
}
