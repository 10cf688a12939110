"""Hashing and Ed25519: the one place where signatures are made and checked.

docs/consensus.md, "One rule for signature validity": every signature the ledger
depends on is checked by `verify`, which is libsodium's single verification
(RFC 8032 plus libsodium's rejection of non-canonical S, small-order and
non-canonical public keys). Never a batch shortcut that could accept more.
"""

from __future__ import annotations

import hashlib

import nacl.bindings
import nacl.exceptions

from ledger.encoding import encode

PUBKEY_LEN = 32
SIGNATURE_LEN = 64
SEED_LEN = 32
HASH_LEN = 32

# Domain tags: a signature made for one purpose is never valid for another.
DOMAIN_TX = "incoop/tx/v1"
DOMAIN_VOTE = "incoop/vote/v1"
DOMAIN_PROPOSAL = "incoop/proposal/v1"
DOMAIN_PEER = "incoop/peer/v1"
DOMAIN_BIND = "incoop/bind/v1"  # a key consents to being bound to an identity (identity/binding.py)
DOMAIN_API = "incoop/api/v1"  # signed API requests (the registrar's vault), FORMAT.md §19


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def signing_message(domain: str, chain_id: str, payload: bytes) -> bytes:
    """The exact bytes under every incoop signature: canonical [domain, chain id, payload]."""
    return encode((domain, chain_id, payload))


def verify(pubkey: bytes, message: bytes, signature: bytes) -> bool:
    if len(pubkey) != PUBKEY_LEN or len(signature) != SIGNATURE_LEN:
        return False
    try:
        nacl.bindings.crypto_sign_open(signature + message, pubkey)
    except (nacl.exceptions.BadSignatureError, nacl.exceptions.ValueError, ValueError):
        return False
    return True


class SigningKey:
    """An Ed25519 key pair held in memory; `seed` is the 32-byte secret of RFC 8032."""

    __slots__ = ("seed", "pubkey", "_secret")

    def __init__(self, seed: bytes):
        if len(seed) != SEED_LEN:
            raise ValueError("an Ed25519 seed is 32 bytes")
        self.seed = bytes(seed)
        self.pubkey, self._secret = nacl.bindings.crypto_sign_seed_keypair(self.seed)

    @classmethod
    def generate(cls) -> SigningKey:
        import os

        return cls(os.urandom(SEED_LEN))

    def sign(self, message: bytes) -> bytes:
        return nacl.bindings.crypto_sign(message, self._secret)[:SIGNATURE_LEN]

    def sign_for(self, domain: str, chain_id: str, payload: bytes) -> bytes:
        return self.sign(signing_message(domain, chain_id, payload))

    def __repr__(self) -> str:  # never print the seed
        return f"SigningKey(pubkey={self.pubkey.hex()})"
