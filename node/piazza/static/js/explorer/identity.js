// An identity's public part, as the chain holds it: kind, status, registrar, keys, recovery and
// attestations (#/identity/ID). The personal record stays in the registrar's vault; the chain has only
// its commitment and a uniqueness tag.
import { h, mount } from "../dom.js";
import { get } from "../api.js";
import { translator } from "../i18n.js";
import { accountLink, blockLink, empty, facts, mono, orNotFound, showNotFound, vocabulary } from "./common.js";

const t = translator({
  it: {
    title: "Identità", missing: "Nessuna identità con id «{id}».", id: "Id", kind: "Tipo", status: "Stato", registrar: "Registrar",
    created: "Registrata al blocco", keys: "Chiavi (conti)", commitment: "Impegno sui dati personali", tag: "Etichetta di unicità",
    recovery: "Recupero in corso", attestations: "Attestazioni", attester: "attestata da",
    issued: "al blocco", until: "fino al blocco {height}", valid: "valida", invalid: "non valida", "no-attestations": "Nessuna attestazione.",
    "no-recovery": "nessuno", erased: "cancellato", recovering: "dal blocco {height}, nuova chiave:",
    "private-note": "I dati personali restano nel registro del registrar: qui c'è solo ciò che la catena conserva.",
  },
  en: {
    title: "Identity", missing: "No identity with id “{id}”.", id: "Id", kind: "Kind", status: "Status", registrar: "Registrar",
    created: "Registered in block", keys: "Keys (accounts)", commitment: "Commitment to the personal record", tag: "Uniqueness tag",
    recovery: "Recovery under way", attestations: "Attestations", attester: "attested by",
    issued: "in block", until: "until block {height}", valid: "valid", invalid: "not valid", "no-attestations": "No attestation.",
    "no-recovery": "none", erased: "erased", recovering: "from block {height}, new key:",
    "private-note": "Personal data stays in the registrar's vault: this is only what the chain keeps.",
  },
});

const word = vocabulary({
  it: {
    kinds: { person: "persona", cooperative: "cooperativa", company: "impresa", association: "associazione", union: "unione", institution: "istituzione" },
    statuses: { active: "attiva", suspended: "sospesa", revoked: "revocata", closed: "chiusa" },
  },
  en: {},
});

export async function render(main, route) {
  const id = (route.parts[1] || "").toLowerCase();
  if (!/^[0-9a-f]{32}$/.test(id)) return void showNotFound(main, t("missing", { id: route.parts[1] || "" }));
  const identity = await orNotFound(main, () => get(`/v1/identities/${id}`), t("missing", { id }));
  if (!identity) return;
  mount(main,
    h("h1", {}, t("title")),
    h("p", { class: "muted" }, t("private-note")),
    facts([
      [t("id"), mono(identity.id)],
      [t("kind"), word("kinds", identity.kind)],
      [t("status"), h("span", { class: identity.status === "active" ? "badge good" : "badge bad" }, word("statuses", identity.status))],
      [t("registrar"), accountLink(identity.registrar, true)],
      [t("created"), blockLink(identity.created_height)],
      [t("keys"), h("ul", { class: "plain", id: "identity-keys" }, identity.keys.map((key) => h("li", {}, accountLink(key, true))))],
      [t("recovery"), identity.recovery
        ? [t("recovering", { height: identity.recovery.due_height }), " ", accountLink(identity.recovery.new_key)]
        : t("no-recovery")],
      [t("commitment"), identity.commitment ? mono(identity.commitment) : t("erased")],
      [t("tag"), identity.tag ? mono(identity.tag) : t("erased")],
    ], { id: "identity-facts" }),
    h("h2", {}, t("attestations")),
    identity.attestations.length === 0 ? empty(t("no-attestations")) : h("ul", { class: "plain card", id: "identity-attestations" },
      identity.attestations.map((a) => h("li", {},
        h("div", { class: "spread" }, h("strong", {}, a.attribute),
          h("span", { class: a.valid ? "badge good" : "badge bad" }, a.valid ? t("valid") : t("invalid"))),
        h("div", { class: "muted" }, t("attester"), " ", accountLink(a.attester), " · ", t("issued"), " ", blockLink(a.issued_height),
          a.expiry_height === null ? null : [" · ", t("until", { height: a.expiry_height })])))));
}
