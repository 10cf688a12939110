// Asking to be paid: a payment request (FORMAT.md §20) for this wallet's address, made from a class,
// an amount, a reference and a category, shown as the `incoop:` URI and as its QR code, as
// `incoop wallet request` prints them.
import { h, mount, announce } from "./dom.js";
import { get } from "./api.js";
import { translator, formatAmount, parseAmount } from "./i18n.js";
import { formatPaymentRequest } from "./payreq.js";
import { allClasses, categoryName } from "./wallet-classes.js";
import { walletHeader } from "./wallet-nav.js";
import { qrCode } from "./wallet-qr.js";
import { copyButton } from "./wallet-copy.js";
import { formError } from "./wallet-secret.js";

const MAX_REF_BYTES = 128;

const t = translator({
  it: { title: "Chiedi un pagamento", intro: "Prepara una richiesta da far inquadrare o da mandare a chi ti paga: dice a chi pagare, quanto e con quali crediti.",
        class: "Crediti", amount: "Importo (facoltativo)", "amount-help": "Se lo lasci vuoto, lo sceglie chi paga.",
        ref: "Riferimento (facoltativo)", "ref-help": "Per esempio il numero dell'ordine: chi paga lo vede e il pagamento lo porta con sé.",
        category: "Categoria (facoltativa)", "any-category": "La sceglie chi paga", make: "Crea la richiesta",
        "bad-amount": "Scrivi un importo valido, con al massimo {decimals} decimali.", "long-ref": "Il riferimento è troppo lungo.",
        request: "La tua richiesta", uri: "Testo della richiesta", copy: "Copia la richiesta", qr: "Codice QR della richiesta di pagamento",
        summary: "Chi la paga vedrà: {what}.", "summary-amount": "{amount} in «{name}»", "summary-open": "un importo a sua scelta in «{name}»",
        "summary-for": " per {category}", "summary-ref": ", riferimento «{ref}»", made: "Richiesta pronta." },
  en: { title: "Request a payment", intro: "Make a request to have scanned or to send to whoever pays you: it says whom to pay, how much and with which credits.",
        class: "Credits", amount: "Amount (optional)", "amount-help": "Leave it empty for the payer to choose.",
        ref: "Reference (optional)", "ref-help": "An order number, for example: the payer sees it and the payment carries it.",
        category: "Category (optional)", "any-category": "The payer chooses", make: "Make the request",
        "bad-amount": "Type a valid amount, with at most {decimals} decimals.", "long-ref": "The reference is too long.",
        request: "Your request", uri: "Request text", copy: "Copy the request", qr: "QR code of the payment request",
        summary: "Whoever pays it will see: {what}.", "summary-amount": "{amount} in “{name}”", "summary-open": "an amount of their choice in “{name}”",
        "summary-for": " for {category}", "summary-ref": ", reference “{ref}”", made: "Request ready." },
});

export async function render(main, route, account) {
  const [status, classes] = await Promise.all([get("/v1/status"), allClasses()]);
  const usable = classes.filter((c) => !c.expired);
  const select = h("select", { id: "receive-class", required: true }, usable.map((c) => h("option", { value: c.id }, c.name)));
  const amount = h("input", { id: "receive-amount", type: "text", inputmode: "decimal", autocomplete: "off", "aria-describedby": "receive-amount-help" });
  const ref = h("input", { id: "receive-ref", type: "text", autocomplete: "off", maxlength: MAX_REF_BYTES, "aria-describedby": "receive-ref-help" });
  const category = h("select", { id: "receive-category" });
  const fillCategories = () => {
    const chosen = usable.find((c) => c.id === select.value);
    category.replaceChildren(h("option", { value: "" }, t("any-category")),
      (chosen ? chosen.categories : []).map((c) => h("option", { value: c }, categoryName(c))));
  };
  select.addEventListener("change", fillCategories);
  fillCategories();
  const error = formError();
  const result = h("div");
  const form = h("form", { class: "card", novalidate: true, onsubmit: (event) => {
    event.preventDefault();
    error.hide();
    result.replaceChildren();
    const chosen = usable.find((c) => c.id === select.value);
    let minor = null;
    if (amount.value.trim()) {
      minor = parseAmount(amount.value, chosen.decimals);
      if (minor === null || minor <= 0n) return error.show(t("bad-amount", { decimals: chosen.decimals }));
    }
    const reference = ref.value.trim();
    if (new TextEncoder().encode(reference).length > MAX_REF_BYTES) return error.show(t("long-ref"));
    let uri;
    try {
      uri = formatPaymentRequest({ to: account.address, chainId: status.chain_id, classId: chosen.id, amount: minor,
                                   ref: reference || null, category: category.value || null });
    } catch (err) {
      return error.show(err.message);
    }
    let what = minor === null ? t("summary-open", { name: chosen.name })
      : t("summary-amount", { amount: formatAmount(minor, chosen.decimals), name: chosen.name });
    if (category.value) what += t("summary-for", { category: categoryName(category.value) });
    if (reference) what += t("summary-ref", { ref: reference });
    const text = h("textarea", { id: "receive-uri", readonly: true, rows: 4, class: "mono", spellcheck: "false" }, uri);
    result.replaceChildren(h("section", { class: "card request", "aria-labelledby": "receive-made" },
      h("h2", { id: "receive-made", tabindex: "-1" }, t("request")),
      h("p", {}, t("summary", { what })),
      qrCode(uri, t("qr")),
      h("label", { for: text.id }, t("uri")), text, copyButton(text, t("copy"))));
    result.querySelector("h2").focus();
    announce(t("made"));
  } },
  h("label", { for: select.id }, t("class")), select,
  h("label", { for: amount.id }, t("amount")), amount, h("p", { class: "field-help", id: "receive-amount-help" }, t("amount-help")),
  h("label", { for: ref.id }, t("ref")), ref, h("p", { class: "field-help", id: "receive-ref-help" }, t("ref-help")),
  h("label", { for: category.id }, t("category")), category,
  error.el, h("div", { class: "row" }, h("button", { type: "submit" }, t("make"))));
  mount(main, walletHeader(account, "receive"), h("h1", {}, t("title")), h("p", {}, t("intro")), form, result);
}
