"""The node process: configuration, key, store, API, peers and consensus, started and stopped in order.

Start-up refuses early, with one line, anything that would make the node
serve the wrong chain: a store made from another genesis, a key it cannot
decrypt, a damaged store (Store.check: the head records, the head block and
the state tree's root, checksums verified), a TLS file it cannot use, or a
vault it would serve in clear beyond this machine (node/tls.py). Shutdown
(SIGINT/SIGTERM) stops consensus first, lets a commit under way finish, and
only then closes the store, so a clean stop never depends on the store's
crash safety (a SIGKILL does, and it holds).

A store that fails later (damage found by a read, a write the disk refuses)
stops the node the same orderly way, with one logged line and exit status
EXIT_STORE_FAILED, rather than let it serve or vote on a state it could only
half read (docs/operations.md, "A damaged store").

The API is served through node/api_connections.py (a connection cap and
deadlines per connection), and the log goes where node/logs.py sends it
(a rotating file with `log_file`); docs/api-limits.md describes both.
"""

from __future__ import annotations

import asyncio
import logging
import os
import resource
import signal
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from genesis.document import Genesis, GenesisError, load_genesis
from genesis.rules import RULES
from governance.federation_records import peers as federation_peers
from identity.records import is_registrar
from keys.keystore import MIN_NODE_PASSWORD, KeystoreError, read_key_file, read_password
from ledger import chain
from ledger.address import from_address, to_address
from ledger.crypto import SigningKey
from ledger.encoding import encode
from ledger.store import Store, StoreError, StoreFailure
from node import metrics, vault_api
from node.agora_texts import AgoraTexts
from node.api import NODE, NodeContext, create_app
from node.api_connections import ApiConnections, ApiSite, connection_state
from node.config import KEY_PASSWORD_ENV, VAULT_PASSWORD_ENV, ConfigError, NodeConfig, load_config
from node.consensus import faults, wire
from node.consensus.driver import Driver
from node.consensus.signstate import SignState, SignStateError
from node.logs import setup_logging
from node.mempool import Mempool
from node.p2p.peers import P2PError, PeerManager
from node.piazza import site as piazza_site
from node.runtime import tune_gc
from node.tls import NodeTls, TlsError, check_exposure, load_node_tls, own_urls
from node.txworkers import make_workers

log = logging.getLogger("incoop.node")
SHUTDOWN_TIMEOUT_S = 5.0
EXIT_STORE_FAILED = 3
"""`incoop node start`'s exit status when its store is damaged or cannot be written: restarting will not help
(the systemd unit in docs/operations.md does not restart on it)."""

# file descriptors the node needs besides API connections: two LevelDB stores (store and vault,
# up to 1000 table files each by LevelDB's default), peers and handshakes, logs, slack
FD_RESERVE = 2 * 1000 + 256


class NodeError(RuntimeError):
    """The node cannot start (or had to stop); the message says why, in one line."""

    def __init__(self, message: str, status: int = 1):
        super().__init__(message)
        self.status = status


def store_failed(failure: StoreFailure) -> NodeError:
    """The one line an operator reads when the store fails, with what to do about it."""
    return NodeError(f"{failure}; the node will not serve it: restore the data directory from a backup, or move it "
                     "away and let the node sync from its peers (docs/operations.md)", EXIT_STORE_FAILED)


@dataclass(frozen=True)
class NodeSetup:
    home: Path
    config: NodeConfig
    genesis: Genesis
    key: SigningKey
    vault_password: str | None = field(default=None, repr=False, compare=False)  # seals the vault key (vault.enabled)
    tls: NodeTls = NodeTls()  # the listeners' and the dialer's TLS contexts (node/tls.py)


def load_setup(home: Path) -> NodeSetup:
    """Configuration, genesis, the decrypted node key and the vault's password, or a NodeError naming what is wrong.

    Both passwords are read (and held to docs/keys.md's rules) before the
    costly Argon2id derivation, so that a missing or exposed one stops the
    start at once.
    """
    if not home.is_dir():
        raise NodeError(f"no node home directory at {home}")
    try:
        config = load_config(home)
        genesis = load_genesis(config.path(home, config.genesis_file), RULES)  # another module list: refused
        check_exposure(config)  # before the key's slow unlock: a refusal needs no password
    except (ConfigError, GenesisError, TlsError) as exc:
        raise NodeError(str(exc)) from exc
    password = _node_password(home, config, config.key_password_file, KEY_PASSWORD_ENV, "the node key",
                              "key_password_file")
    vault_password = None
    if config.vault.enabled:
        vault_password = _node_password(home, config, config.vault.key_password_file, VAULT_PASSWORD_ENV,
                                        "the vault key", "vault.key_password_file")
        if vault_password == password:
            raise NodeError("the vault key's password is the node key's; the vault needs a password of its own "
                            "(docs/keys.md)")
    key_path = config.path(home, config.key_file)
    try:
        key = read_key_file(key_path, password)
    except KeystoreError as exc:
        raise NodeError(f"cannot unlock the node key {key_path}: {exc}") from exc
    try:
        tls = load_node_tls(config, home, own_urls(genesis, key.pubkey))
    except TlsError as exc:
        raise NodeError(str(exc)) from exc
    return NodeSetup(home, config, genesis, key, vault_password, tls)


