// Bundles vendor-entry.js and the npm packages it names into one ES module the pages import:
//   cd node/piazza/web && npm ci && node build.mjs      (writes ../static/vendor/incoop-vendor.js)
//   node build.mjs OUTFILE                              (writes OUTFILE instead; tests/test_piazza_build.py)
// The output is committed, so that a node serves its pages without any build step; the options below
// are fixed and nothing in them depends on the machine, the time or the checkout's path, so the same
// package-lock.json gives the same bytes (tests/test_piazza_build.py checks that the committed file is
// exactly what this script makes).

import { build } from "esbuild";
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const outfile = resolve(process.argv[2] || join(here, "..", "static", "vendor", "incoop-vendor.js"));

const packageJson = JSON.parse(readFileSync(join(here, "package.json"), "utf8"));
const bundled = ["@noble/ed25519", "@noble/hashes", "@noble/ciphers", "@msgpack/msgpack", "@scure/base", "jsqr", "uqr"];
const versions = bundled.map((name) => {
  const { version: installed, license } = JSON.parse(readFileSync(join(here, "node_modules", name, "package.json"), "utf8"));
  const pinned = packageJson.devDependencies[name];
  if (installed !== pinned) {
    throw new Error(`${name} ${installed} is installed but package.json pins ${pinned}: run npm ci in node/piazza/web`);
  }
  return `${name} ${installed} (${license})`;
});

const banner = [
  "// GENERATED FILE, do not edit: node/piazza/web/build.mjs bundles it with esbuild from the npm packages",
  ...versions.map((v) => `//   ${v}`),
  "// pinned with their dependencies in node/piazza/web/package-lock.json; minified (the licence notices the",
  "// packages carry are kept at the end). What the pages use is vendor-entry.js's list of exports.",
  "// Rebuild: cd node/piazza/web && npm ci && node build.mjs   (docs/piazza.md, \"The build\")",
].join("\n");

await build({
  absWorkingDir: here,
  entryPoints: ["vendor-entry.js"],
  outfile,
  bundle: true,
  format: "esm",
  platform: "browser",
  target: "es2020",
  minify: true,  // 215 KB instead of 496: the pages are opened on phones
  treeShaking: true,
  legalComments: "eof",
  charset: "utf8",
  sourcemap: false,
  banner: { js: banner },
  logLevel: "warning",
});
