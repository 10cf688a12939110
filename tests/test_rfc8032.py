"""RFC 8032 §7.1 Ed25519 test vectors through the project's own signing and verification.

The vectors (TEST 1, 2, 3, 1024 and SHA(abc)) are copied from RFC 8032 §7.1.
They show that `ledger.crypto` is plain RFC 8032 Ed25519, and the negative
cases show the edges of the one validity rule (FORMAT.md §4.2) that every
node and auditor must share: a flipped bit, a malleated S + L, and a
small-order public key are all rejected.
"""

from __future__ import annotations

import hashlib

import nacl.bindings
import pytest

from ledger.crypto import SigningKey, verify

L = 2**252 + 27742317777372353535851937790883648493

MESSAGE_1024 = bytes.fromhex(
    "08b8b2b733424243760fe426a4b54908632110a66c2f6591eabd3345e3e4eb98"
    "fa6e264bf09efe12ee50f8f54e9f77b1e355f6c50544e23fb1433ddf73be84d8"
    "79de7c0046dc4996d9e773f4bc9efe5738829adb26c81b37c93a1b270b20329d"
    "658675fc6ea534e0810a4432826bf58c941efb65d57a338bbd2e26640f89ffbc"
    "1a858efcb8550ee3a5e1998bd177e93a7363c344fe6b199ee5d02e82d522c4fe"
    "ba15452f80288a821a579116ec6dad2b3b310da903401aa62100ab5d1a36553e"
    "06203b33890cc9b832f79ef80560ccb9a39ce767967ed628c6ad573cb116dbef"
    "efd75499da96bd68a8a97b928a8bbc103b6621fcde2beca1231d206be6cd9ec7"
    "aff6f6c94fcd7204ed3455c68c83f4a41da4af2b74ef5c53f1d8ac70bdcb7ed1"
    "85ce81bd84359d44254d95629e9855a94a7c1958d1f8ada5d0532ed8a5aa3fb2"
    "d17ba70eb6248e594e1a2297acbbb39d502f1a8c6eb6f1ce22b3de1a1f40cc24"
    "554119a831a9aad6079cad88425de6bde1a9187ebb6092cf67bf2b13fd65f270"
    "88d78b7e883c8759d2c4f5c65adb7553878ad575f9fad878e80a0c9ba63bcbcc"
    "2732e69485bbc9c90bfbd62481d9089beccf80cfe2df16a2cf65bd92dd597b07"
    "07e0917af48bbb75fed413d238f5555a7a569d80c3414a8d0859dc65a46128ba"
    "b27af87a71314f318c782b23ebfe808b82b0ce26401d2e22f04d83d1255dc51a"
    "ddd3b75a2b1ae0784504df543af8969be3ea7082ff7fc9888c144da2af58429e"
    "c96031dbcad3dad9af0dcbaaaf268cb8fcffead94f3c7ca495e056a9b47acdb7"
    "51fb73e666c6c655ade8297297d07ad1ba5e43f1bca32301651339e22904cc8c"
    "42f58c30c04aafdb038dda0847dd988dcda6f3bfd15c4b4c4525004aa06eeff8"
    "ca61783aacec57fb3d1f92b0fe2fd1a85f6724517b65e614ad6808d6f6ee34df"
    "f7310fdc82aebfd904b01e1dc54b2927094b2db68d6f903b68401adebf5a7e08"
    "d78ff4ef5d63653a65040cf9bfd4aca7984a74d37145986780fc0b16ac451649"
    "de6188a7dbdf191f64b5fc5e2ab47b57f7f7276cd419c17a3ca8e1b939ae49e4"
    "88acba6b965610b5480109c8b17b80e1b7b750dfc7598d5d5011fd2dcc5600a3"
    "2ef5b52a1ecc820e308aa342721aac0943bf6686b64b2579376504ccc493d97e"
    "6aed3fb0f9cd71a43dd497f01f17c0e2cb3797aa2a2f256656168e6c496afc5f"
    "b93246f6b1116398a346f1a641f3b041e989f7914f90cc2c7fff357876e506b5"
    "0d334ba77c225bc307ba537152f3f1610e4eafe595f6d9d90d11faa933a15ef1"
    "369546868a7f3a45a96768d40fd9d03412c091c6315cf4fde7cb68606937380d"
    "b2eaaa707b4c4185c32eddcdd306705e4dc1ffc872eeee475a64dfac86aba41c"
    "0618983f8741c5ef68d3a101e8a3b8cac60c905c15fc910840b94c00a0b9d0"
)

