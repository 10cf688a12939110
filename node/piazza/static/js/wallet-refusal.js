// Why the node refused or failed a payment, in words a resident understands. The node's own message
// (ledger/errors.py) is kept beside it for whoever needs the detail; an unknown code shows that message.
import { translator } from "./i18n.js";

const t = translator({
  it: {
    INSUFFICIENT_BALANCE: "Non hai abbastanza crediti di questa classe.",
    UNKNOWN_CLASS: "Questa classe di crediti non esiste su questa catena.",
    SELF_TRANSFER: "Non puoi pagare te stesso.",
    NOT_TRANSFERABLE: "Questi crediti non si possono trasferire a una persona: si spendono solo presso i fornitori accreditati.",
    NOT_ELIGIBLE: "Chi riceve non ha i requisiti per tenere questi crediti.",
    CLASS_NOT_YET_VALID: "Questi crediti non sono ancora validi.",
    CLASS_EXPIRED: "Questi crediti sono scaduti.",
    HOLDER_CAP_EXCEEDED: "Chi riceve ha già il massimo di questi crediti.",
    HOLDER_FROZEN: "Questo conto è sospeso per questa classe di crediti: rivolgiti all'emittente.",
    WRONG_CATEGORY: "Questi crediti non valgono per questa categoria di acquisto.",
    NOT_ACCREDITED: "Il fornitore non è accreditato per questa categoria con questi crediti.",
    NOT_PROVIDER: "Chi riceve non è un fornitore accreditato per questi crediti.",
    FACE_VALUE_NOT_COVERED: "L'importo non corrisponde a buoni interi di questa classe.",
    VOUCHER_CAP_EXCEEDED: "L'importo supera il massimo di buoni utilizzabili in un pagamento.",
    AMOUNT_OVERFLOW: "L'importo è troppo grande.",
    UNKNOWN_SIGNER: "La catena non conosce ancora questo borsellino: deve prima ricevere dei crediti.",
    BAD_NONCE: "Un'altra operazione di questo borsellino è passata prima: riprova.",
    DUPLICATE: "Questa operazione è già in attesa.",
    NONCE_TOO_FAR: "Troppe operazioni di questo borsellino sono in attesa: aspetta che passino e riprova.",
    EXPIRED: "L'operazione è scaduta prima di entrare in un blocco: riprova.",
    EVICTED: "Il nodo ha scartato l'operazione: riprova.",
    MEMPOOL_FULL: "Il nodo è molto occupato: riprova tra poco.",
    CLIENT_QUOTA: "Il nodo è molto occupato: riprova tra poco.",
    WRONG_CHAIN: "L'operazione è per un'altra catena.",
    BAD_SIGNATURE: "La firma non è valida.",
    NOT_COMMITTED: "L'operazione non è ancora entrata in un blocco: controlla la cronologia più tardi.",
    NETWORK: "Il nodo non risponde: controlla la connessione e riprova.",
    "node-says": "Il nodo dice: {message} ({code})",
  },
  en: {
    INSUFFICIENT_BALANCE: "You do not have enough credits of this class.",
    UNKNOWN_CLASS: "This credit class does not exist on this chain.",
    SELF_TRANSFER: "You cannot pay yourself.",
    NOT_TRANSFERABLE: "These credits cannot be sent to a person: they are spent only at accredited providers.",
    NOT_ELIGIBLE: "The recipient may not hold these credits.",
    CLASS_NOT_YET_VALID: "These credits are not valid yet.",
    CLASS_EXPIRED: "These credits have expired.",
    HOLDER_CAP_EXCEEDED: "The recipient already holds the most of these credits allowed.",
    HOLDER_FROZEN: "This account is frozen for this credit class: ask its issuer.",
    WRONG_CATEGORY: "These credits do not pay for this category.",
    NOT_ACCREDITED: "The provider is not accredited for this category with these credits.",
    NOT_PROVIDER: "The recipient is not an accredited provider for these credits.",
    FACE_VALUE_NOT_COVERED: "The amount is not a whole number of this class's vouchers.",
    VOUCHER_CAP_EXCEEDED: "The amount is more than the vouchers one payment may use.",
    AMOUNT_OVERFLOW: "The amount is too large.",
    UNKNOWN_SIGNER: "The chain does not know this wallet yet: it must receive credits first.",
    BAD_NONCE: "Another operation of this wallet went first: try again.",
    DUPLICATE: "This operation is pending already.",
    NONCE_TOO_FAR: "Too many operations of this wallet are pending: wait for them and try again.",
    EXPIRED: "The operation expired before reaching a block: try again.",
    EVICTED: "The node dropped the operation: try again.",
    MEMPOOL_FULL: "The node is very busy: try again shortly.",
    CLIENT_QUOTA: "The node is very busy: try again shortly.",
    WRONG_CHAIN: "The operation is for another chain.",
    BAD_SIGNATURE: "The signature is not valid.",
    NOT_COMMITTED: "The operation has not reached a block yet: look at the history later.",
    NETWORK: "The node does not answer: check the connection and try again.",
    "node-says": "The node says: {message} ({code})",
  },
});

/** {text, detail}: the refusal in plain words, and the node's own words (null when they add nothing). */
export function refusalInWords(code, message) {
  const text = t(code);
  const detail = t("node-says", { message: message || "", code });
  return text === code ? { text: detail, detail: null } : { text, detail };
}
