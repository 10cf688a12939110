// What the piazza's pages take from npm, re-exported in one module that build.mjs bundles into
// node/piazza/static/vendor/incoop-vendor.js (docs/piazza.md, "The build"). The pages import only
// the bundle; nothing here is written by hand: every primitive and codec is the library's own.

import * as ed from "@noble/ed25519";
import { sha256, sha512 } from "@noble/hashes/sha2.js";

// @noble/ed25519 hashes with SHA-512 through this hook; setting it to @noble/hashes' SHA-512 makes
// signing synchronous and independent of WebCrypto, which a page served over plain http (a node
// reached on the local network, not localhost) does not have.
ed.hashes.sha512 = sha512;

export const ed25519 = {
  getPublicKey: ed.getPublicKey,
  sign: ed.sign,
  verify: ed.verify,
};
export { sha256, sha512 };
export { argon2id, argon2idAsync } from "@noble/hashes/argon2.js";
export { xsalsa20poly1305 } from "@noble/ciphers/salsa.js";
export { gcm } from "@noble/ciphers/aes.js";
export { randomBytes } from "@noble/ciphers/utils.js";
export { Encoder, Decoder, DecodeError } from "@msgpack/msgpack";
export { base32nopad } from "@scure/base";
export { default as jsQR } from "jsqr";
export { encode as qrEncode, renderSVG as qrSVG } from "uqr";
