"""A node's home directory and its one configuration file, `config.json`.

    HOME/config.json     this file (every field has a default)
    HOME/genesis.json    the chain's genesis document
    HOME/node_key.json   the node's Ed25519 key, encrypted (keys.keystore format)
    HOME/data/           the LevelDB store
    HOME/sign_state.bin  what this validator last signed (outside data/: wiping the store keeps it)
    HOME/vault/          a registrar's private vault, when `vault.enabled` (identity/vault.py)
    HOME/node_key.pass   the node key's password, when `node init --generate-passwords` made it
    HOME/vault_key.pass  the vault key's password, likewise (with --vault)
    HOME/node.log        the log, when `log_file` names it (the devnet's nodes do), rotated by size
    tls.* files          the node's TLS certificate, key and CA bundle, when TLS is on (docs/tls.md)

The node key's password comes from `key_password_file` (relative to HOME) or
the environment variable INCOOP_KEY_PASSWORD; the vault key's, which must be
another, from `vault.key_password_file` or INCOOP_VAULT_PASSWORD. Password
files must be the owner's only (mode 0600) and every node password at least
12 characters long (docs/keys.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ledger.address import AddressError, from_address
from ledger.tree_top import TOP_DEPTH

CONFIG_FILE = "config.json"
KEY_PASSWORD_ENV = "INCOOP_KEY_PASSWORD"
VAULT_PASSWORD_ENV = "INCOOP_VAULT_PASSWORD"


class ConfigError(ValueError):
    pass


class ApiConfig(BaseModel):
    """The HTTP API's address and its limits (docs/api-limits.md says what each bounds and why)."""

    model_config = ConfigDict(extra="forbid")
    host: str = "127.0.0.1"
    port: int = Field(default=8700, ge=0, le=65535)
    max_body_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    max_batch_txs: int = Field(default=10_000, ge=1)
    request_timeout_s: float = Field(default=30.0, gt=0)
    # open connections at once; at the cap the longest-waiting idle one makes room, else a new one is refused
    max_connections: int = Field(default=512, ge=1, le=65_536)
    # a request's line and headers must be complete this long after the connection opened
    # (or after the first byte of a later request on it)
    header_timeout_s: float = Field(default=10.0, gt=0, le=3600)
    # a request's body must have arrived this long after its headers
    body_timeout_s: float = Field(default=20.0, gt=0, le=3600)
    # after an answer, the client must have read it and begun its next request within this
    idle_timeout_s: float = Field(default=30.0, gt=0, le=3600)


_FORMER_TIMEOUTS = {"timeout_propose_ms": 1000, "timeout_prevote_ms": 500, "timeout_precommit_ms": 500,
                    "timeout_delta_ms": 500, "timeout_max_ms": 10_000}
"""The round timeouts this section held before they became chain parameters, with the defaults it wrote."""