def _node_password(home: Path, config: NodeConfig, password_file: str | None, env: str, what: str,
                   field_name: str) -> str:
    """A node password from its file (relative to HOME) or `env`, at least MIN_NODE_PASSWORD characters."""
    path = config.path(home, password_file) if password_file else None
    if path is None and not os.environ.get(env):
        raise NodeError(f"no password for {what}: set {field_name} in {home / 'config.json'} or {env}")
    try:
        return read_password(path, env=env, prompt=None, min_length=MIN_NODE_PASSWORD)
    except KeystoreError as exc:
        raise NodeError(f"{what}: {exc}") from exc


def open_store(setup: NodeSetup) -> Store:
    """The node's store, initialised from genesis when new; refuses a store of another chain or a damaged one."""
    path = setup.config.path(setup.home, setup.config.data_dir)
    try:
        store = Store(path, tree_top_depth=setup.config.state_tree_memory_depth)
    except StoreFailure as exc:
        raise store_failed(exc) from None
    except StoreError as exc:
        raise NodeError(str(exc)) from exc
    try:
        genesis_hash = setup.genesis.hash()
        if not store.is_initialised():
            store.init_genesis(genesis_hash, setup.genesis.initial_state(), setup.genesis.genesis_time_ms)
        elif store.genesis()[0] != genesis_hash:
            raise NodeError(
                f"the store at {path} holds a chain from another genesis "
                f"({store.genesis()[0].hex()[:16]}…, this genesis is {genesis_hash.hex()[:16]}…); "
                "use another data_dir or the matching genesis.json"
            )
        if store.tree_layout_outdated:
            upgrade_tree_layout(store)
        store.check()
    except StoreFailure as exc:
        store.close()
        raise store_failed(exc) from None
    except BaseException:
        store.close()
        raise
    return store


def upgrade_tree_layout(store: Store) -> None:
    """Convert a store written by an earlier version to the tree record layout of FORMAT.md §15, in place
    (ledger/tree_layout.py: resumable, each record checked; docs/operations.md, "Upgrading")."""
    log.warning("the store holds the state tree in an earlier record layout: converting it (once; an "
                "interrupted conversion resumes at the next start)")
    started = time.perf_counter()
    shown = [started]

    def progress(done: int) -> None:
        if time.perf_counter() - shown[0] >= 10:
            shown[0] = time.perf_counter()
            log.info("state tree: %d records converted so far", done)

    converted = store.upgrade_tree_layout(progress)
    log.info("state tree: %d records converted to the current layout in %.1f s", converted,
             time.perf_counter() - started)


class Stopper:
    """Why and when `serve` returns: a signal, or a failure after which serving would be unsafe."""

    def __init__(self) -> None:
        self.event = asyncio.Event()
        self.failure: NodeError | None = None
        self._loop = asyncio.get_running_loop()

    def fail(self, error: NodeError) -> None:
        """Stop with `error` (from any thread: a store read fails wherever it happens)."""
        if self.failure is None:
            self.failure = error
            log.critical("%s", error)
        try:
            self._loop.call_soon_threadsafe(self.event.set)
        except RuntimeError:  # the loop is already closed: the node has stopped anyway
            pass


