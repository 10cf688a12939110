// A ballot (FORMAT.md §6.7): its options, window and quorum; the person's vote (one per identity,
// whatever its keys; changeable until the closing: the last one counts), cast with agora.vote; the
// results once it is closed. A commit-then-reveal ballot shows no count before it is decided.
import { h, mount } from "./dom.js";
import { get, ApiError } from "./api.js";
import { translator, formatTime } from "./i18n.js";
import { fromHex } from "./codec.js";
import { whoAmI, identityFacts, ownActs } from "./piazza-account.js";
import { transact, notice, report, statusSlot } from "./piazza-act.js";
import { explorer } from "./piazza-links.js";
import { eligibilityOf, eligibilityBadge, excerpt } from "./agora-words.js";
import { commitVote, committedOption, revealable, revealVote } from "./agora-secret.js";

const t = translator({
  it: {
    title: "Votazione", missing: "Questa votazione non esiste.", back: "Torna alla proposta", "in-explorer": "Vedi nell'esploratore",
    window: "Si vota dal {from} al {to}.", "s-scheduled": "Non ancora aperta", "s-open": "Aperta", "s-revealing": "Chiusa: si rivelano i voti segreti",
    "s-decided": "Decisa", "s-failed": "Non decisa", quorum: "Quorum: {q}% di {n} aventi diritto (almeno {need} voti).",
    "quorum-later": "Quorum: {q}% degli aventi diritto, contati all'apertura.", pass: "Un'opzione passa con più del {p}% dei voti decisivi (l'astensione non è decisiva).",
    cast: "Hanno votato: {n}.", "cast-one": "Ha votato una persona.", "your-vote": "Il tuo voto: «{label}».", "change-until": "Puoi cambiarlo fino alla chiusura, il {time}: conta l'ultimo.",
    "no-vote": "Non hai ancora votato.", vote: "Il tuo voto", "vote-button": "Vota", "change-button": "Cambia il voto",
    voted: "Voto registrato: «{label}».", results: "Risultati", outcome: "Esito: approvata l'opzione «{label}».",
    "no-outcome": "Esito: nessuna opzione è passata (quorum non raggiunto o parità).", votes: "{n} voti", "votes-one": "1 voto", "of-cast": "{p}% dei votanti",
    secret: "Votazione segreta: fino alla chiusura si impegna il voto, che nessuno vede; poi lo si rivela, entro il {time}. Un voto non rivelato non conta.",
    "secret-help": "Su questo dispositivo restano la tua scelta e un numero casuale: servono a rivelarla dopo la chiusura, da qui.",
    "commit-button": "Impegna il voto", "recommit-button": "Cambia il voto", committed: "Voto impegnato: «{label}», segreto fino alla chiusura.",
    "your-commit": "Hai impegnato il voto «{label}»: rivelalo dopo la chiusura, entro il {time}.",
    "commit-elsewhere": "Hai impegnato un voto da un altro dispositivo o un'altra chiave: si rivela da lì.",
    reveal: "Rivela il tuo voto «{label}»", revealed: "Voto rivelato: «{label}».", "your-revealed": "Il tuo voto, rivelato: «{label}».",
    "reveal-now": "La votazione è chiusa: ora si rivelano i voti, fino al {time}.", "nothing-to-reveal": "Su questo dispositivo non c'è un voto da rivelare.",
    "counts-hidden": "I conteggi si vedono solo a votazione conclusa.", closed: "La votazione è chiusa.", "not-yet": "La votazione apre il {time}.",
  },
  en: {
    title: "Ballot", missing: "This ballot does not exist.", back: "Back to the proposal", "in-explorer": "See it in the explorer",
    window: "Votes are taken from {from} to {to}.", "s-scheduled": "Not open yet", "s-open": "Open", "s-revealing": "Closed: secret votes are being revealed",
    "s-decided": "Decided", "s-failed": "Not decided", quorum: "Quorum: {q}% of {n} entitled (at least {need} votes).",
    "quorum-later": "Quorum: {q}% of those entitled, counted at the opening.", pass: "An option passes with more than {p}% of the decisive votes (abstaining is not decisive).",
    cast: "Voted so far: {n}.", "cast-one": "One person has voted.", "your-vote": "Your vote: “{label}”.", "change-until": "You may change it until the closing, {time}: the last one counts.",
    "no-vote": "You have not voted yet.", vote: "Your vote", "vote-button": "Vote", "change-button": "Change the vote",
    voted: "Vote recorded: “{label}”.", results: "Results", outcome: "Outcome: option “{label}” passed.",
    "no-outcome": "Outcome: no option passed (no quorum, or a tie).", votes: "{n} votes", "votes-one": "1 vote", "of-cast": "{p}% of the voters",
    secret: "Secret ballot: until the closing a vote is committed, and nobody sees it; then it is revealed, by {time}. A vote not revealed does not count.",
    "secret-help": "This device keeps your choice and a random number: they reveal it after the closing, from here.",
    "commit-button": "Commit the vote", "recommit-button": "Change the vote", committed: "Vote committed: “{label}”, secret until the closing.",
    "your-commit": "You committed the vote “{label}”: reveal it after the closing, by {time}.",
    "commit-elsewhere": "You committed a vote from another device or key: it is revealed from there.",
    reveal: "Reveal your vote “{label}”", revealed: "Vote revealed: “{label}”.", "your-revealed": "Your vote, revealed: “{label}”.",
    "reveal-now": "The ballot is closed: votes are revealed now, until {time}.", "nothing-to-reveal": "This device holds no vote to reveal.",
    "counts-hidden": "Counts are shown once the ballot is over.", closed: "The ballot is closed.", "not-yet": "The ballot opens on {time}.",
  },
});

