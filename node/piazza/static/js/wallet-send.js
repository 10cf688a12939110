// Sending credits to an address (`credits.transfer`, as `incoop wallet send`): only classes whose rules
// let a holder pass them on (transferability p2p, FORMAT.md §6.3); the others are spent at providers,
// from a payment request (wallet-pay.js).
import { h, mount, announce } from "./dom.js";
import { get } from "./api.js";
import { translator, formatAmount, parseAmount } from "./i18n.js";
import { parseAddress } from "./codec.js";
import { submit } from "./session.js";
import { classInfo, expiryOrder } from "./wallet-classes.js";
import { nameResolver, rememberName } from "./wallet-names.js";
import { walletHeader } from "./wallet-nav.js";
import { formError } from "./wallet-secret.js";
import { committed, failed } from "./wallet-outcome.js";

const MAX_MEMO_BYTES = 128;

const t = translator({
  it: { title: "Invia crediti", intro: "Per mandare crediti a una persona, con il suo indirizzo. Per pagare un negozio usa «Paga» e la sua richiesta di pagamento.",
        to: "Indirizzo di chi riceve", "to-help": "Inizia con «ic»: fattelo mandare o copialo dal suo borsellino.",
        class: "Crediti", amount: "Importo", "amount-help": "Per esempio 12,50.", memo: "Causale (facoltativa)",
        name: "Chiama questo destinatario (facoltativo)", "name-help": "Il nome resta solo su questo dispositivo.",
        next: "Continua", none: "Non hai crediti che si possano inviare a una persona: quelli che hai si spendono solo presso i fornitori accreditati, con «Paga».",
        "spend-only": "Non compaiono qui i crediti che si spendono solo presso i fornitori: {names}.",
        option: "{name}: ne hai {amount}",
        "bad-address": "L'indirizzo non è valido: {message}", self: "È il tuo stesso indirizzo.",
        "bad-amount": "Scrivi un importo valido, con al massimo {decimals} decimali.",
        "not-enough": "Non hai abbastanza crediti: ne hai {amount}.", "long-memo": "La causale è troppo lunga.",
        check: "Controlla prima di inviare", "to-short": "A chi", "amount-short": "Quanto", "memo-short": "Causale",
        confirm: "Conferma e invia", cancel: "Annulla", working: "Firma e invio in corso… aspetta che l'operazione entri in un blocco.",
        cancelled: "Invio annullato: niente è stato firmato.", sent: "Inviato: {amount} {credits} a {to}.", home: "Torna al saldo" },
  en: { title: "Send credits", intro: "To send credits to a person, by their address. To pay a shop, use “Pay” and its payment request.",
        to: "Recipient's address", "to-help": "It starts with “ic”: ask for it or copy it from their wallet.",
        class: "Credits", amount: "Amount", "amount-help": "12.50, for example.", memo: "Note (optional)",
        name: "Name this recipient (optional)", "name-help": "The name stays on this device only.",
        next: "Continue", none: "You hold no credits that can be sent to a person: yours are spent only at accredited providers, with “Pay”.",
        "spend-only": "Credits spent only at providers are not listed here: {names}.",
        option: "{name}: you hold {amount}",
        "bad-address": "The address is not valid: {message}", self: "That is your own address.",
        "bad-amount": "Type a valid amount, with at most {decimals} decimals.",
        "not-enough": "You do not hold enough: you hold {amount}.", "long-memo": "The note is too long.",
        check: "Check before sending", "to-short": "To whom", "amount-short": "How much", "memo-short": "Note",
        confirm: "Confirm and send", cancel: "Cancel", working: "Signing and sending… waiting for it to reach a block.",
        cancelled: "Sending cancelled: nothing was signed.", sent: "Sent: {amount} {credits} to {to}.", home: "Back to the balance" },
});

