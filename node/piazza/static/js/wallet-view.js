// The wallet (#/wallet…): built in the browser, its keys never leave it (docs/piazza.md, "The wallet").
// Each section is its own module; this one picks it from the route and hands it the key in use.
import { activeAccount } from "./session.js";

const SECTIONS = {
  "": () => import("./wallet-home.js"),
  pay: () => import("./wallet-pay.js"),
  send: () => import("./wallet-send.js"),
  receive: () => import("./wallet-receive.js"),
  history: () => import("./wallet-history.js"),
  keys: () => import("./wallet-keys.js"),
  new: () => import("./wallet-create.js"),
  import: () => import("./wallet-import.js"),
};
const WITHOUT_KEY = new Set(["new", "import"]);

export async function render(main, route) {
  const part = route.parts[1] || "";
  const section = Object.hasOwn(SECTIONS, part) ? part : "";
  const account = await activeAccount();
  if (!account && !WITHOUT_KEY.has(section)) return (await import("./wallet-welcome.js")).render(main, route);
  return (await SECTIONS[section]()).render(main, route, account);
}
