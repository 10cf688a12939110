"""A key's consent to being bound to an identity.

Adding or rotating in a key needs that key's own signature, so that nobody can
bind to their identity an account they do not hold (and so block its owner
from ever registering it, an account being in at most one identity):

    binding_signature = Ed25519 by new_key over
        signing_message("incoop/bind/v1", chain_id, canonical(["bind", identity_id, new_key]))

The domain tag makes it useless as any other signature; the chain id and the
identity id make it useless on another chain or for another identity.
"""

from __future__ import annotations

from ledger.crypto import DOMAIN_BIND, SigningKey, signing_message, verify
from ledger.encoding import encode


def binding_payload(identity_id: bytes, key: bytes) -> bytes:
    return encode(("bind", identity_id, key))


def binding_message(chain_id: str, identity_id: bytes, key: bytes) -> bytes:
    return signing_message(DOMAIN_BIND, chain_id, binding_payload(identity_id, key))


def sign_binding(key: SigningKey, chain_id: str, identity_id: bytes) -> bytes:
    """The signature a wallet attaches to `identity.add_key` / `identity.rotate_key` for its key."""
    return key.sign(binding_message(chain_id, identity_id, key.pubkey))


def binding_ok(chain_id: str, identity_id: bytes, key: bytes, signature: bytes) -> bool:
    return verify(key, binding_message(chain_id, identity_id, key), signature)
