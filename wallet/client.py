"""A synchronous client for the node's HTTP API (docs/api-contract.md).

Plain urllib, so that the wallet needs nothing beyond the standard library to
talk to a node (and PyNaCl, through ledger.crypto, to sign vault requests). Every failure — an error body from the node, a refused
connection, a timeout, a reply that is not what the contract promises —
becomes one NodeError, so that callers handle exactly one exception type.

An https:// node is checked against `ca_file` (a federation's own CA,
docs/tls.md) or else the system's store; a certificate it refuses is a
NodeError(TLS) of one line saying why.
"""

from __future__ import annotations

import http.client
import json
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from keys.request_auth import sign_request
from keys.tls_client import TlsError, client_context, describe_client_error
from ledger.crypto import SigningKey

MSGPACK = "application/msgpack"
JSON = "application/json"

# `code` of a NodeError that did not come from the node itself
UNREACHABLE = "UNREACHABLE"
TIMEOUT = "TIMEOUT"
BAD_RESPONSE = "BAD_RESPONSE"
TLS = "TLS"

FINAL_STATUSES = ("committed", "rejected")


class NodeError(Exception):
    """The node said no (status 4xx/5xx and its error code) or could not be asked (status 0)."""

    def __init__(self, status: int, code: str, message: str):
        self.status = status
        self.code = code
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        # transport failures carry a full sentence already; node errors lead with their code
        return self.message if self.status == 0 else f"{self.code}: {self.message}"


def _id_hex(identity_id: bytes | str) -> str:
    return identity_id.hex() if isinstance(identity_id, bytes) else identity_id


def _quote(segment: str | int) -> str:
    return urllib.parse.quote(str(segment), safe="")


def _tls_hint(url: str, reason: object) -> str:
    """A plain http:// request to a TLS-only node is dropped in the handshake: say what that probably means."""
    dropped = (http.client.RemoteDisconnected, http.client.BadStatusLine, ConnectionResetError)
    return " (does it serve https:// only?)" if url.startswith("http:") and isinstance(reason, dropped) else ""


