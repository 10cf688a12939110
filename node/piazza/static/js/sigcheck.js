// The one signature validity rule of FORMAT.md §4.2, in the browser: RFC 8032 verification with
// libsodium's extra checks, cofactorless, exactly the set of signatures the nodes accept.
//
// @noble/ed25519's own verify() is not that set: it uses the cofactored equation (ZIP 215 by default,
// and still cofactored with {zip215: false}), so it accepts signatures whose R carries a torsion
// component, which every node refuses. A light client that accepted more than the nodes could be shown
// a certificate no node would ever take. So the steps below are §4.2's, one by one, on the library's
// own point arithmetic and SHA-512 (no primitive is written here).

import { ed25519, sha512 } from "../vendor/incoop-vendor.js";
import { concatBytes, fromHex } from "./codec.js";

const { Point } = ed25519;
const P = 2n ** 255n - 19n;
const L = 2n ** 252n + 27742317777372353535851937790883648493n;

// FORMAT.md §4.2, "The small-order list" (libsodium's ge25519_has_small_order)
const SMALL_ORDER = [
  "0000000000000000000000000000000000000000000000000000000000000000",
  "0100000000000000000000000000000000000000000000000000000000000000",
  "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
  "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
  "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
].map(fromHex);

function littleEndian(bytes) {
  let value = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[i]);
  return value;
}

/** Its first 31 bytes equal an entry's and its last byte, sign bit cleared, equals that entry's last. */
function isSmallOrder(encoding) {
  return SMALL_ORDER.some((entry) => {
    for (let i = 0; i < 31; i++) if (encoding[i] !== entry[i]) return false;
    return (encoding[31] & 0x7f) === entry[31];
  });
}

/** True if `signature` is valid under `publicKey` over `message` by FORMAT.md §4.2; never throws. */
export function verifySignature(publicKey, message, signature) {
  // 1. lengths
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32) return false;
  if (!(signature instanceof Uint8Array) || signature.length !== 64) return false;
  const rBytes = signature.subarray(0, 32);
  // 2. S < L: rejects the malleated S + L
  const s = littleEndian(signature.subarray(32, 64));
  if (s >= L) return false;
  // 3. R is never a small-order encoding (and is never decoded: step 9 compares bytes)
  if (isSmallOrder(rBytes)) return false;
  // 4. A canonical: y < p, with the sign bit cleared
  const y = littleEndian(publicKey) & ((1n << 255n) - 1n);
  if (y >= P) return false;
  // 5. A not small-order
  if (isSmallOrder(publicKey)) return false;
  // 6. A decodes (RFC 8032 §5.1.3). zip215 = true only skips the library's own y < p test (step 4 did
  //    it) and its x = 0 rule, which concerns only the two small-order points step 5 refused already.
  let a;
  try {
    a = Point.fromBytes(publicKey, true);
  } catch {
    return false;
  }
  // 7. k = SHA512(R || A || M) mod L, over the bytes as given
  const k = littleEndian(sha512(concatBytes(rBytes, publicKey, message))) % L;
  // 8. R' = [S]B − [k]A (variable time is fine: everything here is public)
  const rPrime = Point.BASE.multiply(s, false).subtract(a.multiply(k, false));
  // 9. enc(R') == R_bytes, byte for byte: the cofactorless equation
  const encoded = rPrime.toBytes();
  for (let i = 0; i < 32; i++) if (encoded[i] !== rBytes[i]) return false;
  return true;
}
