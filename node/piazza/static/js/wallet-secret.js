// Fields for a new secret typed twice (the browser passphrase, a key file's password): labelled, with
// their rule said beside them, and checked before anything is derived from them.
import { h } from "./dom.js";
import { translator } from "./i18n.js";
import { MIN_PASSPHRASE } from "./keyring.js";

const MIN_SECRET = MIN_PASSPHRASE;

const t = translator({
  it: { again: "{label} (ripeti)", short: "{label}: almeno {min} caratteri.", differ: "I due campi «{label}» non coincidono: riscrivili.",
        rule: "Almeno {min} caratteri. Una frase di quattro o cinque parole si ricorda meglio." },
  en: { again: "{label} (again)", short: "{label}: at least {min} characters.", differ: "The two “{label}” fields differ: type them again.",
        rule: "At least {min} characters. A phrase of four or five words is easier to remember." },
});

/**
 * Two password inputs for a new secret. Returns {fields, value(), check() → message | null, clear()}.
 * `id` prefixes the inputs' ids; `label` names the secret ("Frase segreta").
 */
export function newSecret(id, label) {
  const first = h("input", { id: `${id}-1`, type: "password", autocomplete: "new-password", required: true,
                             minlength: MIN_SECRET, "aria-describedby": `${id}-rule` });
  const second = h("input", { id: `${id}-2`, type: "password", autocomplete: "new-password", required: true });
  const fields = [
    h("label", { for: first.id }, label), first,
    h("p", { class: "field-help", id: `${id}-rule` }, t("rule", { min: MIN_SECRET })),
    h("label", { for: second.id }, t("again", { label })), second,
  ];
  return {
    fields,
    value: () => first.value,
    check() {
      if (first.value.length < MIN_SECRET) return t("short", { label, min: MIN_SECRET });
      if (first.value !== second.value) return t("differ", { label });
      return null;
    },
    clear() { first.value = ""; second.value = ""; },
  };
}

/** A plain notice for a form's error, focused so that a screen reader says it. */
export function formError() {
  const el = h("p", { class: "notice bad", role: "alert", tabindex: "-1", hidden: true });
  return {
    el,
    show(text) { el.textContent = text; el.hidden = false; el.focus(); },
    hide() { el.hidden = true; el.textContent = ""; },
  };
}
