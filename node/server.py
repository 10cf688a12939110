"""The node process: configuration, key, store, API, peers and consensus, started and stopped in order.

Start-up refuses early, with one line, anything that would make the node
serve the wrong chain: a store made from another genesis, a key it cannot
decrypt. Shutdown (SIGINT/SIGTERM) stops consensus first, lets a commit
under way finish, and only then closes the store, so a clean stop never
depends on the store's crash safety (a SIGKILL does, and it holds).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from genesis.document import Genesis, GenesisError, load_genesis
from identity.records import is_registrar
from ledger import chain
from ledger.address import from_address, to_address
from ledger.crypto import SigningKey
from ledger.store import Store, StoreError
from node import vault_api
from node.api import NODE, NodeContext, create_app
from node.config import KEY_PASSWORD_ENV, ConfigError, NodeConfig, load_config
from node.consensus import wire
from node.consensus.driver import Driver
from node.consensus.signstate import SignState, SignStateError
from node.mempool import Mempool
from node.p2p.peers import P2PError, PeerManager
from node.runtime import tune_gc
from wallet.keystore import KeystoreError, read_key_file, read_password

log = logging.getLogger("incoop.node")
SHUTDOWN_TIMEOUT_S = 5.0


class NodeError(RuntimeError):
    """The node cannot start; the message says why, in one line."""


@dataclass(frozen=True)
class NodeSetup:
    home: Path
    config: NodeConfig
    genesis: Genesis
    key: SigningKey
    key_password: str = field(default="", repr=False, compare=False)  # also seals the vault key (vault.enabled)


def load_setup(home: Path) -> NodeSetup:
    """Configuration, genesis and the decrypted node key, or a NodeError naming what is wrong."""
    if not home.is_dir():
        raise NodeError(f"no node home directory at {home}")
    try:
        config = load_config(home)
        genesis = load_genesis(config.path(home, config.genesis_file))
    except (ConfigError, GenesisError) as exc:
        raise NodeError(str(exc)) from exc
    password_file = config.path(home, config.key_password_file) if config.key_password_file else None
    if password_file is None and not os.environ.get(KEY_PASSWORD_ENV):
        raise NodeError(f"no password for the node key: set key_password_file in {home / 'config.json'} or {KEY_PASSWORD_ENV}")
    try:
        password = read_password(password_file, env=KEY_PASSWORD_ENV, prompt=None)
    except KeystoreError as exc:
        raise NodeError(str(exc)) from exc
    key_path = config.path(home, config.key_file)
    try:
        key = read_key_file(key_path, password)
    except KeystoreError as exc:
        raise NodeError(f"cannot unlock the node key {key_path}: {exc}") from exc
    return NodeSetup(home, config, genesis, key, password)


def open_store(setup: NodeSetup) -> Store:
    """The node's store, initialised from genesis when new; refuses a store of another chain."""
    path = setup.config.path(setup.home, setup.config.data_dir)
    try:
        store = Store(path)
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
    except BaseException:
        store.close()
        raise
    return store


def node_role(setup: NodeSetup, store: Store) -> str:
    """A validator only if configured as one and its key is in the chain's validator set."""
    if setup.config.role != "validator":
        return "observer"
    if setup.key.pubkey not in chain.get_validators(store.state):
        log.warning("node key %s is not a validator of this chain: running as an observer", to_address(setup.key.pubkey))
        return "observer"
    return "validator"