class ConsensusConfig(BaseModel):
    """This node's own consensus settings. The round timeouts are not here: they are chain parameters
    (genesis `params`, changed by a federation `set-param`; docs/consensus.md, "Timeouts"), so that every
    validator of a height waits the same."""

    model_config = ConfigDict(extra="forbid")
    max_clock_drift_ms: int = Field(default=10_000, ge=0, le=3_600_000)
    status_interval_ms: int = Field(default=1000, ge=50, le=60_000)
    sync_batch_blocks: int = Field(default=64, ge=1, le=1024)

    @model_validator(mode="before")
    @classmethod
    def _former_timeouts(cls, data: Any) -> Any:
        """A config.json written before the timeouts moved to the chain holds them (write_config writes every
        field): at their old defaults they are dropped; any other value is refused, since this node would
        not wait what its file says (docs/operations.md, "Round timeouts")."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for name, default in _FORMER_TIMEOUTS.items():
            if name in data and data.pop(name) != default:
                raise ValueError(f"{name} is no longer a node setting: the round timeouts are chain parameters "
                                 f"(genesis params, changed by `incoop governance propose-param {name} …`); "
                                 "remove it from config.json")
        return data


class MempoolConfig(BaseModel):
    """What a node holds for the next blocks, and from whom: docs/admission.md explains each limit,
    what it protects against, and the metric that counts its refusals.

    These are this node's own limits, not chain rules: they decide what the node holds and relays,
    never whether a block is valid. Every transaction is admitted only if the chain knows its
    signer and the type's execution rules pass against the committed state with the signer's
    earlier pending transactions applied (a check, not a verdict: a block still decides).
    """

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)
    max_txs: int = Field(default=100_000, ge=1, le=10_000_000)
    """Includable transactions held at most (503 MEMPOOL_FULL beyond): those a block could take now."""
    max_parked: int = Field(default=10_000, ge=0, le=10_000_000)
    """Transactions held behind a nonce gap ("parked"), at most, besides `max_txs` (503 MEMPOOL_FULL
    beyond): they never take an includable transaction's place."""
    max_pending_per_account: int = Field(default=64, ge=1, le=100_000)
    """Nonces an account may hold ahead of its committed one, parked or not (409 NONCE_TOO_FAR
    beyond); the chain's `max_nonce_gap` bounds it too, whichever is smaller."""
    max_expiry_blocks: int = Field(default=10_000, ge=1, le=2**62)
    """A transaction whose expiry is more than this many blocks after the next height is refused
    (400 EXPIRY_TOO_FAR): nothing waits for ever. Wallets sign for 1,000 blocks ahead."""
    parked_ttl_s: float = Field(default=60.0, gt=0, le=86_400)
    """How long a transaction may wait behind a nonce gap before it is evicted (EVICTED)."""
    max_client_share: float = Field(default=0.1, gt=0, le=1)
    """The share of `max_txs` that the transactions one API client address submitted may occupy
    (429 CLIENT_QUOTA beyond); loopback included. Behind a reverse proxy every client is the
    proxy's address: raise it, and limit clients at the proxy. Gossip from peers is not counted."""

    def client_quota(self) -> int:
        return max(1, int(self.max_txs * self.max_client_share))


class TestingFaults(BaseModel):
    """Deliberate misbehaviour for fault tests (node/consensus/faults.py). Never set these on a real node."""

    model_config = ConfigDict(extra="forbid")
    double_sign: bool = False  # also sign and send a conflicting prevote each round
    clock_offset_ms: int = Field(default=0, ge=-3_600_000, le=3_600_000)
    withhold_precommits: bool = False  # sign no precommit, as if killed between its prevote and its precommit


class VaultConfig(BaseModel):
    """The registrar's private vault (identity/vault.py, /v1/vault/...): off unless enabled.

    `registrar` is the address of the registrar account whose personal records
    this node keeps; only requests signed by that key (or by a record's own
    subject) are served. The vault key is sealed under a password of its own,
    never the node key's (docs/keys.md): from `key_password_file` (relative to
    HOME) or INCOOP_VAULT_PASSWORD.
    """

    model_config = ConfigDict(extra="forbid")
    enabled: bool = False
    dir: str = "vault"
    registrar: str | None = None
    key_password_file: str | None = None
    # signed requests remembered at once against replay (FORMAT.md §19.3): the registrar's own
    # memory holds this many, and the subjects' memory as many again
    replay_entries: int = Field(default=100_000, ge=100, le=10_000_000)
    # live requests one subject key may have in the subjects' memory (within the 60 s window)
    replay_entries_per_subject: int = Field(default=600, ge=1, le=1_000_000)

    @field_validator("registrar")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                from_address(value)
            except AddressError as exc:
                raise ValueError(f"not an account address: {exc}") from None
        return value

    @model_validator(mode="after")
    def _registrar_when_enabled(self) -> VaultConfig:
        if self.enabled and self.registrar is None:
            raise ValueError("an enabled vault needs vault.registrar, the address of the registrar it serves")
        return self


