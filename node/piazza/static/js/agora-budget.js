// A participatory budget (FORMAT.md §6.7.1): the budget bar (what the selections so far would fund,
// against the amount), its projects, the person's selection (agora.select: projects whose amounts add up
// to at most the budget; the last selection counts, an empty one withdraws it), submitting one's own
// proposal as a project (agora.project), and the results once closed.
import { h, mount } from "./dom.js";
import { get, ApiError } from "./api.js";
import { translator, formatTime } from "./i18n.js";
import { fromHex, parseAddress } from "./codec.js";
import { loadClasses, money, amountText, classLabel, parseIn } from "./piazza-classes.js";
import { whoAmI, identityFacts, ownActs } from "./piazza-account.js";
import { transact, notice, report, statusSlot } from "./piazza-act.js";
import { eligibilityOf, eligibilityBadge, excerpt } from "./agora-words.js";

const t = translator({
  it: {
    title: "Bilancio partecipativo", missing: "Questo bilancio non esiste.", back: "Torna a {space}",
    amount: "Da distribuire: {amount}", "ph-submitting": "Si presentano i progetti fino al {time}; poi si scelgono fino al {closes}.",
    "ph-selecting": "Si scelgono i progetti fino al {time}.", "ph-closing": "La scelta è chiusa: i conti si fanno al prossimo blocco.",
    "ph-closed": "Chiuso: i progetti finanziati sono stati pagati, il resto è tornato a chi ha messo i fondi.",
    bar: "Finanziato con le scelte finora", "bar-closed": "Pagato ai progetti", "bar-value": "{allocated} su {amount}", "selectors-one": "Una persona ha scelto.", "selections-one": "1 scelta", "your-selection-one": "Hai scelto un progetto, per {total}.",
    selectors: "{n} persone hanno scelto.", projects: "Progetti", "no-projects": "Ancora nessun progetto.",
    asks: "Chiede {amount}", selections: "{n} scelte", "p-funded": "Finanziato", "p-unfunded": "Non finanziato", "p-ineligible": "Non pagabile",
    "p-submitted": "Presentato", "proj-funded": "sarebbe finanziato", "proj-unfunded": "per ora non finanziato",
    choose: "La tua scelta", "choose-help": "Scegli i progetti che vuoi finanziare: insieme non possono superare il bilancio. Conta l'ultima scelta.",
    "your-bar": "La tua scelta", over: "Hai superato il bilancio di {over}: togli qualche progetto.",
    "choose-button": "Conferma la scelta", "withdraw": "Ritira la mia scelta", chosen: "Scelta registrata.", withdrawn: "Scelta ritirata.",
    "your-selection": "Hai scelto {n} progetti, per {total}.", "no-selection": "Non hai ancora scelto.",
    submit: "Presenta una tua proposta come progetto", proposal: "La proposta", "ask": "Quanto chiedi",
    "submit-help": "Il progetto è la tua proposta; se è finanziato, il pagamento va al tuo conto.",
    "submit-button": "Presenta il progetto", submitted: "Progetto presentato.", "bad-amount": "Scrivi un importo valido, non più del bilancio.",
    "no-own": "Non hai proposte visibili in questo spazio da presentare.", "in-space": "Scrivi una proposta",
  },
  en: {
    title: "Participatory budget", missing: "This budget does not exist.", back: "Back to {space}",
    amount: "To share out: {amount}", "ph-submitting": "Projects are submitted until {time}; then selected until {closes}.",
    "ph-selecting": "Projects are selected until {time}.", "ph-closing": "Selection is over: the sums are made at the next block.",
    "ph-closed": "Closed: the funded projects were paid, the rest went back to the funder.",
    bar: "Funded by the selections so far", "bar-closed": "Paid to the projects", "bar-value": "{allocated} of {amount}", "selectors-one": "One person has selected.", "selections-one": "1 selection", "your-selection-one": "You selected one project, for {total}.",
    selectors: "{n} people have selected.", projects: "Projects", "no-projects": "No project yet.",
    asks: "Asks {amount}", selections: "{n} selections", "p-funded": "Funded", "p-unfunded": "Not funded", "p-ineligible": "Not payable",
    "p-submitted": "Submitted", "proj-funded": "would be funded", "proj-unfunded": "not funded for now",
    choose: "Your selection", "choose-help": "Choose the projects you want funded: together they may not exceed the budget. The last selection counts.",
    "your-bar": "Your selection", over: "You are {over} over the budget: drop a project.",
    "choose-button": "Confirm the selection", "withdraw": "Withdraw my selection", chosen: "Selection recorded.", withdrawn: "Selection withdrawn.",
    "your-selection": "You selected {n} projects, for {total}.", "no-selection": "You have not selected yet.",
    submit: "Submit one of your proposals as a project", proposal: "The proposal", "ask": "How much you ask",
    "submit-help": "The project is your proposal; if it is funded, the payment goes to your account.",
    "submit-button": "Submit the project", submitted: "Project submitted.", "bad-amount": "Write a valid amount, not above the budget.",
    "no-own": "You have no visible proposal in this space to submit.", "in-space": "Write a proposal",
  },
});

