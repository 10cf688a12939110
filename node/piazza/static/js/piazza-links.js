// Links from the piazza to the explorer (docs/piazza.md): every effect a person causes can be looked at
// there, by anybody, as it is on the chain.
import { h } from "./dom.js";

export const explorer = {
  tx: (hash) => `/explorer#/tx/${hash}`,
  listing: (id) => `/explorer#/listing/${id}`,
  ballot: (id) => `/explorer#/ballot/${id}`,
  account: (address) => `/explorer#/account/${address}`,
  identity: (id) => `/explorer#/identity/${id}`,
};

/** "ic5z3jbi…g5jl": enough of an address or id to tell two apart; the whole one in the title. */
export function short(text) {
  return text.length <= 14 ? text : `${text.slice(0, 8)}…${text.slice(-4)}`;
}

/** A link to an account in the explorer, shown short. */
export function accountLink(address, label = null) {
  return h("a", { href: explorer.account(address), class: "mono", title: address }, label || short(address));
}

export function identityLink(id, label = null) {
  return h("a", { href: explorer.identity(id), class: "mono", title: id }, label || short(id));
}

/** 16 random bytes: the id of a new listing, order, group, post (FORMAT.md §6.5.1: the client draws it). */
export function newId() {
  return crypto.getRandomValues(new Uint8Array(16));
}