class TlsConfig(BaseModel):
    """TLS for the API and p2p listeners and for dialing wss:// peers (node/tls.py, docs/tls.md).

    On when `cert_file` and `key_file` are set: both listeners then speak only
    TLS (https://, wss://). `ca_file` is the bundle the certificates of the
    peers this node dials are checked against (a federation's own CA); without
    it, the system's store. Paths are relative to HOME.
    """

    model_config = ConfigDict(extra="forbid")
    cert_file: str | None = None  # PEM: this node's certificate first, then any intermediates
    key_file: str | None = None  # PEM private key of that certificate, unencrypted, not readable by others
    ca_file: str | None = None  # PEM CA certificates peers' certificates are checked against
    system_ca: bool = False  # with ca_file: also trust the system's store
    check_hostname: bool = True  # a peer's certificate must name the host of its wss:// URL

    @model_validator(mode="after")
    def _both_or_neither(self) -> TlsConfig:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("tls.cert_file and tls.key_file go together: give both or neither")
        return self

    @property
    def enabled(self) -> bool:
        return self.cert_file is not None


class NodeConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: str = Field(default="validator", pattern="^(validator|observer)$")
    genesis_file: str = "genesis.json"
    key_file: str = "node_key.json"
    key_password_file: str | None = None
    data_dir: str = "data"
    # the deepest level of the state tree held in memory: 2^(d+1) - 1 positions of 33 bytes, filled at start
    # (docs/operations.md, "Memory"); lower it on a small machine, at the cost of reads per changed account
    state_tree_memory_depth: int = Field(default=TOP_DEPTH, ge=0, le=TOP_DEPTH)
    api: ApiConfig = ApiConfig()
    p2p_host: str = "127.0.0.1"
    p2p_port: int = Field(default=8701, ge=0, le=65535)
    # peer URLs (ws://host:port or wss://host:port) to dial; None: the validators' p2p addresses in genesis
    peers: list[str] | None = None
    # what strangers can hold on the p2p port (docs/p2p.md); defaults as in node.p2p.peers
    p2p_handshake_timeout_s: float = Field(default=5.0, gt=0, le=60)
    p2p_max_pending: int = Field(default=1024, ge=1, le=65_536)
    sign_state_file: str = "sign_state.bin"
    block_interval_ms: int = Field(default=200, ge=10, le=60_000)
    heartbeat_ms: int = Field(default=5_000, ge=100, le=3_600_000)
    mempool: MempoolConfig = MempoolConfig()
    # worker processes that decode and verify incoming transactions (API and gossip) off the executing
    # process's GIL (docs/operations.md, "Transaction workers"); None: one per core; 0: none, the node's own
    # threads do it (for a one-core machine)
    tx_workers: int | None = Field(default=None, ge=0, le=64)
    log_level: str = Field(default="INFO", pattern="^(DEBUG|INFO|WARNING|ERROR)$")
    # the log file (relative to HOME), rotated by size; None: the log goes to stderr (systemd's journal)
    log_file: str | None = None
    log_max_bytes: int = Field(default=16 * 1024 * 1024, ge=64 * 1024)
    log_backups: int = Field(default=5, ge=1, le=100)
    consensus: ConsensusConfig = ConsensusConfig()
    testing_faults: TestingFaults = TestingFaults()
    vault: VaultConfig = VaultConfig()
    tls: TlsConfig = TlsConfig()

    @model_validator(mode="before")
    @classmethod
    def _old_mempool_field(cls, data: Any) -> Any:
        """A config written before the mempool section had `mempool_max_txs`: read it as mempool.max_txs."""
        if isinstance(data, dict) and "mempool_max_txs" in data:
            data = dict(data)
            old = data.pop("mempool_max_txs")
            section = dict(data.get("mempool") or {})
            section.setdefault("max_txs", old)
            data["mempool"] = section
        return data

    def path(self, home: Path, relative: str) -> Path:
        p = Path(relative)
        return p if p.is_absolute() else home / p


def load_config(home: str | Path) -> NodeConfig:
    path = Path(home) / CONFIG_FILE
    if not path.exists():
        return NodeConfig()
    try:
        return NodeConfig.model_validate_json(path.read_text(encoding="utf-8"))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "document"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"invalid {path} ({where}): {message}") from exc
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc


def write_config(home: str | Path, config: NodeConfig) -> None:
    path = Path(home) / CONFIG_FILE
    path.write_text(config.model_dump_json(indent=2, exclude_defaults=False) + "\n", encoding="utf-8")