export async function render(main, route) {
  let ballot;
  try {
    ballot = await get(`/v1/agora/ballots/${encodeURIComponent(route.parts[2] || "")}`);
  } catch (error) {
    if (!(error instanceof ApiError) || (error.status !== 404 && error.status !== 400)) throw error;
    mount(main, h("h1", {}, t("missing")), h("a", { href: "#/agora" }, t("back")));
    return;
  }
  const [space, thread, me, status] = await Promise.all([
    get(`/v1/agora/spaces/${ballot.space}`), get(`/v1/agora/posts/${ballot.proposal}`), whoAmI(), get("/v1/status")]);
  const facts = await identityFacts(me && me.identity);
  const verdict = eligibilityOf(space, me, facts);
  const vote = me && me.identity ? await myVote(ballot, me) : null;
  const again = async (shown) => { await render(main, route); report(main, shown); };
  const now = status.block_time_ms;
  const open = (ballot.status === "open" || ballot.status === "scheduled") && ballot.opens_ms <= now && now < ballot.closes_ms;
  const over = ballot.status === "decided" || ballot.status === "failed";
  const secret = ballot.mode === "commit-reveal";
  mount(main,
    h("p", {}, h("a", { href: `#/agora/post/${ballot.proposal}` }, `← ${t("back")}`)),
    h("h1", {}, `${t("title")}: ${space.name}`),
    h("blockquote", { class: "card proposal-quote" }, h("a", { href: `#/agora/post/${ballot.proposal}` }, excerpt(thread.post, 280))),
    h("p", { class: "row" }, h("span", { class: `badge ${ballot.status === "decided" ? "good" : ballot.status === "failed" ? "bad" : ""}` }, t(`s-${ballot.status}`)),
      h("a", { href: explorer.ballot(ballot.id) }, t("in-explorer"))),
    h("ul", { class: "plain facts-list" },
      h("li", {}, t("window", { from: formatTime(ballot.opens_ms), to: formatTime(ballot.closes_ms) })),
      h("li", {}, ballot.eligible ? t("quorum", { q: ballot.quorum_permille / 10, n: ballot.eligible, need: Math.max(1, Math.ceil(ballot.quorum_permille * ballot.eligible / 1000)) })
        : t("quorum-later", { q: ballot.quorum_permille / 10 })),
      h("li", {}, t("pass", { p: ballot.pass_permille / 10 })),
      ballot.cast !== null ? h("li", {}, t(ballot.cast === 1 ? "cast-one" : "cast", { n: ballot.cast })) : null),
    secret && !over ? h("p", { class: "notice warn" }, t("secret", { time: formatTime(ballot.reveal_until_ms) })) : null,
    secret && !over ? null : publicState(vote, me, open, over, ballot),
    over ? results(ballot) : secret ? h("p", { class: "muted" }, t("counts-hidden")) : null,
    over ? null : secret ? await secretSection(ballot, vote, me, verdict, now, again) : voteSection(ballot, vote, verdict, open, now, again));
}

function publicState(vote, me, open, over, ballot) {
  if (vote && vote.label !== null) {
    return h("p", { class: "notice good", id: "my-vote" }, t("your-vote", { label: vote.label }),
      open ? [" ", t("change-until", { time: formatTime(ballot.closes_ms) })] : null);
  }
  return me && !over ? h("p", { class: "muted", id: "my-vote" }, t("no-vote")) : null;
}