export async function render(main, route) {
  let budget;
  try {
    budget = await get(`/v1/agora/budgets/${encodeURIComponent(route.parts[2] || "")}`);
  } catch (error) {
    if (!(error instanceof ApiError) || (error.status !== 404 && error.status !== 400)) throw error;
    mount(main, h("h1", {}, t("missing")), h("a", { href: "#/agora" }, t("back", { space: "agorà" })));
    return;
  }
  const [space, classes, me] = await Promise.all([get(`/v1/agora/spaces/${budget.space}`), loadClasses(), whoAmI()]);
  const facts = await identityFacts(me && me.identity);
  const verdict = eligibilityOf(space, me, facts);
  const selection = me && me.identity ? await selectionOf(budget.id, me) : null;
  const again = async (shown) => { await render(main, route); report(main, shown); };
  const show = (minor) => `${amountText(classes, budget.class_id, minor)} ${classLabel(classes, budget.class_id)}`;
  const bare = (minor) => amountText(classes, budget.class_id, minor);
  const phase = t(`ph-${budget.phase}`, { time: formatTime(budget.phase === "submitting" ? budget.submit_until_ms : budget.closes_ms), closes: formatTime(budget.closes_ms) });
  mount(main,
    h("p", {}, h("a", { href: `#/agora/space/${space.id}` }, `← ${t("back", { space: space.name })}`)),
    h("h1", {}, `${t("title")}: ${space.name}`),
    h("p", { class: "big" }, t("amount", { amount: "" }), money(classes, budget.class_id, budget.amount)),
    h("p", {}, phase),
    budgetBar(budget.bar.allocated, budget.amount, budget.status === "closed" ? t("bar-closed") : t("bar"), show, "budget-bar", bare),
    h("p", { class: "muted" }, t(budget.selectors === 1 ? "selectors-one" : "selectors", { n: budget.selectors })),
    eligibilityBadge(verdict),
    me && me.identity && budget.status === "open" ? h("p", { id: "my-selection", class: selection ? "notice good" : "muted" },
      selection ? t(selection.projects.length === 1 ? "your-selection-one" : "your-selection", { n: selection.projects.length, total: show(selection.total) }) : t("no-selection")) : null,
    budget.phase === "selecting" && verdict.may ? selectForm(budget, selection, show, bare, again)
      : projectList(budget, classes),
    budget.phase === "submitting" && verdict.may ? await submitForm(budget, space, me, classes, again) : null);
}

/** The identity's selection, asked of the node once this key's history shows one (js/piazza-account.js ownActs). */
async function selectionOf(budgetId, me) {
  const made = (await ownActs(me.address, "agora.select")).find((tx) => tx.body[0] === budgetId);
  if (!made || made.body[1].length === 0) return null;
  try {
    return await get(`/v1/agora/budgets/${budgetId}/selections/${me.identity}`);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return null;
    throw error;
  }
}

/** A bar of `part` against `whole` with its label and value in words (a progressbar to screen readers). */
function budgetBar(part, whole, label, show, id, bare) {
  const fill = h("span", {});
  const share = Math.min(100, (Number(part) / Math.max(1, Number(whole))) * 100);
  fill.style.width = `${share.toFixed(2)}%`;   // CSSOM, allowed by the page's policy (docs/piazza.md)
  const over = BigInt(part) > BigInt(whole);
  return h("div", { class: "budget-bar", id },
    h("p", { class: "spread" }, h("span", { id: `${id}-label` }, label), h("strong", {}, t("bar-value", { allocated: bare(part), amount: show(whole) }))),
    h("div", { class: `bar${over ? " over" : ""}`, role: "progressbar", "aria-labelledby": `${id}-label`, "aria-valuemin": "0",
      "aria-valuemax": String(whole), "aria-valuenow": String(Math.min(Number(part), Number(whole))),
      "aria-valuetext": t("bar-value", { allocated: show(part), amount: show(whole) }) }, fill));
}

function projectStatus(project) {
  if (project.status !== "submitted") return h("span", { class: `badge ${project.status === "funded" ? "good" : "bad"}` }, t(`p-${project.status}`));
  return project.projected ? h("span", { class: `badge ${project.projected === "funded" ? "good" : ""}` }, t(`proj-${project.projected}`)) : null;
}

function projectText(project) {
  return project.text === null ? project.post.slice(0, 8) : excerpt({ text_state: "shown", text: project.text }, 160);
}

