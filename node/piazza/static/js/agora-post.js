// A proposal and its thread (FORMAT.md §6.7): the text (or its erased / hidden mark), its supports and
// supporting it (agora.support), its ballot, the comments as a tree with their own marks, and writing a
// comment or a reply (agora.comment); an author may erase their own post (agora.erase).
import { h, mount } from "./dom.js";
import { get, ApiError } from "./api.js";
import { translator, formatDate } from "./i18n.js";
import { fromHex, toHex } from "./codec.js";
import { whoAmI, identityFacts, ownActs } from "./piazza-account.js";
import { transact, notice, report, statusSlot } from "./piazza-act.js";
import { identityLink, explorer, newId } from "./piazza-links.js";
import { eligibilityOf, eligibilityBadge, postBody } from "./agora-words.js";
import { publishPost, textProblem } from "./agora-texts.js";

const t = translator({
  it: {
    proposal: "Proposta", comment: "Commento", missing: "Questo messaggio non esiste.", back: "Torna a {space}",
    "back-agora": "Torna all'agorà", author: "Di", you: "te", "you-byline": "Tu", "in-reply": "In risposta a un messaggio",
    supports: "{n} sostegni", "supports-one": "1 sostegno", "you-support": "Sostieni questa proposta.", needed: "ne servono {n} per andare al voto", "until": "si può sostenere fino al {date}",
    support: "Sostengo questa proposta", supported: "Hai sostenuto la proposta.",
    ballot: "Questa proposta è in votazione.", "go-vote": "Vai alla votazione", "ballot-explorer": "Vedi la votazione nell'esploratore",
    comments: "Commenti", "no-comments": "Ancora nessun commento.", reply: "Rispondi", "reply-to": "La tua risposta",
    "write-comment": "Scrivi un commento", "your-comment": "Il tuo commento", send: "Pubblica", commented: "Commento pubblicato.",
    erase: "Cancella", "erase-confirm": "Sì, cancella il testo", erased: "Testo cancellato: nessun nodo lo conserva più.",
    "erase-help": "Il testo sparisce da tutti i nodi; sulla catena resta solo la sua impronta.",
    truncated: "Il filo ha altri commenti che questa pagina non mostra.", "comments-of": "Commenti alla proposta",
  },
  en: {
    proposal: "Proposal", comment: "Comment", missing: "This post does not exist.", back: "Back to {space}",
    "back-agora": "Back to the agora", author: "By", you: "you", "you-byline": "You", "in-reply": "In reply to a post",
    supports: "{n} supports", "supports-one": "1 support", "you-support": "You support this proposal.", needed: "{n} needed to go to a vote", "until": "may be supported until {date}",
    support: "I support this proposal", supported: "You support the proposal.",
    ballot: "This proposal is being voted.", "go-vote": "Go to the ballot", "ballot-explorer": "See the ballot in the explorer",
    comments: "Comments", "no-comments": "No comment yet.", reply: "Reply", "reply-to": "Your reply",
    "write-comment": "Write a comment", "your-comment": "Your comment", send: "Publish", commented: "Comment published.",
    erase: "Erase", "erase-confirm": "Yes, erase the text", erased: "Text erased: no node keeps it any more.",
    "erase-help": "The text goes from every node; only its fingerprint stays on the chain.",
    truncated: "The thread has more comments than this page shows.", "comments-of": "Comments on the proposal",
  },
});

export async function render(main, route) {
  let thread;
  try {
    thread = await get(`/v1/agora/posts/${encodeURIComponent(route.parts[2] || "")}`);
  } catch (error) {
    if (!(error instanceof ApiError) || (error.status !== 404 && error.status !== 400)) throw error;
    mount(main, h("h1", {}, t("missing")), h("a", { href: "#/agora" }, t("back-agora")));
    return;
  }
  const post = thread.post;
  const [space, me, status] = await Promise.all([get(`/v1/agora/spaces/${post.space}`), whoAmI(), get("/v1/status")]);
  const facts = await identityFacts(me && me.identity);
  const verdict = eligibilityOf(space, me, facts);
  const again = async (shown) => { await render(main, route); report(main, shown); };
  const supported = me && post.kind === "proposal" ? (await ownActs(me.address, "agora.support")).some((tx) => tx.body[0] === post.id) : false;
  const ctx = { me, verdict, again, now: status.block_time_ms, supported };
  const isProposal = post.kind === "proposal";
  mount(main,
    h("p", {}, h("a", { href: `#/agora/space/${space.id}` }, `← ${t("back", { space: space.name })}`)),
    h("h1", {}, isProposal ? t("proposal") : t("comment")),
    isProposal ? null : h("p", {}, h("a", { href: `#/agora/post/${post.parent}` }, t("in-reply"))),
    h("article", { class: "card post", dataset: { post: post.id, state: post.text_state } },
      postBody(post),
      h("p", { class: "muted" }, t("author"), " ", authorOf(post, me)),
      isProposal ? supportBlock(post, space, ctx) : null,
      eraseControl(post, ctx)),
    post.ballot ? h("div", { class: "notice good ballot-link" }, t("ballot"), " ",
      h("a", { href: `#/agora/ballot/${post.ballot}` }, t("go-vote")), " · ",
      h("a", { href: explorer.ballot(post.ballot) }, t("ballot-explorer"))) : null,
    eligibilityBadge(verdict),
    h("h2", { id: "comments-title" }, t("comments")),
    thread.comments.length === 0 ? h("p", { class: "muted" }, t("no-comments")) : threadTree(thread.comments, ctx),
    thread.truncated ? h("p", { class: "notice warn" }, t("truncated")) : null,
    verdict.may && post.status === "visible" ? commentForm(post, ctx, "comment-new", t("write-comment"), t("your-comment")) : null);
}