def build_app(setup: NodeSetup) -> web.Application:
    """The API app; its cleanup contexts open the store and run peers and consensus, and close them in reverse."""

    async def node_resources(app: web.Application) -> AsyncIterator[None]:
        store = open_store(setup)
        verify_pool = ThreadPoolExecutor(max_workers=os.cpu_count() or 2, thread_name_prefix="verify")
        tx_workers = None
        served = False
        try:
            tx_workers = make_workers(setup.config.tx_workers, setup.genesis.chain_id)
            started = time.perf_counter()
            store.load_tree_top()  # before serving: the first block built or checked does not wait for it
            loaded_s = time.perf_counter() - started
            mempool = Mempool(RULES, store.state, setup.genesis.chain_id, setup.config.mempool)
            app[NODE] = NodeContext(
                store=store,
                mempool=mempool,
                chain_id=setup.genesis.chain_id,
                genesis_hash=setup.genesis.hash(),
                genesis=encode(setup.genesis.canonical_tuple()),
                node_key=setup.key.pubkey,
                configured_validator=setup.config.role == "validator",
                node_address=to_address(setup.key.pubkey),
                verify_pool=verify_pool,
                tx_workers=tx_workers,
            )
            app[NODE].texts = AgoraTexts(store, mempool)
            _warn_if_vault_serves_no_registrar(setup, store)
            served = True
            log.info("state tree: top levels loaded into memory in %.1f s", loaded_s)
            yield
        finally:
            if tx_workers is not None:
                tx_workers.close()
            verify_pool.shutdown(wait=True)
            store.close()
            if served:  # a refusal at start-up stays the one line it is
                log.info("store closed")

    async def consensus(app: web.Application) -> AsyncIterator[None]:
        ctx = app[NODE]
        config = setup.config
        # a node configured as a validator may vote: at every height whose validator set holds its key
        # (decided by the driver, height by height), so it opens its sign-state even while outside the set
        signer = None
        if config.role == "validator":
            try:
                sign_state = SignState(config.path(setup.home, config.sign_state_file))
            except SignStateError as exc:
                raise NodeError(str(exc)) from exc
            signer = faults.signer(config.testing_faults, setup.key, ctx.chain_id, sign_state)
        driver = Driver(ctx.store, ctx.mempool, setup.key, ctx.chain_id, config, signer, ctx.verify_pool,
                        clock=faults.clock(config.testing_faults), tx_workers=ctx.tx_workers)
        store = ctx.store

        def is_allowed(pubkey: bytes) -> bool:
            """Only the chain's validators and registered observers may peer."""
            return pubkey in chain.get_validators(store.state) or pubkey in chain.get_observers(store.state)

        try:  # a bad peer URL (config or genesis) and a taken port are one line, not a traceback
            peers = PeerManager(
                setup.key, ctx.chain_id, config.p2p_host, config.p2p_port, peer_urls(setup), is_allowed,
                driver.on_message, on_connect=driver.on_connect, gossip_kinds=wire.GOSSIP_KINDS,
                server_ssl=setup.tls.server, client_ssl=setup.tls.client,
                handshake_timeout_s=config.p2p_handshake_timeout_s, max_pending=config.p2p_max_pending,
            )
            await peers.start()
        except P2PError as exc:
            raise NodeError(str(exc)) from exc
        await driver.start(peers)
        ctx.consensus, ctx.peers = driver, peers
        ctx.texts.peers, driver.texts = peers, ctx.texts
        texts_task = asyncio.create_task(ctx.texts.run())
        follower = asyncio.get_running_loop().create_task(follow_peer_set(store, peers, setup.key.pubkey))
        try:
            yield
        finally:
            texts_task.cancel()
            follower.cancel()
            await asyncio.gather(texts_task, follower, return_exceptions=True)
            await driver.stop()
            await peers.stop()
            log.info("consensus stopped at height %d", driver.head.height)

    # --- the registrar's vault (node/vault_api.py): opened first, so that a wrong key stops the start early
    contexts = [node_resources, consensus]
    vault = setup.config.vault
    if vault.enabled:
        vault_dir = setup.config.path(setup.home, vault.dir)
        contexts.insert(0, vault_api.vault_context(
            vault_dir, setup.vault_password, vault.registrar, NodeError,
            replay_entries=vault.replay_entries, replay_entries_per_subject=vault.replay_entries_per_subject,
        ))
    app = create_app(setup.config.api, *contexts)
    app.middlewares.insert(0, connection_state)  # outermost: tells each connection when a request runs
    if vault.enabled:
        vault_api.add_routes(app)
    # --- end of the vault
    piazza_site.add_routes(app)  # the pages for people (node/piazza/), beside the API they call
    return app


def _warn_if_vault_serves_no_registrar(setup: NodeSetup, store: Store) -> None:
    """Registrars may be authorised later (governance), so this is a warning, not a refusal."""
    vault = setup.config.vault
    if vault.enabled and vault.registrar and not is_registrar(store.state, from_address(vault.registrar)):
        log.warning("the vault serves %s, which is not a registrar of this chain (yet): registrations by it will "
                    "be refused on chain", vault.registrar)


