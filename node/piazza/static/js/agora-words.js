// The agora's words (FORMAT.md §6.7): who may take part in a space, whether the person may, and a post's
// text as the node gives it — shown, or marked erased by its author, hidden by a moderator (with the
// reason), or not yet arrived at this node (docs/agora.md, "Where a post's text lives").
import { h } from "./dom.js";
import { translator } from "./i18n.js";

const t = translator({
  it: {
    everyone: "Tutte le identità attive della federazione", resident: "Chi risiede a {x}", member: "I membri di {x}",
    employee: "I dipendenti di {x}", attribute: "Chi ha l'attributo «{a}»",
    "you-may": "Puoi partecipare", "no-wallet": "Per partecipare serve un borsellino su questo dispositivo.",
    "no-identity": "Per partecipare la tua chiave deve essere legata a un'identità registrata.",
    inactive: "La tua identità non è attiva.", "you-may-not": "Non puoi partecipare: serve l'attributo «{a}».",
    erased: "Cancellato dall'autore.", hidden: "Nascosto da un moderatore: {reason}",
    missing: "Il testo non è ancora arrivato a questo nodo.",
  },
  en: {
    everyone: "Every active identity of the federation", resident: "Residents of {x}", member: "Members of {x}",
    employee: "Employees of {x}", attribute: "Whoever holds the attribute “{a}”",
    "you-may": "You may take part", "no-wallet": "To take part you need a wallet on this device.",
    "no-identity": "To take part your key must be bound to a registered identity.",
    inactive: "Your identity is not active.", "you-may-not": "You may not take part: it needs the attribute “{a}”.",
    erased: "Erased by its author.", hidden: "Hidden by a moderator: {reason}",
    missing: "The text has not reached this node yet.",
  },
});

/** Who may take part in a space, in words. */
export function eligibilityText(eligibility) {
  if (!eligibility) return t("everyone");
  const [kind, value] = eligibility.split(":");
  const x = value ? value.charAt(0).toUpperCase() + value.slice(1).replace(/-/g, " ") : "";
  if (["resident", "member", "employee"].includes(kind)) return t(kind, { x });
  return t("attribute", { a: eligibility });
}

/** {may: bool, why: text}: whether the person (whoAmI, identityFacts) may take part in the space. */
export function eligibilityOf(space, me, facts) {
  if (!me) return { may: false, why: t("no-wallet") };
  if (!me.identity) return { may: false, why: t("no-identity") };
  if (!facts.active) return { may: false, why: t("inactive") };
  if (space.eligibility && !facts.attributes.has(space.eligibility)) return { may: false, why: t("you-may-not", { a: space.eligibility }) };
  return { may: true, why: t("you-may") };
}

export function eligibilityBadge(verdict) {
  return h("p", { class: `notice ${verdict.may ? "good" : "warn"} eligibility` }, verdict.why);
}

/** A post's text, or what stands in its place. */
export function postBody(post) {
  if (post.text_state === "shown") return h("p", { class: "post-text" }, post.text);
  const mark = { erased: t("erased"), hidden: t("hidden", { reason: post.reason || "" }), missing: t("missing") }[post.text_state];
  return h("p", { class: `post-text mark ${post.text_state}` }, h("em", {}, mark));
}

/** The first words of a post, for a list: at most `n` characters. */
export function excerpt(post, n = 140) {
  if (post.text_state !== "shown") return { erased: t("erased"), hidden: t("hidden", { reason: post.reason || "" }), missing: t("missing") }[post.text_state];
  return post.text.length <= n ? post.text : `${post.text.slice(0, n - 1)}…`;
}