/** A secret ballot: commit (and change it) until the closing, then reveal from the salt kept here. */
async function secretSection(ballot, vote, me, verdict, now, again) {
  const heading = h("h2", { id: "vote-title" }, t("vote"));
  if (now < ballot.opens_ms) return [heading, h("p", { class: "notice warn" }, t("not-yet", { time: formatTime(ballot.opens_ms) }))];
  if (!me || !me.identity) return [heading, eligibilityBadge(verdict)];
  const slot = statusSlot();
  if (vote && vote.option !== null) return [heading, h("p", { class: "notice good", id: "my-vote" }, t("your-revealed", { label: vote.label }))];
  if (now >= ballot.closes_ms) {
    if (now >= ballot.reveal_until_ms) return [heading, h("p", { class: "notice warn" }, t("closed"))];
    const choice = await revealable(ballot.id, me.identity, me.address);
    if (!choice) return [heading, h("p", { class: "notice warn", id: "my-vote" }, t(vote ? "commit-elsewhere" : "nothing-to-reveal"))];
    const label = ballot.options[choice.option];
    return [heading, h("p", {}, t("reveal-now", { time: formatTime(ballot.reveal_until_ms) })),
      h("button", { type: "button", onclick: async (event) => {
        const result = await revealVote(slot, event.currentTarget, ballot.id, me.identity, choice);
        if (result) await again(notice("good", t("revealed", { label }), result.hash));
      } }, t("reveal", { label })), slot];
  }
  if (!verdict.may) return [heading, eligibilityBadge(verdict)];
  const mine = committedOption(ballot.id, me.identity);
  const radios = ballot.options.map((label, i) => h("div", { class: "choice" },
    h("input", { type: "radio", name: "ballot-option", id: `ballot-option-${i}`, value: String(i), checked: i === mine, required: true }),
    h("label", { for: `ballot-option-${i}` }, label)));
  const button = h("button", { type: "submit" }, mine === null ? t("commit-button") : t("recommit-button"));
  return [heading,
    mine !== null ? h("p", { class: "notice good", id: "my-vote" }, t("your-commit", { label: ballot.options[mine], time: formatTime(ballot.reveal_until_ms) }))
      : vote ? h("p", { class: "notice warn", id: "my-vote" }, t("commit-elsewhere")) : h("p", { class: "muted", id: "my-vote" }, t("no-vote")),
    h("form", { class: "card", "aria-labelledby": "vote-title", onsubmit: async (event) => {
      event.preventDefault();
      const chosen = radios.map((r) => r.querySelector("input")).find((i) => i.checked);
      if (!chosen) return;
      const option = Number(chosen.value);
      const result = await commitVote(slot, button, ballot.id, me.identity, option);
      if (result) await again(notice("good", t("committed", { label: ballot.options[option] }), result.hash));
    } },
    h("fieldset", {}, h("legend", {}, t("vote")), radios),
    h("p", { class: "field-help" }, t("secret-help")), slot, button)];
}

/** The identity's vote, asked of the node once this key's history shows it voted (js/piazza-account.js ownActs). */
async function myVote(ballot, me) {
  const acts = await ownActs(me.address, ballot.mode === "public" ? "agora.vote" : "agora.commit");
  if (!acts.some((tx) => tx.body[0] === ballot.id)) return null;
  try {
    return await get(`/v1/agora/ballots/${ballot.id}/votes/${me.identity}`);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return null;
    throw error;
  }
}

function voteSection(ballot, vote, verdict, open, now, again) {
  const heading = h("h2", { id: "vote-title" }, t("vote"));
  if (!open) return [heading, h("p", { class: "notice warn" }, now < ballot.opens_ms ? t("not-yet", { time: formatTime(ballot.opens_ms) }) : t("closed"))];
  if (!verdict.may) return [heading, eligibilityBadge(verdict)];
  const current = vote ? vote.option : null;
  const radios = ballot.options.map((label, i) => h("div", { class: "choice" },
    h("input", { type: "radio", name: "ballot-option", id: `ballot-option-${i}`, value: String(i), checked: i === current, required: true }),
    h("label", { for: `ballot-option-${i}` }, label)));
  const slot = statusSlot();
  const button = h("button", { type: "submit" }, current === null ? t("vote-button") : t("change-button"));
  return [heading, h("form", { class: "card", "aria-labelledby": "vote-title", onsubmit: async (event) => {
    event.preventDefault();
    const chosen = radios.map((r) => r.querySelector("input")).find((i) => i.checked);
    if (!chosen) return;
    const option = Number(chosen.value);
    const result = await transact(slot, "agora.vote", [fromHex(ballot.id), option], button);
    if (result) await again(notice("good", t("voted", { label: ballot.options[option] }), result.hash));
  } },
  h("fieldset", {}, h("legend", {}, t("vote")), radios), slot, button)];
}

function results(ballot) {
  const cast = ballot.cast || 0;
  return [h("h2", {}, t("results")),
    h("p", { class: `notice ${ballot.outcome ? "good" : "warn"}` }, ballot.outcome ? t("outcome", { label: ballot.outcome.label }) : t("no-outcome")),
    h("ul", { class: "plain results" }, ballot.options.map((label, i) => {
      const n = ballot.counts ? ballot.counts[i] : 0;
      const share = cast ? Math.round((n / cast) * 1000) / 10 : 0;
      const fill = h("span", {});
      fill.style.width = `${share}%`;   // CSSOM, allowed by the page's policy (docs/piazza.md)
      return h("li", {},
        h("div", { class: "spread" }, h("strong", {}, label), h("span", {}, `${t(n === 1 ? "votes-one" : "votes", { n })} · ${t("of-cast", { p: share.toLocaleString(document.documentElement.lang) })}`)),
        h("div", { class: "bar", "aria-hidden": "true" }, fill));
    }))];
}
