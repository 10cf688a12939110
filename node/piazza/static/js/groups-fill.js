// How full a purchase group is (FORMAT.md §6.6): the quantity committed against the minimum it must
// reach and the maximum it may not pass, with a mark at each price tier; and the tiers in words.
import { h } from "./dom.js";
import { translator } from "./i18n.js";
import { amountText, classLabel } from "./piazza-classes.js";

const t = translator({
  it: {
    label: "Riempimento del gruppo", value: "{committed} impegnati su {max}; minimo {min}",
    line: "{committed} impegnati su {max} · minimo {min}", missing: "Mancano {n} per il prezzo di {price}.",
    top: "Raggiunto il prezzo più basso.", tiers: "Prezzi per quantità", tier: "da {n}: {price}", reached: "raggiunto",
    "now-price": "Prezzo raggiunto finora: {price}", "below-min": "Minimo non ancora raggiunto.",
  },
  en: {
    label: "How full the group is", value: "{committed} committed of {max}; minimum {min}",
    line: "{committed} committed of {max} · minimum {min}", missing: "{n} more for the price of {price}.",
    top: "The lowest price is reached.", tiers: "Prices by quantity", tier: "from {n}: {price}", reached: "reached",
    "now-price": "Price reached so far: {price}", "below-min": "The minimum is not reached yet.",
  },
});

const percent = (part, whole) => `${Math.min(100, (Number(part) / Math.max(1, Number(whole))) * 100).toFixed(2)}%`;

/** The bar: filled to committed/max, a mark at the minimum and at each tier's quantity. */
export function fillBar(group) {
  const marks = group.tiers.map((tier, i) => {
    const mark = h("span", { class: `mark${i === 0 ? " min" : ""}${group.committed_qty >= tier.min_total ? " reached" : ""}`, "aria-hidden": "true" });
    mark.style.left = percent(tier.min_total, group.max_qty);   // CSSOM, allowed by the page's policy (docs/piazza.md)
    return mark;
  });
  const fill = h("span", { class: "fill" });
  fill.style.width = percent(group.committed_qty, group.max_qty);
  const values = { committed: group.committed_qty, max: group.max_qty, min: group.min_qty };
  return h("div", { class: "fill-bar" },
    h("div", { class: "bar tiers-bar", role: "progressbar", "aria-label": t("label"), "aria-valuemin": "0",
      "aria-valuemax": String(group.max_qty), "aria-valuenow": String(group.committed_qty), "aria-valuetext": t("value", values) },
    fill, marks),
    h("p", { class: "bar-legend" }, t("line", values)));
}

/** What the group has reached and what the next tier needs, in a sentence. */
export function fillText(group, classes) {
  const price = (minor) => `${amountText(classes, group.class, minor)} ${classLabel(classes, group.class)}`;
  return h("p", {},
    group.reached ? t("now-price", { price: price(group.reached.unit_price) }) : t("below-min"), " ",
    group.next_tier ? t("missing", { n: group.next_tier.missing, price: price(group.next_tier.unit_price) }) : t("top"));
}

export function tierList(group, classes) {
  return [h("h3", { id: `tiers-${group.id}` }, t("tiers")),
    h("ol", { class: "tiers", "aria-labelledby": `tiers-${group.id}` }, group.tiers.map((tier) => h("li", {},
      t("tier", { n: tier.min_total, price: amountText(classes, group.class, tier.unit_price) }),
      group.committed_qty >= tier.min_total ? [" ", h("span", { class: "badge good" }, t("reached"))] : null)))];
}
