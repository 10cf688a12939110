// Paying a provider from a payment request (FORMAT.md §20: an `incoop:` URI pasted, or its QR code read
// by the camera): the page shows who is paid, how much, of which credits and for what, and signs
// `credits.pay` only once the person confirms (the same transaction as `incoop wallet pay`).
import { h, mount, announce } from "./dom.js";
import { get } from "./api.js";
import { translator, formatAmount, parseAmount } from "./i18n.js";
import { parseAddress } from "./codec.js";
import { parsePaymentRequest } from "./payreq.js";
import { submit } from "./session.js";
import { go } from "./shell.js";
import { classInfo, categoryName, rulesInWords } from "./wallet-classes.js";
import { nameResolver, rememberName } from "./wallet-names.js";
import { walletHeader } from "./wallet-nav.js";
import { scanner } from "./wallet-scan.js";
import { formError } from "./wallet-secret.js";
import { committed, failed } from "./wallet-outcome.js";

const CATEGORY = /^[a-z0-9-]{1,32}$/;
const COMMON_CATEGORIES = ["food", "household", "health", "culture", "education", "transport"];

const t = translator({
  it: { title: "Paga", request: "Richiesta di pagamento", "request-help": "Incolla il testo che inizia con «incoop:», oppure inquadra il codice QR del negozio.",
        read: "Continua", scan: "Inquadra il codice QR", empty: "Incolla una richiesta di pagamento o inquadra il suo codice QR.",
        "other-chain": "Questa richiesta è per un'altra catena («{chain}»); questo nodo è su «{ours}». Non pagarla qui.",
        "unknown-class": "I crediti «{id}» di questa richiesta non esistono su questa catena.",
        self: "Questa richiesta è del tuo stesso borsellino.",
        check: "Controlla prima di pagare", to: "A chi", amount: "Quanto", credits: "Con quali crediti", for: "Per cosa", ref: "Riferimento",
        "amount-input": "Importo da pagare", "amount-help": "La richiesta non dice l'importo: scrivilo tu (per esempio 12,50).",
        "category-input": "Categoria dell'acquisto", "category-help": "La richiesta non dice cosa paghi: sceglilo tu.",
        "choose": "Scegli…",
        held: "Ne hai {amount}.", "not-enough": "Non hai abbastanza crediti di questa classe: ne hai {amount}.",
        "save-name": "Chiama questo destinatario (facoltativo)", "save-help": "Il nome resta solo su questo dispositivo e compare nei movimenti.",
        confirm: "Conferma e paga", cancel: "Annulla", working: "Firma e invio in corso… aspetta che il pagamento entri in un blocco.",
        "bad-amount": "Scrivi un importo valido, con al massimo {decimals} decimali.", "bad-category": "Scegli la categoria dell'acquisto.",
        paid: "Pagato: {amount} {credits} a {to}.", cancelled: "Pagamento annullato: niente è stato firmato.",
        another: "Un altro pagamento", home: "Torna al saldo", address: "indirizzo {address}" },
  en: { title: "Pay", request: "Payment request", "request-help": "Paste the text starting with “incoop:”, or scan the shop's QR code.",
        read: "Continue", scan: "Scan the QR code", empty: "Paste a payment request or scan its QR code.",
        "other-chain": "This request is for another chain (“{chain}”); this node is on “{ours}”. Do not pay it here.",
        "unknown-class": "The credits “{id}” of this request do not exist on this chain.",
        self: "This request is your own wallet's.",
        check: "Check before paying", to: "To whom", amount: "How much", credits: "With which credits", for: "What for", ref: "Reference",
        "amount-input": "Amount to pay", "amount-help": "The request does not say the amount: type it (12.50, for example).",
        "category-input": "Category of the purchase", "category-help": "The request does not say what you pay for: choose it.",
        "choose": "Choose…",
        held: "You hold {amount}.", "not-enough": "You do not hold enough credits of this class: you hold {amount}.",
        "save-name": "Name this recipient (optional)", "save-help": "The name stays on this device only and shows in your history.",
        confirm: "Confirm and pay", cancel: "Cancel", working: "Signing and sending… waiting for the payment to reach a block.",
        "bad-amount": "Type a valid amount, with at most {decimals} decimals.", "bad-category": "Choose the category of the purchase.",
        paid: "Paid: {amount} {credits} to {to}.", cancelled: "Payment cancelled: nothing was signed.",
        another: "Another payment", home: "Back to the balance", address: "address {address}" },
});

export async function render(main, route, account) {
  const status = await get("/v1/status");
  const input = h("textarea", { id: "pay-request", rows: 3, autocomplete: "off", spellcheck: "false", "aria-describedby": "pay-request-help" });
  const error = formError();
  const stage = h("div", { class: "pay-stage" });
  const camera = scanner({ onText: (text) => { input.value = text; read(); }, onProblem: (message) => error.show(message) });
  const form = h("form", { class: "card", novalidate: true, onsubmit: (event) => { event.preventDefault(); read(); } },
    h("label", { for: input.id }, t("request")), input,
    h("p", { class: "field-help", id: "pay-request-help" }, t("request-help")),
    error.el,
    h("div", { class: "row" }, h("button", { type: "submit" }, t("read")),
      h("button", { type: "button", class: "secondary", onclick: () => { error.hide(); camera.start(); } }, t("scan"))),
    camera.el);
  mount(main, walletHeader(account, "pay"), h("h1", {}, t("title")), form, stage);

  async function read() {
    error.hide();
    stage.replaceChildren();
    const text = input.value.trim();
    if (!text) return error.show(t("empty"));
    if (!text.includes(":")) {
      try {  // a bare address (the home page's QR code): a transfer, on its own page
        parseAddress(text);
        return go(`#/wallet/send?to=${encodeURIComponent(text)}`);
      } catch { /* not an address either: say what a request is */ }
    }
    let request;
    try {
      request = parsePaymentRequest(text);
    } catch (err) {
      return error.show(err.message);  // js/payreq.js words it for people, in the page's language
    }
    if (request.chainId !== status.chain_id) return error.show(t("other-chain", { chain: request.chainId, ours: status.chain_id }));
    if (request.to === account.address) return error.show(t("self"));
    const info = await classInfo(request.classId);
    if (!info) return error.show(t("unknown-class", { id: request.classId }));
    const me = await get(`/v1/accounts/${account.address}`);
    const held = BigInt((me.balances.find((b) => b.class === info.id) || { amount: 0 }).amount);
    const names = await nameResolver([info]);
    stage.replaceChildren(confirmation(request, info, held, names, status.block_time_ms, () => { form.hidden = true; }));
    stage.querySelector("h2").focus();
  }

  if (route.query.get("request")) {
    input.value = route.query.get("request");
    await read();
  }
  return () => camera.stop();
}

