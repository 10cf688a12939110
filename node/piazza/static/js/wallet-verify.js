// "verificato" beside a balance: the amount proven in the page against the validators of the genesis
// this browser trusts (js/proof.js, FORMAT.md §21; docs/piazza.md, "Verified balances"), not taken
// on the node's word. A proof that fails says so beside the balance; a node on another genesis than
// the pinned one is an alarm.
import { h } from "./dom.js";
import { translator, formatAmount, formatTime } from "./i18n.js";
import { verifyBalance } from "./proof.js";
import { GenesisMismatch } from "./trust.js";

const t = translator({
  it: { checking: "verifica in corso…", verified: "verificato",
        "verified-help": "Confermato dai validatori della federazione al blocco del {time} ({signers} firme su {validators}).",
        differs: "I validatori certificano {proven}, non {shown}: il saldo è cambiato da poco, oppure il nodo non dice il vero. Ricarica la pagina.",
        failed: "Non è stato possibile verificare questo saldo con i validatori: {message}",
        alarm: "Attenzione: {message}" },
  en: { checking: "checking…", verified: "verified",
        "verified-help": "Confirmed by the federation's validators at the block of {time} ({signers} signatures of {validators}).",
        differs: "The validators certify {proven}, not {shown}: the balance changed just now, or the node is not telling the truth. Reload the page.",
        failed: "This balance could not be checked with the validators: {message}",
        alarm: "Warning: {message}" },
});

/**
 * Prove each balance in turn and fill its slot. `balances` are {address, classId, amount (minor units
 * as shown), decimals, slot (an element)}; `isCurrent()` stops the work once the page has changed.
 */
export async function verifyAll(balances, isCurrent = () => true) {
  for (const b of balances) {
    if (!isCurrent()) return;
    b.slot.append(h("span", { class: "badge", "aria-hidden": "true" }, t("checking")));
    let outcome;
    try {
      const proven = await verifyBalance(b.address, b.classId);
      outcome = proven.amount === BigInt(b.amount) ? verified(proven)
        : h("span", { class: "notice warn", role: "note" }, t("differs", {
          proven: formatAmount(proven.amount, b.decimals), shown: formatAmount(b.amount, b.decimals) }));
    } catch (err) {
      const alarm = err instanceof GenesisMismatch;
      outcome = h("span", { class: `notice ${alarm ? "bad" : "warn"}`, role: alarm ? "alert" : "note" },
        t(alarm ? "alarm" : "failed", { message: err.message }));
    }
    if (!isCurrent()) return;
    b.slot.lastChild.replaceWith(outcome);
  }
}

function verified(proven) {
  return h("span", { class: "verified" },
    h("span", { class: "badge good" }, "✓ ", t("verified")), " ",
    h("span", { class: "muted" }, t("verified-help", { time: formatTime(proven.timeMs), signers: proven.signers, validators: proven.validators })));
}
