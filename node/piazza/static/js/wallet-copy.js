// A "copy" button for a piece of text shown on the page (an address, a payment request). Where the
// browser does not allow writing to the clipboard, the text is selected for the person to copy.
import { h, announce } from "./dom.js";
import { translator } from "./i18n.js";

const t = translator({
  it: { copied: "Copiato.", select: "Testo selezionato: copialo con Ctrl+C (o tieni premuto sul telefono)." },
  en: { copied: "Copied.", select: "Text selected: copy it with Ctrl+C (or a long press on a phone)." },
});

/** A button that copies `target`'s text (an element: its value or its text). */
export function copyButton(target, label) {
  const note = h("span", { class: "muted copy-note", role: "status" });
  const button = h("button", { type: "button", class: "secondary", onclick: async () => {
    const text = "value" in target ? target.value : target.textContent;
    try {
      await navigator.clipboard.writeText(text);
      note.textContent = t("copied");
      announce(t("copied"));
    } catch {
      if ("select" in target) target.select();
      else window.getSelection().selectAllChildren(target);
      note.textContent = t("select");
    }
  } }, label);
  return h("span", { class: "row" }, button, note);
}