/** The check before paying, as a form; `onPaid` runs once the payment is committed. */
function confirmation(request, info, held, names, nowMs, onPaid) {
  const format = (minor) => formatAmount(minor, info.decimals);
  const payee = names.of(request.to);
  const requested = request.amount === undefined || request.amount === null ? null : BigInt(request.amount);
  const rows = [[t("to"), [h("strong", {}, payee.text), h("br"), h("span", { class: "mono muted" }, t("address", { address: request.to }))]]];
  if (requested !== null) rows.push([t("amount"), h("span", { class: "amount big" }, format(requested))]);
  rows.push([t("credits"), [info.name, h("br"), h("span", { class: "muted" }, rulesInWords(info, nowMs, format).where)]]);
  if (request.category) rows.push([t("for"), categoryName(request.category)]);
  if (request.ref) rows.push([t("ref"), request.ref]);

  const fields = [];
  let amountInput = null;
  if (requested === null) {
    amountInput = h("input", { id: "pay-amount", type: "text", inputmode: "decimal", autocomplete: "off", required: true,
                               "aria-describedby": "pay-amount-help" });
    fields.push(h("label", { for: amountInput.id }, t("amount-input")), amountInput,
      h("p", { class: "field-help", id: "pay-amount-help" }, t("amount-help")));
  }
  let categoryInput = null;
  if (!request.category) {
    const choices = info.categories.length ? info.categories : COMMON_CATEGORIES;
    categoryInput = h("select", { id: "pay-category", required: true, "aria-describedby": "pay-category-help" },
      h("option", { value: "" }, t("choose")), choices.map((c) => h("option", { value: c }, categoryName(c))));
    fields.push(h("label", { for: categoryInput.id }, t("category-input")), categoryInput,
      h("p", { class: "field-help", id: "pay-category-help" }, t("category-help")));
  }
  let nameInput = null;
  if (!payee.known) {
    nameInput = h("input", { id: "pay-name", type: "text", autocomplete: "off", maxlength: 60, "aria-describedby": "pay-name-help" });
    fields.push(h("label", { for: nameInput.id }, t("save-name")), nameInput,
      h("p", { class: "field-help", id: "pay-name-help" }, t("save-help")));
  }

  const enough = requested === null || requested <= held;
  const error = formError();
  const busy = h("p", { class: "muted", role: "status" });
  const outcome = h("div");
  const pay = h("button", { type: "submit", disabled: !enough }, t("confirm"));
  const card = h("form", { class: "card confirm", novalidate: true, "aria-labelledby": "pay-check", onsubmit: async (event) => {
    event.preventDefault();
    error.hide();
    outcome.replaceChildren();
    const amount = requested ?? parseAmount(amountInput.value, info.decimals);
    if (amount === null || amount <= 0n) return error.show(t("bad-amount", { decimals: info.decimals }));
    const category = request.category || categoryInput.value;
    if (!CATEGORY.test(category)) return error.show(t("bad-category"));
    pay.disabled = true;
    busy.textContent = t("working");
    try {
      const done = await submit("credits.pay", [info.id, parseAddress(request.to), amount, category, request.ref || ""]);
      if (done === null) {
        busy.textContent = t("cancelled");
        return;
      }
      const named = nameInput ? nameInput.value.trim() : "";
      if (named) rememberName(request.to, named);
      const message = t("paid", { amount: format(amount), credits: info.name, to: named || payee.text });
      card.replaceWith(h("div", { class: "pay-done" }, committed(done, message),
        h("p", { class: "row" }, h("a", { class: "button", href: "#/wallet" }, t("home")),
          h("a", { class: "button secondary", href: "#/wallet/pay", onclick: (e) => { e.preventDefault(); go("#/wallet/pay"); } }, t("another")))));
      onPaid();
      announce(message);
    } catch (err) {
      busy.textContent = "";
      outcome.replaceChildren(failed(err));
    } finally {
      pay.disabled = !enough;
    }
  } },
  h("h2", { id: "pay-check", tabindex: "-1" }, t("check")),
  h("dl", { class: "facts" }, rows.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])),
  h("p", { class: enough ? "muted" : "notice bad" }, t(enough ? "held" : "not-enough", { amount: format(held) })),
  fields, error.el, busy, outcome,
  h("div", { class: "row" }, pay, h("button", { type: "button", class: "secondary", onclick: () => {
    card.remove();
    document.getElementById("pay-request")?.focus();
  } }, t("cancel"))));
  return card;
}