export async function render(main, route, account) {
  const me = await get(`/v1/accounts/${account.address}`);
  const held = (await Promise.all(me.balances.map(async (b) => ({ amount: BigInt(b.amount), info: await classInfo(b.class) }))))
    .filter((b) => b.info).sort((a, b) => expiryOrder(a.info, b.info));
  const sendable = held.filter((b) => b.info.transferability === "p2p" && !b.info.expired && b.amount > 0n);
  const spendOnly = held.filter((b) => b.info.transferability !== "p2p").map((b) => b.info.name);
  const head = [walletHeader(account, "send"), h("h1", {}, t("title")), h("p", {}, t("intro"))];
  if (sendable.length === 0) return void mount(main, head, h("p", { class: "card" }, t("none")));

  const to = h("input", { id: "send-to", type: "text", autocomplete: "off", spellcheck: "false", required: true,
                          value: route.query.get("to") || "", "aria-describedby": "send-to-help" });
  const select = h("select", { id: "send-class", required: true }, sendable.map((b) =>
    h("option", { value: b.info.id }, t("option", { name: b.info.name, amount: formatAmount(b.amount, b.info.decimals) }))));
  const amount = h("input", { id: "send-amount", type: "text", inputmode: "decimal", autocomplete: "off", required: true,
                              "aria-describedby": "send-amount-help" });
  const memo = h("input", { id: "send-memo", type: "text", autocomplete: "off", maxlength: MAX_MEMO_BYTES });
  const name = h("input", { id: "send-name", type: "text", autocomplete: "off", maxlength: 60, "aria-describedby": "send-name-help" });
  const error = formError();
  const stage = h("div");
  const form = h("form", { class: "card", novalidate: true, onsubmit: async (event) => {
    event.preventDefault();
    error.hide();
    stage.replaceChildren();
    const address = to.value.trim();
    try {
      parseAddress(address);
    } catch (err) {
      return error.show(t("bad-address", { message: err.message }));
    }
    if (address === account.address) return error.show(t("self"));
    const chosen = sendable.find((b) => b.info.id === select.value);
    const minor = parseAmount(amount.value, chosen.info.decimals);
    if (minor === null || minor <= 0n) return error.show(t("bad-amount", { decimals: chosen.info.decimals }));
    if (minor > chosen.amount) return error.show(t("not-enough", { amount: formatAmount(chosen.amount, chosen.info.decimals) }));
    if (new TextEncoder().encode(memo.value).length > MAX_MEMO_BYTES) return error.show(t("long-memo"));
    const named = name.value.trim();
    const who = named || (await nameResolver([chosen.info])).of(address).text;
    stage.replaceChildren(confirmation({ address, who, named, minor, info: chosen.info, memo: memo.value }));
    stage.querySelector("h2").focus();
  } },
  h("label", { for: to.id }, t("to")), to, h("p", { class: "field-help", id: "send-to-help" }, t("to-help")),
  h("label", { for: select.id }, t("class")), select,
  h("label", { for: amount.id }, t("amount")), amount, h("p", { class: "field-help", id: "send-amount-help" }, t("amount-help")),
  h("label", { for: memo.id }, t("memo")), memo,
  h("label", { for: name.id }, t("name")), name, h("p", { class: "field-help", id: "send-name-help" }, t("name-help")),
  error.el, h("div", { class: "row" }, h("button", { type: "submit" }, t("next"))));
  mount(main, head, spendOnly.length ? h("p", { class: "muted" }, t("spend-only", { names: spendOnly.join(", ") })) : null, form, stage);
}

function confirmation({ address, who, named, minor, info, memo }) {
  const shown = formatAmount(minor, info.decimals);
  const busy = h("p", { class: "muted", role: "status" });
  const outcome = h("div");
  const send = h("button", { type: "submit" }, t("confirm"));
  const card = h("form", { class: "card confirm", novalidate: true, "aria-labelledby": "send-check", onsubmit: async (event) => {
    event.preventDefault();
    outcome.replaceChildren();
    send.disabled = true;
    busy.textContent = t("working");
    try {
      const done = await submit("credits.transfer", [info.id, parseAddress(address), minor, memo]);
      if (done === null) {
        busy.textContent = t("cancelled");
        return;
      }
      if (named) rememberName(address, named);
      const message = t("sent", { amount: shown, credits: info.name, to: who });
      card.replaceWith(h("div", {}, committed(done, message), h("p", {}, h("a", { class: "button", href: "#/wallet" }, t("home")))));
      announce(message);
    } catch (err) {
      busy.textContent = "";
      outcome.replaceChildren(failed(err));
    } finally {
      send.disabled = false;
    }
  } },
  h("h2", { id: "send-check", tabindex: "-1" }, t("check")),
  h("dl", { class: "facts" },
    h("dt", {}, t("to-short")), h("dd", {}, h("strong", {}, who), h("br"), h("span", { class: "mono muted" }, address)),
    h("dt", {}, t("amount-short")), h("dd", {}, h("span", { class: "amount big" }, shown), " ", info.name),
    memo ? [h("dt", {}, t("memo-short")), h("dd", {}, memo)] : null),
  busy, outcome,
  h("div", { class: "row" }, send, h("button", { type: "button", class: "secondary", onclick: () => { card.remove(); document.getElementById("send-to")?.focus(); } }, t("cancel"))));
  return card;
}