class NodeClient:
    """One node, one base URL; each method is one request of the API contract."""

    def __init__(self, base_url: str, timeout: float = 10.0, signer: SigningKey | None = None, chain_id: str | None = None,
                 ca_file: str | None = None):
        """`signer` signs the calls that need it (the vault's, FORMAT.md §19.3) for chain `chain_id`
        (asked of the node on first use if not given); `ca_file` is the PEM CA bundle an https://
        node's certificate is checked against (None: the system's store)."""
        base_url = base_url.strip()
        if "://" not in base_url:
            base_url = "http://" + base_url
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.signer = signer
        self.chain_id = chain_id
        self.ca_file = ca_file
        self._ssl: ssl.SSLContext | None = None
        self._last_signed_ms = 0

    # --- transport -------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        content_type: str | None = None,
        query: dict[str, Any] | None = None,
        accept: str = JSON,
        signed: bool = False,
    ) -> tuple[int, str, bytes]:
        target = path
        if query:
            pairs = {k: v for k, v in query.items() if v is not None}
            if pairs:
                target += "?" + urllib.parse.urlencode(pairs)
        url = self.base_url + target
        headers = {"Accept": accept}
        if content_type:
            headers["Content-Type"] = content_type
        if signed:
            headers.update(self._signature_headers(method, target, body or b""))
        request = urllib.request.Request(url, data=body, method=method, headers=headers)
        context = self._ssl_context() if url.startswith("https:") else None
        try:
            with urllib.request.urlopen(request, timeout=self.timeout, context=context) as response:
                return response.status, response.headers.get_content_type(), response.read()
        except urllib.error.HTTPError as exc:
            raise self._error_from(exc) from None
        except urllib.error.URLError as exc:
            reason = exc.reason
            if isinstance(reason, TimeoutError):
                raise self._timed_out() from None
            tls_problem = describe_client_error(reason) if isinstance(reason, BaseException) else None
            if tls_problem is not None:
                raise NodeError(0, TLS, f"cannot reach node at {self.base_url}: {tls_problem}") from None
            text = getattr(reason, "strerror", None) or str(reason)
            raise NodeError(0, UNREACHABLE, f"cannot reach node at {self.base_url}: {text}{_tls_hint(url, reason)}") from None
        except TimeoutError:
            raise self._timed_out() from None
        except (OSError, http.client.HTTPException) as exc:
            tls_problem = describe_client_error(exc)
            if tls_problem is not None:
                raise NodeError(0, TLS, f"cannot reach node at {self.base_url}: {tls_problem}") from None
            text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
            raise NodeError(0, UNREACHABLE, f"cannot reach node at {self.base_url}: {text}{_tls_hint(url, exc)}") from None
        except ValueError as exc:  # a base URL urllib cannot use
            raise NodeError(0, UNREACHABLE, f"cannot reach node at {self.base_url}: {exc}") from None

    def _ssl_context(self) -> ssl.SSLContext:
        """Made on the first https:// request, so that a CA file is read only when it is needed."""
        if self._ssl is None:
            try:
                self._ssl = client_context(self.ca_file)
            except TlsError as exc:
                raise NodeError(0, TLS, str(exc)) from None
        return self._ssl

    def _signature_headers(self, method: str, target: str, body: bytes) -> dict[str, str]:
        """X-Incoop-Address, -Time, -Signature over exactly this request; times strictly increase, so
        that two identical requests in one millisecond are not taken for a replay."""
        if self.signer is None:
            raise NodeError(0, "NO_SIGNER", f"{method} {target} must be signed: give the client a signing key")
        if self.chain_id is None:
            self.chain_id = self.status()["chain_id"]
        self._last_signed_ms = max(int(time.time() * 1000), self._last_signed_ms + 1)
        # the path as urllib sends it: the base URL's own path (a node behind a prefix) comes first
        full_target = urllib.parse.urlsplit(self.base_url).path + target
        return sign_request(self.signer, self.chain_id, method, full_target, body, self._last_signed_ms)

    def _timed_out(self) -> NodeError:
        return NodeError(0, TIMEOUT, f"cannot reach node at {self.base_url}: no answer within {self.timeout:g} s")

    def _error_from(self, exc: urllib.error.HTTPError) -> NodeError:
        try:
            raw = exc.read()
        except OSError:
            raw = b""
        try:
            error = json.loads(raw)["error"]
            return NodeError(exc.code, str(error["code"]), str(error.get("message", "")))
        except (ValueError, KeyError, TypeError):
            reason = exc.reason or "error"
            return NodeError(exc.code, f"HTTP_{exc.code}", f"{reason} (no error body from {self.base_url})")

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        status, _, raw = self._request(method, path, **kwargs)
        try:
            return json.loads(raw)
        except ValueError:
            raise NodeError(status, BAD_RESPONSE, f"the node at {self.base_url} answered {path} with something that is not JSON") from None

    # --- the API ---------------------------------------------------------------

    def status(self) -> dict:
        return self._json("GET", "/v1/status")

    def submit_tx(self, raw: bytes) -> dict:
        """Submit canonical tx bytes; returns {"hash", "status": "pending"}."""
        return self._json("POST", "/v1/txs", body=bytes(raw), content_type=MSGPACK)

    def submit_batch(self, raws: list[bytes]) -> list[dict]:
        """Submit several txs at once; one result per tx, in order (errors inline, not raised)."""
        payload = json.dumps({"txs": [bytes(r).hex() for r in raws]}).encode("ascii")
        return self._json("POST", "/v1/txs/batch", body=payload, content_type=JSON)["results"]

    def tx(self, tx_hash: str | bytes) -> dict:
        if isinstance(tx_hash, bytes):
            tx_hash = tx_hash.hex()
        return self._json("GET", f"/v1/txs/{_quote(tx_hash)}")

    def block(self, height: int | str = "latest") -> dict:
        return self._json("GET", f"/v1/blocks/{_quote(height)}")

    def block_raw(self, height: int) -> bytes:
        """The canonical [block, certificate] bytes, for verifying without trusting the JSON."""
        return self._request("GET", f"/v1/blocks/{_quote(height)}/raw", accept=MSGPACK)[2]

    def account(self, address: str) -> dict:
        return self._json("GET", f"/v1/accounts/{_quote(address)}")

    def identity(self, identity_id: bytes | str) -> dict:
        return self._json("GET", f"/v1/identities/{_quote(_id_hex(identity_id))}")

    def account_proof(self, address: str, class_id: str) -> dict:
        """A light proof of one balance (FORMAT.md §21); verify its `proof` with ledger.lightproof, never trust the rest."""
        return self._json("GET", f"/v1/accounts/{_quote(address)}/proof", query={"class": class_id})

    def account_txs(self, address: str, limit: int | None = None, before: str | None = None) -> dict:
        return self._json("GET", f"/v1/accounts/{_quote(address)}/txs", query={"limit": limit, "before": before})

    def classes(self) -> list[dict]:
        return self._json("GET", "/v1/classes")["classes"]

    def credit_class(self, class_id: str) -> dict:
        return self._json("GET", f"/v1/classes/{_quote(class_id)}")

    def class_statement(self, class_id: str) -> dict:
        """{"class", "held", "spent": [{"category", "amount"}], "redeemed_by": [{"provider", "amount"}], "reclaimed"}."""
        return self._json("GET", f"/v1/classes/{_quote(class_id)}/statement")

    def class_holders(self, class_id: str, limit: int | None = None, after: str | None = None) -> dict:
        """One page {"holders": [{"address", "amount", "provider"}], "next"}."""
        return self._json("GET", f"/v1/classes/{_quote(class_id)}/holders", query={"limit": limit, "after": after})

    def openapi(self) -> dict:
        return self._json("GET", "/v1/openapi.json")

    # --- the marketplace and purchase groups (FORMAT.md §6.5, §6.6) ------------
    # Lists are pages in id order: pass a page's "next" as `after` for the following one, until it is
    # None; a page may be short, even empty, with a "next" (docs/api-contract.md, "Pages").

    def market_listings(self, category: str | None = None, provider: str | None = None, class_id: str | None = None,
                        words: str | None = None, status: str | None = None, limit: int | None = None,
                        after: str | None = None) -> dict:
        """One page {"listings": [...], "next"} of the listings matching every filter given; `words` must all
        be in the title (any case), `status` is active, paused or withdrawn."""
        return self._json("GET", "/v1/market/listings", query={
            "category": category, "provider": provider, "class": class_id, "words": words, "status": status,
            "limit": limit, "after": after})

    def market_listing(self, listing_id: bytes | str) -> dict:
        """One listing: provider, title, prices [{"class", "unit_price"}], quantity (None: a service), terms, status."""
        return self._json("GET", f"/v1/market/listings/{_quote(_id_hex(listing_id))}")

    def market_orders(self, buyer: str | None = None, provider: str | None = None, listing: bytes | str | None = None,
                      status: str | None = None, limit: int | None = None, after: str | None = None,
                      account: str | None = None) -> dict:
        """One page {"orders": [...], "next"} of the orders matching every filter given (`account`: those
        it is the buyer or the provider of)."""
        return self._json("GET", "/v1/market/orders", query={
            "account": account, "buyer": buyer, "provider": provider, "listing": None if listing is None else _id_hex(listing),
            "status": status, "limit": limit, "after": after})

    def market_order(self, order_id: bytes | str) -> dict:
        """One order with its escrow {"lot", "amount"}, its deadline and what happens then ("at_deadline"),
        the dispute, the arbiter's decision and the buyer's review."""
        return self._json("GET", f"/v1/market/orders/{_quote(_id_hex(order_id))}")

    def market_reviews(self, provider: str, limit: int | None = None, after: str | None = None) -> dict:
        """{"provider", "rating": {"count", "sum", "mean_tenths"}, "reviews": [{"order", "rating", "text"}], "next"}."""
        return self._json("GET", f"/v1/market/providers/{_quote(provider)}/reviews",
                          query={"limit": limit, "after": after})

    def market_arbiters(self, limit: int | None = None, after: str | None = None) -> dict:
        """One page {"arbiters": [{"address", "name"}], "next"}."""
        return self._json("GET", "/v1/market/arbiters", query={"limit": limit, "after": after})

    def governance_validators(self) -> dict:
        """{"height", "quorum", "validators": [{"address", "peer"}]}: the set of the next block (FORMAT.md §6.8)."""
        return self._json("GET", "/v1/governance/validators")

    def governance_proposals(self, status: str | None = None, limit: int | None = None,
                             after: str | None = None) -> dict:
        """One page {"proposals": [...], "next"} of the federation's proposals, in id order."""
        return self._json("GET", "/v1/governance/proposals", query={"status": status, "limit": limit, "after": after})

    def governance_proposal(self, proposal_id: bytes | str) -> dict:
        return self._json("GET", f"/v1/governance/proposals/{_quote(_id_hex(proposal_id))}")

    def gas_groups(self, status: str | None = None, listing: bytes | str | None = None, organiser: str | None = None,
                   limit: int | None = None, after: str | None = None) -> dict:
        """One page {"groups": [...], "next"} of the purchase groups matching every filter given
        (`status="open"`: those still taking commitments)."""
        return self._json("GET", "/v1/gas/groups", query={
            "status": status, "listing": None if listing is None else _id_hex(listing), "organiser": organiser,
            "limit": limit, "after": after})

    def gas_group(self, group_id: bytes | str) -> dict:
        """One purchase group with its fill: committed_qty, members, room, the tier "reached" so far, the
        "next_tier" and what it still misses, the deadline, whether it is "accepting"."""
        return self._json("GET", f"/v1/gas/groups/{_quote(_id_hex(group_id))}")

    def gas_commitments(self, group_id: bytes | str, limit: int | None = None, after: str | None = None) -> dict:
        """One page {"group", "commitments": [{"member", "quantity", "lot", "escrowed"}], "next"}."""
        return self._json("GET", f"/v1/gas/groups/{_quote(_id_hex(group_id))}/commitments",
                          query={"limit": limit, "after": after})

    # --- the agora (FORMAT.md §6.7; texts kept off chain by the nodes: docs/agora.md) ---------

    def agora_spaces(self, limit: int | None = None, after: str | None = None) -> dict:
        """One page {"spaces": [...], "next"} of the agora's spaces, in id order."""
        return self._json("GET", "/v1/agora/spaces", query={"limit": limit, "after": after})

    def agora_space(self, space_id: bytes | str) -> dict:
        """One space: name, eligibility ("" for the whole federation), moderators, thresholds."""
        return self._json("GET", f"/v1/agora/spaces/{_quote(_id_hex(space_id))}")

    def agora_proposals(self, space_id: bytes | str, status: str | None = None, limit: int | None = None,
                        after: str | None = None) -> dict:
        """One page {"proposals": [...], "next"} of a space's proposals (supports, status, ballot, text)."""
        return self._json("GET", f"/v1/agora/spaces/{_quote(_id_hex(space_id))}/proposals",
                          query={"status": status, "limit": limit, "after": after})

    def agora_post(self, post_id: bytes | str) -> dict:
        """{"post", "comments": [... with "depth"], "truncated"}: a post and its thread."""
        return self._json("GET", f"/v1/agora/posts/{_quote(_id_hex(post_id))}")

    def agora_ballot(self, ballot_id: bytes | str) -> dict:
        """A ballot: options, window, quorum, status; counts and outcome once they may be shown."""
        return self._json("GET", f"/v1/agora/ballots/{_quote(_id_hex(ballot_id))}")

    def agora_vote(self, ballot_id: bytes | str, identity_id: bytes | str) -> dict:
        """An identity's vote in a ballot: option (None while only committed), label, signer, height."""
        return self._json("GET", f"/v1/agora/ballots/{_quote(_id_hex(ballot_id))}/votes/{_quote(_id_hex(identity_id))}")

    def agora_budgets(self, space_id: bytes | str, status: str | None = None, limit: int | None = None,
                      after: str | None = None) -> dict:
        """One page {"budgets": [...], "next"} of a space's participatory budgets (FORMAT.md §6.7.1)."""
        return self._json("GET", f"/v1/agora/spaces/{_quote(_id_hex(space_id))}/budgets",
                          query={"status": status, "limit": limit, "after": after})

    def agora_budget(self, budget_id: bytes | str) -> dict:
        """A budget with its projects (selections, status, projection) and its bar (allocated, left)."""
        return self._json("GET", f"/v1/agora/budgets/{_quote(_id_hex(budget_id))}")

    def agora_selection(self, budget_id: bytes | str, identity_id: bytes | str) -> dict:
        """An identity's selection in a budget: projects, total, signer, height."""
        return self._json("GET", f"/v1/agora/budgets/{_quote(_id_hex(budget_id))}/selections/"
                                 f"{_quote(_id_hex(identity_id))}")

    def agora_text(self, post_id: bytes | str, text: str, tx: bytes | None = None) -> dict:
        """Give the node a post's text: {"post", "status": "stored" | "pending"}; `tx` (the signed post
        transaction) while it is pending."""
        payload: dict[str, Any] = {"post": _id_hex(post_id), "text": text}
        if tx is not None:
            payload["tx"] = tx.hex()
        return self._json("POST", "/v1/agora/texts", body=json.dumps(payload, ensure_ascii=False).encode("utf-8"),
                          content_type=JSON)

    # --- the registrar's vault (signed by `signer`; docs/api-contract.md) ---------------

    def vault_store(self, identity_id: bytes | str, record: dict) -> dict:
        """Store a personal record under an identity id (the registrar); returns {"id", "commitment"}."""
        payload = json.dumps({"id": _id_hex(identity_id), "record": record}, ensure_ascii=False).encode("utf-8")
        return self._json("POST", "/v1/vault/records", body=payload, content_type=JSON, signed=True)

    def vault_record(self, identity_id: bytes | str) -> dict:
        """{"id", "record", "commitment"} (the registrar, or the subject for its own id)."""
        return self._json("GET", f"/v1/vault/records/{_quote(_id_hex(identity_id))}", signed=True)

    def vault_export(self, identity_id: bytes | str) -> dict:
        """The GDPR export: {"id", "record", "salt", "commitment", "identity"}."""
        return self._json("GET", f"/v1/vault/records/{_quote(_id_hex(identity_id))}/export", signed=True)

    def vault_erase(self, identity_id: bytes | str) -> None:
        """Erase the record and its salt from the vault (the registrar)."""
        self._request("DELETE", f"/v1/vault/records/{_quote(_id_hex(identity_id))}", signed=True)

    # --- waiting ---------------------------------------------------------------

    def wait_for_tx(self, tx_hash: str | bytes, timeout: float = 30.0, interval: float = 0.05) -> dict:
        """Poll until the tx is committed or rejected; NodeError(TIMEOUT) if it is neither in time.

        The poll interval grows to half a second, so that a fast devnet answers
        quickly and a slow chain is not hammered.
        """
        deadline = time.monotonic() + timeout
        record: dict = {}
        while True:
            record = self.tx(tx_hash)
            if record.get("status") in FINAL_STATUSES:
                return record
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                shown = tx_hash.hex() if isinstance(tx_hash, bytes) else tx_hash
                raise NodeError(
                    0, TIMEOUT, f"transaction {shown} still {record.get('status', 'unknown')} after {timeout:g} s"
                )
            time.sleep(min(interval, remaining))
            interval = min(interval * 1.5, 0.5)
