// Writing in the agora: the chain keeps only the SHA-256 of a post's text, signed by its author; the text
// itself goes to the node off chain (POST /v1/agora/texts), once the post is in a block
// (FORMAT.md §6.7 "Where the text lives"; docs/agora.md).
import { h } from "./dom.js";
import { post } from "./api.js";
import { translator } from "./i18n.js";
import { sha256, toHex } from "./codec.js";
import { transact, notice } from "./piazza-act.js";

const t = translator({
  it: { "text-failed": "Il messaggio è sulla catena, ma il nodo non ha preso il testo ({message}).", retry: "Invia di nuovo il testo",
        "text-sent": "Testo consegnato al nodo.",
        "too-long": "Il testo è troppo lungo: al massimo {n} byte.", empty: "Scrivi il testo." },
  en: { "text-failed": "The post is on the chain, but the node did not take its text ({message}).", retry: "Send the text again",
        "text-sent": "Text given to the node.",
        "too-long": "The text is too long: at most {n} bytes.", empty: "Write the text." },
});

export const MAX_TEXT_BYTES = 16_384;

/** Why `text` cannot be posted (a sentence), or null. */
export function textProblem(text) {
  if (!text.trim()) return t("empty");
  if (new TextEncoder().encode(text).length > MAX_TEXT_BYTES) return t("too-long", { n: MAX_TEXT_BYTES });
  return null;
}

/**
 * Post `text` with a transaction of `type` whose body is `head` followed by the text's hash
 * (agora.propose [post_id, space_id], agora.comment [post_id, parent_id]), then give the node the text.
 * Returns {result, warning} (warning: a notice if the text was refused) or null when the post was not made.
 */
export async function publishPost(slot, type, head, text, button) {
  const hash = await sha256(new TextEncoder().encode(text));
  const result = await transact(slot, type, [...head, hash], button);
  if (!result) return null;
  try {
    await post("/v1/agora/texts", { post: toHex(head[0]), text });
    return { result, warning: null };
  } catch (error) {
    return { result, warning: retryNotice(toHex(head[0]), text, error) };
  }
}

/** The post is on the chain without its text: say so, and offer to give the node the text again. */
function retryNotice(postId, text, error) {
  const shown = notice("warn", t("text-failed", { message: error.message }));
  const button = h("button", { type: "button", class: "secondary small", onclick: async () => {
    button.disabled = true;
    try {
      await post("/v1/agora/texts", { post: postId, text });
      shown.replaceWith(notice("good", t("text-sent")));
    } catch (again) {
      shown.replaceWith(retryNotice(postId, text, again));
    }
  } }, t("retry"));
  shown.append(" ", button);
  return shown;
}