function projectList(budget, classes) {
  return [h("h2", {}, t("projects")),
    budget.projects.length === 0 ? h("p", { class: "muted" }, t("no-projects")) : h("ul", { class: "plain projects" }, budget.projects.map((p) => h("li", { class: "card" },
      h("p", {}, h("a", { href: `#/agora/post/${p.post}` }, projectText(p))),
      h("p", { class: "row" }, h("span", {}, t("asks", { amount: "" }), money(classes, budget.class_id, p.amount)),
        h("span", { class: "badge" }, t(p.selections === 1 ? "selections-one" : "selections", { n: p.selections })), projectStatus(p)))))];
}

function selectForm(budget, selection, show, bare, again) {
  const chosen = new Set(selection ? selection.projects : []);
  const boxes = budget.projects.map((p) => ({ project: p,
    input: h("input", { type: "checkbox", id: `select-${p.post}`, value: p.post, checked: chosen.has(p.post) }) }));
  const totalSlot = h("div", { "aria-live": "polite" });
  const slot = statusSlot();
  const button = h("button", { type: "submit" }, t("choose-button"));
  function total() { return boxes.filter((b) => b.input.checked).reduce((sum, b) => sum + BigInt(b.project.amount), 0n); }
  function update() {
    const sum = total();
    const over = sum - BigInt(budget.amount);
    mount(totalSlot, budgetBar(sum, budget.amount, t("your-bar"), show, "selection-bar", bare),
      over > 0n ? h("p", { class: "notice bad" }, t("over", { over: show(over) })) : null);
    button.disabled = over > 0n;
  }
  for (const b of boxes) b.input.addEventListener("change", update);
  update();
  const submit = async (ids, doneText, trigger) => {
    const result = await transact(slot, "agora.select", [fromHex(budget.id), ids.sort().map(fromHex)], trigger);
    if (result) await again(notice("good", doneText, result.hash));
  };
  return [h("h2", { id: "select-title" }, t("choose")), h("form", { class: "card", "aria-labelledby": "select-title", onsubmit: async (event) => {
    event.preventDefault();
    if (total() > BigInt(budget.amount)) return;
    await submit(boxes.filter((b) => b.input.checked).map((b) => b.project.post), t("chosen"), button);
  } },
  h("p", { class: "field-help" }, t("choose-help")),
  h("fieldset", {}, h("legend", {}, t("projects")), boxes.map((b) => h("div", { class: "choice project-choice" }, b.input,
    h("label", { for: b.input.id }, projectText(b.project), " — ", h("span", { class: "amount" }, show(b.project.amount)), " ",
      h("span", { class: "muted" }, `(${t(b.project.selections === 1 ? "selections-one" : "selections", { n: b.project.selections })})`), " ", projectStatus(b.project))))),
  totalSlot, slot,
  h("div", { class: "row" }, button,
    selection ? h("button", { type: "button", class: "secondary", onclick: (event) => submit([], t("withdrawn"), event.currentTarget) }, t("withdraw")) : null))];
}

async function submitForm(budget, space, me, classes, again) {
  const heading = h("h2", { id: "submit-title" }, t("submit"));
  const proposals = await get(`/v1/agora/spaces/${space.id}/proposals`, { status: "visible", limit: 200 });
  const taken = new Set(budget.projects.map((p) => p.post));
  const own = proposals.proposals.filter((p) => p.author === me.identity && !taken.has(p.id));
  if (own.length === 0) return [heading, h("p", { class: "muted" }, t("no-own"), " ", h("a", { href: `#/agora/space/${space.id}` }, t("in-space")))];
  const which = h("select", { id: "project-post" }, own.map((p) => h("option", { value: p.id }, excerpt(p, 80))));
  const amount = h("input", { id: "project-amount", inputmode: "decimal", required: true, autocomplete: "off", "aria-describedby": "project-help" });
  const slot = statusSlot();
  const button = h("button", { type: "submit" }, t("submit-button"));
  return [heading, h("form", { class: "card", "aria-labelledby": "submit-title", onsubmit: async (event) => {
    event.preventDefault();
    const minor = parseIn(classes, budget.class_id, amount.value);
    if (minor === null || minor <= 0n || minor > BigInt(budget.amount)) { mount(slot, notice("bad", t("bad-amount"))); slot.hidden = false; amount.focus(); return; }
    const result = await transact(slot, "agora.project", [fromHex(budget.id), fromHex(which.value), parseAddress(me.address), minor], button);
    if (result) await again(notice("good", t("submitted"), result.hash));
  } },
  h("label", { for: "project-post" }, t("proposal")), which,
  h("label", { for: "project-amount" }, t("ask")), amount,
  h("p", { class: "field-help", id: "project-help" }, t("submit-help")), slot, button)];
}