function authorOf(post, me, byline = false) {
  return me && me.identity === post.author ? h("strong", {}, t(byline ? "you-byline" : "you")) : identityLink(post.author);
}

function supportBlock(post, space, ctx) {
  const open = post.status === "visible" && post.support_until_ms !== null && ctx.now < post.support_until_ms;
  const slot = statusSlot();
  const parts = [t(post.supports === 1 ? "supports-one" : "supports", { n: post.supports })];
  if (space.support_threshold && !post.ballot) parts.push(t("needed", { n: space.support_threshold }));
  if (open) parts.push(t("until", { date: formatDate(post.support_until_ms) }));
  return h("div", { class: "supports" },
    h("p", {}, h("strong", {}, parts[0]), parts.length > 1 ? ` · ${parts.slice(1).join(" · ")}` : ""),
    ctx.supported ? h("p", { class: "badge good" }, t("you-support")) : null,
    open && ctx.verdict.may && !ctx.supported ? h("button", { type: "button", class: "secondary", onclick: async (event) => {
      const result = await transact(slot, "agora.support", [fromHex(post.id)], event.currentTarget);
      if (result) await ctx.again(notice("good", t("supported"), result.hash));
    } }, t("support")) : null,
    slot);
}

function eraseControl(post, ctx) {
  if (!ctx.me || ctx.me.identity !== post.author || post.status === "erased") return null;
  const slot = statusSlot();
  const sure = h("button", { type: "button", class: "danger small", hidden: true, onclick: async (event) => {
    const result = await transact(slot, "agora.erase", [fromHex(post.id)], event.currentTarget);
    if (result) await ctx.again(notice("good", t("erased"), result.hash));
  } }, t("erase-confirm"));
  return h("div", { class: "row erase" },
    h("button", { type: "button", class: "secondary small", "aria-expanded": "false", title: t("erase-help"), onclick: (event) => {
      sure.hidden = false; event.currentTarget.setAttribute("aria-expanded", "true"); sure.focus();
    } }, t("erase")), sure, slot);
}

/** The comments (depth first, `depth` 1 = a direct reply) as nested lists, so that a reply sits under its parent. */
function threadTree(comments, ctx) {
  const root = h("ul", { class: "thread", "aria-label": t("comments-of") });
  const stack = [root];
  let last = null;
  for (const comment of comments) {
    while (stack.length > comment.depth) stack.pop();
    if (stack.length < comment.depth && last) {
      const nested = h("ul", { class: "thread" });
      last.append(nested);
      stack.push(nested);
    }
    last = h("li", {}, commentItem(comment, ctx));
    stack[stack.length - 1].append(last);
  }
  return root;
}

function commentItem(comment, ctx) {
  const formId = `reply-${comment.id}`;
  const canReply = ctx.verdict.may && comment.status === "visible";
  return h("article", { class: "comment", id: `post-${comment.id}`, dataset: { post: comment.id, state: comment.text_state } },
    h("p", { class: "muted byline" }, authorOf(comment, ctx.me, true)),
    postBody(comment),
    h("div", { class: "row" },
      canReply ? h("button", { type: "button", class: "secondary small", "aria-expanded": "false", "aria-controls": formId, onclick: (event) => {
        const form = document.getElementById(formId);
        form.hidden = !form.hidden;
        event.currentTarget.setAttribute("aria-expanded", String(!form.hidden));
        if (!form.hidden) form.querySelector("textarea").focus();
      } }, t("reply")) : null,
      eraseControl(comment, ctx)),
    canReply ? commentForm(comment, ctx, formId, null, t("reply-to"), true) : null);
}

function commentForm(parent, ctx, id, heading, label, hidden = false) {
  const text = h("textarea", { id: `${id}-text`, rows: "3", required: true });
  const slot = statusSlot();
  const button = h("button", { type: "submit" }, t("send"));
  const form = h("form", { id, class: heading ? "card" : "subform", hidden, "aria-label": heading || label, onsubmit: async (event) => {
    event.preventDefault();
    const problem = textProblem(text.value);
    if (problem) { mount(slot, notice("bad", problem)); slot.hidden = false; text.focus(); return; }
    const postId = newId();
    const done = await publishPost(slot, "agora.comment", [postId, fromHex(parent.id)], text.value, button);
    if (!done) return;
    await ctx.again(notice("good", t("commented"), done.result.hash));
    const mine = document.getElementById(`post-${toHex(postId)}`);
    if (mine) mine.classList.add("just-posted");
    if (done.warning) report(document.getElementById("main"), done.warning);
  } },
  h("label", { for: `${id}-text` }, label), text, slot, button);
  return heading ? [h("h2", {}, heading), form] : form;
}