def build_app(setup: NodeSetup) -> web.Application:
    """The API app; its cleanup contexts open the store and run peers and consensus, and close them in reverse."""

    async def node_resources(app: web.Application) -> AsyncIterator[None]:
        store = open_store(setup)
        verify_pool = ThreadPoolExecutor(max_workers=os.cpu_count() or 2, thread_name_prefix="verify")
        try:
            mempool = Mempool(store.state, setup.genesis.chain_id, setup.config.mempool)
            app[NODE] = NodeContext(
                store=store,
                mempool=mempool,
                chain_id=setup.genesis.chain_id,
                genesis_hash=setup.genesis.hash(),
                role=node_role(setup, store),
                node_address=to_address(setup.key.pubkey),
                verify_pool=verify_pool,
            )
            _warn_if_vault_serves_no_registrar(setup, store)
            yield
        finally:
            verify_pool.shutdown(wait=True)
            store.close()
            log.info("store closed")

    async def consensus(app: web.Application) -> AsyncIterator[None]:
        ctx = app[NODE]
        config = setup.config
        voting = ctx.role == "validator"
        sign_state = None
        if voting:
            try:
                sign_state = SignState(config.path(setup.home, config.sign_state_file))
            except SignStateError as exc:
                raise NodeError(str(exc)) from exc
        driver = Driver(ctx.store, ctx.mempool, setup.key, ctx.chain_id, config, voting, sign_state, ctx.verify_pool)
        store = ctx.store

        def is_allowed(pubkey: bytes) -> bool:
            """Only the chain's validators and registered observers may peer."""
            return pubkey in chain.get_validators(store.state) or pubkey in chain.get_observers(store.state)

        peers = PeerManager(
            setup.key, ctx.chain_id, config.p2p_host, config.p2p_port, peer_urls(setup), is_allowed,
            driver.on_message, on_connect=driver.on_connect, gossip_kinds=wire.GOSSIP_KINDS,
        )
        try:
            await peers.start()
        except P2PError as exc:
            raise NodeError(str(exc)) from exc
        await driver.start(peers)
        ctx.consensus, ctx.peers = driver, peers
        try:
            yield
        finally:
            await driver.stop()
            await peers.stop()
            log.info("consensus stopped at height %d", driver.head.height)

    # --- the registrar's vault (node/vault_api.py): opened first, so that a wrong key stops the start early
    contexts = [node_resources, consensus]
    vault = setup.config.vault
    if vault.enabled:
        vault_dir = setup.config.path(setup.home, vault.dir)
        contexts.insert(0, vault_api.vault_context(vault_dir, setup.key_password, vault.registrar, NodeError))
    app = create_app(setup.config.api, *contexts)
    if vault.enabled:
        vault_api.add_routes(app)
    # --- end of the vault
    return app


def _warn_if_vault_serves_no_registrar(setup: NodeSetup, store: Store) -> None:
    """Registrars may be authorised later (governance), so this is a warning, not a refusal."""
    vault = setup.config.vault
    if vault.enabled and vault.registrar and not is_registrar(store.state, from_address(vault.registrar)):
        log.warning("the vault serves %s, which is not a registrar of this chain (yet): registrations by it will "
                    "be refused on chain", vault.registrar)


def peer_urls(setup: NodeSetup) -> list[str]:
    """The peers to dial: from the config if it names them, else every other validator in genesis."""
    if setup.config.peers is not None:
        return list(setup.config.peers)
    me = setup.key.pubkey
    return [v.p2p for v in setup.genesis.validators if v.p2p and from_address(v.pubkey) != me]


async def serve(setup: NodeSetup) -> None:
    """Run until SIGINT or SIGTERM."""
    app = build_app(setup)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=SHUTDOWN_TIMEOUT_S)
    await runner.setup()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        api = setup.config.api
        site = web.TCPSite(runner, api.host, api.port)
        try:
            await site.start()
        except OSError as exc:
            raise NodeError(f"cannot serve the API on {api.host}:{api.port}: {exc.strerror}") from exc
        ctx = app[NODE]
        url = f"http://{api.host}:{api.port}"
        print(f"incoop node {ctx.node_address} serving {url} at height {ctx.store.head().height}", flush=True)
        log.info("running as %s on chain %s", ctx.role, ctx.chain_id)
        await stop.wait()
        log.info("stopping")
    finally:
        await runner.cleanup()


def run_node(home: Path) -> int:
    """The `incoop node start` command: returns 0 after a clean stop; NodeError if it cannot start."""
    setup = load_setup(Path(home))
    tune_gc()
    logging.basicConfig(
        stream=sys.stderr,
        level=setup.config.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    asyncio.run(serve(setup))
    log.info("stopped cleanly")
    return 0