PEER_SET_INTERVAL_S = 1.0


async def follow_peer_set(store: Store, peers: PeerManager, me: bytes) -> None:
    """Peers follow the chain's state (FORMAT.md §6.8, "Following the set"): dial the address of every
    validator the federation added by vote (`fed/peer/`), and close connections of keys that are no longer
    validators or observers. A state read once a second: at most 100 validators."""
    while True:
        await asyncio.sleep(PEER_SET_INTERVAL_S)
        try:
            validators = set(chain.get_validators(store.state))
            for validator, address in federation_peers(store.state):
                if validator != me and validator in validators:
                    try:
                        peers.dial(address)
                    except P2PError as exc:  # the state's address passed FORMAT.md's pattern; this says why not
                        log.warning("cannot dial %s from the state: %s", address, exc)
            dropped = peers.drop_disallowed()
            if dropped:
                log.info("closed %d peer connection(s) of keys no longer in the validator set", dropped)
        except StoreFailure:
            return  # the store stops the node (serve's on_failure); nothing more to follow


def peer_urls(setup: NodeSetup) -> list[str]:
    """The peers to dial: from the config if it names them, else every other validator in genesis."""
    if setup.config.peers is not None:
        return list(setup.config.peers)
    me = setup.key.pubkey
    return [v.p2p for v in setup.genesis.validators if v.p2p and from_address(v.pubkey) != me]


def ensure_fd_limit(max_connections: int) -> None:
    """Raise the soft open-files limit toward the hard one so that the API cap, not the limit, binds first."""
    needed = max_connections + FD_RESERVE
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    if soft != resource.RLIM_INFINITY and soft < needed:
        log.warning("the open-files limit is %d, below the %d that api.max_connections=%d and the stores may need; "
                    "raise LimitNOFILE (systemd) or ulimit -n, or lower api.max_connections", soft, needed, max_connections)


async def serve(setup: NodeSetup) -> None:
    """Run until SIGINT or SIGTERM, or until the store fails (then NodeError, exit status EXIT_STORE_FAILED)."""
    stopper = Stopper()
    app = build_app(setup)
    connections = ApiConnections(setup.config.api)
    app[metrics.SOURCES].append(connections)
    ensure_fd_limit(setup.config.api.max_connections)
    runner = web.AppRunner(app, shutdown_timeout=SHUTDOWN_TIMEOUT_S, **connections.handler_kwargs())
    try:
        await runner.setup()
    except StoreFailure as exc:  # found while starting (the validator set, the consensus state): same refusal
        raise store_failed(exc) from None
    # from now on a store failure, wherever a read meets it, stops the node (one that came first, too)
    store = app[NODE].store
    store.on_failure = lambda failure: stopper.fail(store_failed(failure))
    if store.failure is not None:
        stopper.fail(store_failed(store.failure))
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopper.event.set)
    try:
        api = setup.config.api
        site = ApiSite(runner, connections, api.host, api.port, setup.tls.server)
        try:
            await site.start()
        except OSError as exc:
            raise NodeError(f"cannot serve the API on {api.host}:{api.port}: {exc.strerror}") from exc
        ctx = app[NODE]
        url = setup.tls.api_url(api.host, api.port)
        serving = f"incoop node {ctx.node_address} serving {url} at height {ctx.store.head().height}"
        print(serving, flush=True)
        if setup.config.log_file:  # the log file tells the whole story; stdout has the line for a terminal
            log.info("%s", serving)
        log.info("running as %s on chain %s", ctx.role(), ctx.chain_id)
        await stopper.event.wait()
        log.info("stopping")
    finally:
        await runner.cleanup()
    if stopper.failure is not None:
        raise stopper.failure


def run_node(home: Path) -> int:
    """The `incoop node start` command: returns 0 after a clean stop; NodeError if it cannot start.

    The log is set up from the config first, so that with `log_file` a
    refusal to start is in the log file too (and on stderr, by the CLI).
    """
    home = Path(home)
    try:
        config = load_config(home) if home.is_dir() else None
    except ConfigError as exc:
        raise NodeError(str(exc)) from exc
    if config is not None:
        setup_logging(config, home)
    try:
        setup = load_setup(home)
        for warning in setup.tls.warnings:
            log.warning("%s", warning)
        tune_gc()
        asyncio.run(serve(setup))
    except NodeError as exc:
        if config is not None and config.log_file:
            log.error("cannot start: %s", exc)
        raise
    log.info("stopped cleanly")
    return 0
