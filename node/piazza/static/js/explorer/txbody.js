// A transaction's body as readable fields: the node serves it as a positional array (FORMAT.md §6), and
// tx-fields.json names each type's fields in order (tests/test_explorer_tx_fields.py holds that table to
// the chain's rules). Values become links to the explorer's pages, amounts in their class's decimals and
// times as dates.
import { h } from "../dom.js";
import { parseAddress, toHex } from "../codec.js";
import { formatAmount, lang, translator } from "../i18n.js";
import {
  accountLink, amount, ballotLink, classLink, days, facts, identityLink, listingLink, mono, moment, permille, yesNo,
} from "./common.js";

const LABELS = {
  it: {
    amount: "Importo", arbiter: "Arbitro", attribute: "Attributo", ballot_id: "Votazione", binding_signature: "Firma di legame",
    budget: "Tetto di emissione", budget_id: "Bilancio partecipativo", categories: "Categorie", category: "Categoria", change: "Modifica",
    class_id: "Classe", closes_ms: "Chiude", commitment: "Impegno", content_hash: "Hash del contenuto", deadline_ms: "Scadenza",
    decimals: "Decimali", delivery: "Consegna", description: "Descrizione", description_hash: "Hash della descrizione",
    effective_height: "In vigore dall'altezza", eligibility: "Chi ne ha diritto", expiry_height: "Scade all'altezza",
    face_value: "Valore nominale", group_id: "Gruppo d'acquisto", holder: "Titolare", holder_cap: "Tetto per titolare",
    holders: "Titolari", id: "Identità", key: "Chiave", keys: "Chiavi", kind: "Tipo", listing_id: "Annuncio", max_qty: "Quantità massima",
    memo: "Causale", min_qty: "Quantità minima", moderators: "Moderatori", name: "Nome", new_key: "Nuova chiave", old_key: "Vecchia chiave",
    opens_ms: "Apre", operator: "Operatore", option: "Opzione", options: "Opzioni", order_id: "Ordine", order_ref: "Riferimento dell'ordine",
    owner: "Titolare", parent_id: "Risponde a", pass_permille: "Soglia per passare", post_id: "Intervento", prices: "Prezzi",
    projects: "Progetti", proposal_id: "Proposta", provider: "Fornitore", quantity: "Quantità", quorum_permille: "Quorum",
    rating: "Voto", reason: "Motivo", return_window_ms: "Tempo per il reso", reveal_until_ms: "Rivelazione fino a", salt: "Sale",
    scope: "Ambito", settlement_ref: "Riferimento del rimborso", space_id: "Spazio", status: "Stato", submit_until_ms: "Proposte fino a",
    support_threshold: "Sostegni necessari", support_window_ms: "Tempo per i sostegni", tag: "Etichetta", terms_signature: "Firma dei termini",
    text: "Testo", text_hash: "Hash del testo", tiers: "Fasce di prezzo", title: "Titolo", to: "A", to_provider: "Al fornitore",
    transferability: "Trasferibilità", valid_from_ms: "Valido dal", valid_until_ms: "Valido fino al", vote_a: "Primo voto",
    vote_b: "Secondo voto", voucher_cap: "Buoni per pagamento",
  },
  en: {
    amount: "Amount", arbiter: "Arbiter", attribute: "Attribute", ballot_id: "Ballot", binding_signature: "Binding signature",
    budget: "Issuance cap", budget_id: "Participatory budget", categories: "Categories", category: "Category", change: "Change",
    class_id: "Class", closes_ms: "Closes", commitment: "Commitment", content_hash: "Content hash", deadline_ms: "Deadline",
    decimals: "Decimals", delivery: "Delivery", description: "Description", description_hash: "Description hash",
    effective_height: "Effective at height", eligibility: "Who may hold it", expiry_height: "Expires at height",
    face_value: "Face value", group_id: "Purchase group", holder: "Holder", holder_cap: "Cap per holder",
    holders: "Holders", id: "Identity", key: "Key", keys: "Keys", kind: "Kind", listing_id: "Listing", max_qty: "Maximum quantity",
    memo: "Memo", min_qty: "Minimum quantity", moderators: "Moderators", name: "Name", new_key: "New key", old_key: "Old key",
    opens_ms: "Opens", operator: "Operator", option: "Option", options: "Options", order_id: "Order", order_ref: "Order reference",
    owner: "Owner", parent_id: "Replies to", pass_permille: "Share to pass", post_id: "Post", prices: "Prices",
    projects: "Projects", proposal_id: "Proposal", provider: "Provider", quantity: "Quantity", quorum_permille: "Quorum",
    rating: "Rating", reason: "Reason", return_window_ms: "Return window", reveal_until_ms: "Reveals until", salt: "Salt",
    scope: "Scope", settlement_ref: "Settlement reference", space_id: "Space", status: "Status", submit_until_ms: "Projects until",
    support_threshold: "Supports needed", support_window_ms: "Support window", tag: "Tag", terms_signature: "Terms signature",
    text: "Text", text_hash: "Text hash", tiers: "Price tiers", title: "Title", to: "To", to_provider: "To the provider",
    transferability: "Transferability", valid_from_ms: "Valid from", valid_until_ms: "Valid until", vote_a: "First vote",
    vote_b: "Second vote", voucher_cap: "Vouchers per payment",
  },
};

