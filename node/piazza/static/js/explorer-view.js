// The explorer's first page: the chain's status as the node sees it.
import { h, mount } from "./dom.js";
import { get } from "./api.js";
import { translator, formatTime } from "./i18n.js";

const t = translator({
  it: { title: "Stato della catena", height: "Altezza", "last-block": "Ultimo blocco", chain: "Catena", role: "Ruolo del nodo", validators: "Validatori" },
  en: { title: "Chain status", height: "Height", "last-block": "Last block", chain: "Chain", role: "Node role", validators: "Validators" },
});

export async function render(main) {
  const [status, validators] = await Promise.all([get("/v1/status"), get("/v1/governance/validators")]);
  const rows = [
    [t("chain"), status.chain_id],
    [t("height"), String(status.height)],
    [t("last-block"), status.block_time_ms ? formatTime(status.block_time_ms) : "—"],
    [t("role"), status.role],
    [t("validators"), String((validators.validators || []).length)],
  ];
  mount(main, h("h1", {}, t("title")),
    h("dl", { class: "card" }, rows.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])));
}