# (name, secret key (seed), public key, message, signature) — RFC 8032 §7.1
VECTORS = [
    (
        "TEST 1",
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        b"",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
        "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    ),
    (
        "TEST 2",
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        bytes.fromhex("72"),
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
        "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    ),
    (
        "TEST 3",
        "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
        "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        bytes.fromhex("af82"),
        "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
        "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
    ),
    (
        "TEST 1024",
        "f5e5767cf153319517630f226876b86c8160cc583bc013744c6bf255f5cc0ee5",
        "278117fc144c72340f67d0f2316e8386ceffbf2b2428c9c51fef7c597f1d426e",
        MESSAGE_1024,
        "0aab4c900501b3e24d7cdf4663326a3a87df5e4843b2cbdb67cbf6e460fec350"
        "aa5371b1508f9f4528ecea23c436d94b5e8fcd4f681e30a6ac00a9704a188a03",
    ),
    (
        "TEST SHA(abc)",
        "833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42",
        "ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
        bytes.fromhex(
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
            "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
        ),
        "dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b589"
        "09351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704",
    ),
]

IDS = [v[0] for v in VECTORS]


def test_the_1024_vector_message_is_1023_bytes_as_in_the_rfc():
    assert len(MESSAGE_1024) == 1023


@pytest.mark.parametrize(("name", "seed", "pubkey", "message", "signature"), VECTORS, ids=IDS)
def test_seed_gives_the_rfc_public_key(name, seed, pubkey, message, signature):
    assert SigningKey(bytes.fromhex(seed)).pubkey.hex() == pubkey


@pytest.mark.parametrize(("name", "seed", "pubkey", "message", "signature"), VECTORS, ids=IDS)
def test_signing_gives_the_rfc_signature_byte_for_byte(name, seed, pubkey, message, signature):
    assert SigningKey(bytes.fromhex(seed)).sign(message).hex() == signature


@pytest.mark.parametrize(("name", "seed", "pubkey", "message", "signature"), VECTORS, ids=IDS)
def test_the_rfc_signature_verifies(name, seed, pubkey, message, signature):
    assert verify(bytes.fromhex(pubkey), message, bytes.fromhex(signature))


@pytest.mark.parametrize(("name", "seed", "pubkey", "message", "signature"), VECTORS, ids=IDS)
def test_any_flipped_bit_in_signature_key_or_message_fails(name, seed, pubkey, message, signature):
    pk, sig = bytes.fromhex(pubkey), bytes.fromhex(signature)
    for bit in (0, 7, 255, 256, 300, 511):  # bits of R and of S, first and last bytes
        flipped = bytearray(sig)
        flipped[bit // 8] ^= 1 << (bit % 8)
        assert not verify(pk, message, bytes(flipped)), f"signature bit {bit}"
    for bit in (0, 100, 254):
        flipped = bytearray(pk)
        flipped[bit // 8] ^= 1 << (bit % 8)
        assert not verify(bytes(flipped), message, sig), f"public key bit {bit}"
    altered = bytes([message[0] ^ 1]) + message[1:] if message else b"\x00"
    assert not verify(pk, altered, sig)


@pytest.mark.parametrize(("name", "seed", "pubkey", "message", "signature"), VECTORS, ids=IDS)
def test_non_canonical_s_plus_l_is_rejected(name, seed, pubkey, message, signature):
    """S + L satisfies the group equation like S does; accepting it would make signatures malleable."""
    sig = bytes.fromhex(signature)
    s = int.from_bytes(sig[32:], "little")
    assert s < L
    malleated = sig[:32] + (s + L).to_bytes(32, "little")
    assert not verify(bytes.fromhex(pubkey), message, malleated)


def test_identity_public_key_forgery_is_rejected():
    """With A = identity, R = identity and S = 0 the plain RFC equation holds for any message."""
    identity = bytes([1]) + bytes(31)
    assert not verify(identity, b"any message", identity + bytes(32))


SMALL_ORDER = [
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0100000000000000000000000000000000000000000000000000000000000000",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
]


def _secret_scalar(seed: bytes) -> int:
    h = bytearray(hashlib.sha512(seed).digest()[:32])
    h[0] &= 248
    h[31] &= 127
    h[31] |= 64
    return int.from_bytes(h, "little")


def _sign_with_r(seed: bytes, message: bytes, r: int | None) -> bytes:
    """A signature with a chosen nonce r (R = [r]B), or with R = the identity when r is None."""
    key = SigningKey(seed)
    if r is None:
        r_bytes, r = bytes([1]) + bytes(31), 0
    else:
        r_bytes = nacl.bindings.crypto_scalarmult_ed25519_base_noclamp(r.to_bytes(32, "little"))
    k = int.from_bytes(hashlib.sha512(r_bytes + key.pubkey + message).digest(), "little") % L
    s = (r + k * _secret_scalar(seed)) % L
    return r_bytes + s.to_bytes(32, "little")


def test_a_hand_made_signature_verifies_so_the_construction_below_is_sound():
    seed = bytes([9]) * 32
    assert verify(SigningKey(seed).pubkey, b"m", _sign_with_r(seed, b"m", 12345))


def test_identity_r_is_rejected_although_the_plain_equation_holds():
    """FORMAT.md §4.2 step 3: with R = identity and S = k*a, [S]B - [k]A = R, yet libsodium rejects it."""
    seed = bytes([9]) * 32
    assert not verify(SigningKey(seed).pubkey, b"m", _sign_with_r(seed, b"m", None))


@pytest.mark.parametrize("encoding", SMALL_ORDER)
def test_small_order_public_keys_in_either_sign_are_rejected(encoding):
    """FORMAT.md §4.2 step 5: the small-order list, compared with the sign bit ignored."""
    raw = bytes.fromhex(encoding)
    for pk in (raw, raw[:31] + bytes([raw[31] | 0x80])):
        assert not verify(pk, b"m", bytes([1]) + bytes(31) + bytes(32))
        assert not verify(pk, b"m", SigningKey(bytes([9]) * 32).sign(b"m"))


def test_non_canonical_public_key_encoding_is_rejected():
    """FORMAT.md §4.2 step 4: y >= p. y = p + 2 is the non-canonical twin of y = 2."""
    p = 2**255 - 19
    assert not verify((p + 2).to_bytes(32, "little"), b"m", SigningKey(bytes([9]) * 32).sign(b"m"))


def test_wrong_lengths_are_rejected_not_raised():
    key = SigningKey(bytes([9]) * 32)
    sig = key.sign(b"m")
    assert verify(key.pubkey, b"m", sig)
    assert not verify(key.pubkey[:31], b"m", sig)
    assert not verify(key.pubkey, b"m", sig[:63])
    assert not verify(key.pubkey, b"m", sig + b"\x00")
