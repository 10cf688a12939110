// What became of a transaction the wallet signed and sent (js/session.js submit): committed, with a
// link to it in the explorer; or refused or failed, in plain words (wallet-refusal.js). A refused one
// never reached a block, so only one still on its way gets the explorer's link.
import { h } from "./dom.js";
import { ApiError } from "./api.js";
import { translator } from "./i18n.js";
import { TxFailed } from "./session.js";
import { refusalInWords } from "./wallet-refusal.js";

const t = translator({
  it: { explorer: "Vedi l'operazione nell'esploratore", refused: "Non è andato a buon fine.", detail: "Dettaglio per l'assistenza" },
  en: { explorer: "See the operation in the explorer", refused: "It did not go through.", detail: "Detail for support" },
});

/** The link to a transaction in the explorer (its routes: docs/piazza.md). */
export function explorerLink(hash) {
  return h("a", { href: `/explorer#/tx/${hash}` }, t("explorer"));
}

/** A notice for a committed transaction: `message` and the explorer link. */
export function committed(status, message) {
  return h("div", { class: "notice good outcome", role: "status" }, h("p", {}, h("strong", {}, message)),
    h("p", {}, explorerLink(status.hash)));
}

/** A notice for an error thrown by submit (TxFailed), the API (ApiError) or the network (TypeError). */
export function failed(err) {
  let code = "NETWORK";
  let message = err && err.message;
  let hash = null;
  if (err instanceof TxFailed) ({ code, hash } = err);
  else if (err instanceof ApiError) code = err.code;
  const words = refusalInWords(code, message);
  return h("div", { class: "notice bad outcome", role: "alert" },
    h("p", {}, h("strong", {}, t("refused")), " ", words.text),
    words.detail ? h("details", {}, h("summary", {}, t("detail")), h("p", { class: "mono" }, words.detail)) : null,
    hash && code === "NOT_COMMITTED" ? h("p", {}, explorerLink(hash)) : null);
}