const t = translator({
  it: { unknown: "Tipo sconosciuto a questa pagina: i campi sono mostrati in ordine.", field: "campo {n}", open: "nessun limite" },
  en: { unknown: "A type this page does not know: the fields are shown in order.", field: "field {n}", open: "no limit" },
});

export function fieldLabel(name) {
  return (LABELS[lang] && LABELS[lang][name]) || LABELS.it[name] || name.replace(/_/g, " ");
}

const ADDRESS = /^ic[a-z2-7]{58}$/;
/** Fields of 32 bytes that are hashes, not keys: the API writes every 32-byte value as an address. */
const HASHES = new Set(["text_hash", "commitment", "tag", "salt", "content_hash", "description_hash", "settlement_ref", "order_ref"]);
const AMOUNTS = new Set(["amount", "holder_cap", "budget", "face_value"]);
const IDENTITY_TYPES = /^(identity|attest)\./;

/**
 * The 32 bytes behind an "ic…" text, as hex. The node's JSON writes any 32-byte value as an address
 * (node/routes/render.py render_value), hashes included: the address's bytes are the hash (FORMAT.md §5).
 */
export function hexOfAddressText(text) {
  return toHex(parseAddress(text));
}

let fieldTable = null;

/** The field names of each type (tx-fields.json, fetched once beside this module). */
export function fieldNames() {
  if (fieldTable === null) {
    fieldTable = fetch(new URL("./tx-fields.json", import.meta.url), { headers: { Accept: "application/json" } })
      .then((r) => { if (!r.ok) throw new Error(`tx-fields.json: HTTP ${r.status}`); return r.json(); })
      .then((doc) => doc.types)
      .catch((error) => { fieldTable = null; throw error; });
  }
  return fieldTable;
}

function list(items) {
  if (items.length === 0) return "—";
  return h("ul", { class: "plain inline" }, items.map((item) => h("li", {}, item)));
}

function plain(value) {
  if (value === null || value === undefined) return "—";
  if (typeof value === "boolean") return yesNo(value);
  if (typeof value === "string" && ADDRESS.test(value)) return accountLink(value, true);
  if (Array.isArray(value)) return list(value.map(plain));
  if (typeof value === "object") return mono(JSON.stringify(value));
  return typeof value === "string" && /^[0-9a-f]{32,}$/.test(value) ? mono(value) : String(value);
}

/** One field's value as the explorer shows it; `body` (by name) gives the class an amount is in. */
export function fieldValue(type, name, value, body, known) {
  if (value === null || value === undefined) return "—";
  if (HASHES.has(name) && typeof value === "string") return mono(ADDRESS.test(value) ? hexOfAddressText(value) : value);
  if (name === "class_id") return classLink(value);
  if (name === "listing_id") return listingLink(value, true);
  if (name === "ballot_id") return ballotLink(value, true);
  if (name === "id" && IDENTITY_TYPES.test(type)) return identityLink(value, true);
  if (AMOUNTS.has(name) && typeof value === "number") {
    if (type === "credits.create_class") return h("span", { class: "amount" }, formatAmount(value, body.decimals));
    if (body.class_id) return amount(value, body.class_id, known);
  }
  if (name === "prices" && Array.isArray(value)) return list(value.map(([cls, price]) => [amount(price, cls, known, { unit: false }), " ", classLink(cls)]));
  if (name === "tiers" && Array.isArray(value)) return list(value.map(([least, price]) => [`≥ ${least}: `, amount(price, body.class_id, known)]));
  if (/window_ms$/.test(name)) return days(value);
  if (/^valid_(from|until)_ms$/.test(name) && value === 0) return t("open");  // 0 leaves that side open (FORMAT.md §6.3, §6.5)
  if (/_ms$/.test(name)) return moment(value);
  if (/_permille$/.test(name)) return permille(value);
  return plain(value);
}

/** The body of a transaction of `type` as a card of named fields. */
export async function bodyFacts(type, body, known) {
  const names = (await fieldNames())[type];
  if (!names || names.length !== body.length) {
    return [h("p", { class: "notice warn" }, t("unknown")),
      facts(body.map((value, i) => [t("field", { n: i + 1 }), plain(value)]), { id: "tx-body" })];
  }
  const byName = Object.fromEntries(names.map((name, i) => [name, body[i]]));
  return facts(names.map((name, i) => [fieldLabel(name), fieldValue(type, name, body[i], byName, known)]), { id: "tx-body" });
}
