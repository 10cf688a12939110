"""TLS (node/tls.py, node/tls_site.py, docs/tls.md): the files a node is given, the rule that keeps
the vault off plain networks, real handshakes on 127.0.0.1, peers over wss://, the wallet over https://.

Certificates come from tests/tls_certs.py (the `cryptography` library) and, in
one test, from the `openssl` commands of docs/tls.md run exactly as written.
No mocks: every handshake is a real one on a loopback socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import threading
import time
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from cryptography.hazmat.primitives import serialization

from keys.tls_client import TlsError, client_context
from ledger.crypto import SigningKey
from node.config import ApiConfig, NodeConfig, TlsConfig, VaultConfig
from node.p2p import PeerManager
from node.tls import (
    check_exposure,
    check_init_files,
    exposure_warnings,
    init_warning,
    is_loopback,
    load_node_tls,
    name_matches,
    server_context,
)
from node.tls_site import tcp_site
from tests.functional.framework import run_cli
from tests.tls_certs import make_ca, make_node_cert, write_federation
from wallet.client import TLS, NodeClient, NodeError

REPO = Path(__file__).resolve().parents[1]
REGISTRAR = "icaoqqpp7tzyil4hlq3umoos6atft6jvrqtosq2xy53sdgiesvgg4ihpzznm"
CHAIN = "incoop-test-tls"

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def fed(tmp_path: Path):
    """A CA and two node certificates for 127.0.0.1 and localhost, written under tmp_path/tls."""
    return write_federation(tmp_path / "tls", 2)


def run(main: Any) -> Any:
    async def bounded() -> Any:
        async with asyncio.timeout(20):
            return await main()

    return asyncio.run(bounded())


# --- the node's own files: each problem is one line naming the file ------------------------------------


def test_a_good_certificate_and_key_load_with_tls_1_2_at_least(fed):
    cert = server_context(fed[0].cert, fed[0].key)
    assert cert.context.minimum_version >= ssl.TLSVersion.TLSv1_2
    assert cert.context.options & ssl.OP_NO_RENEGOTIATION
    assert set(cert.names) == {"127.0.0.1", "localhost"} and cert.subject == "'node0'"
    assert client_context(fed[0].ca).minimum_version >= ssl.TLSVersion.TLSv1_2


def test_the_key_of_another_certificate_is_refused(fed):
    with pytest.raises(TlsError, match=r"^tls\.key_file .*node1\.key is not the key of the certificate in "
                                       r"tls\.cert_file .*node0\.crt \('node0'\)$"):
        server_context(fed[0].cert, fed[1].key)


def test_an_expired_certificate_is_refused(tmp_path, fed):
    ca = make_ca()
    old = make_node_cert(ca, "old", days=30, not_before=datetime.now(UTC) - timedelta(days=60))
    cert, key = old.write(tmp_path, "old")
    with pytest.raises(TlsError, match=r"^the certificate 'old' in tls\.cert_file .*old\.crt expired on 20\d\d-"):
        server_context(cert, key)


def test_a_certificate_not_yet_valid_is_refused(tmp_path):
    future = make_node_cert(make_ca(), "future", not_before=datetime.now(UTC) + timedelta(days=2))
    cert, key = future.write(tmp_path, "future")
    with pytest.raises(TlsError, match=r"^the certificate 'future' in tls\.cert_file .* is not valid before "):
        server_context(cert, key)


def test_an_expired_intermediate_in_the_chain_is_refused(tmp_path):
    """Every certificate the node sends is checked, not only its own."""
    ca = make_ca("old intermediate", days=10, not_before=datetime.now(UTC) - timedelta(days=20))
    leaf = make_node_cert(ca, "leaf", not_before=datetime.now(UTC) - timedelta(days=15))
    cert, key = leaf.write(tmp_path, "leaf")
    cert.write_bytes(cert.read_bytes() + ca.cert.public_bytes(serialization.Encoding.PEM))
    with pytest.raises(TlsError, match=r"the certificate 'old intermediate' .* expired on"):
        server_context(cert, key)


def test_missing_and_unreadable_files_are_named(tmp_path, fed):
    with pytest.raises(TlsError, match=r"^cannot read tls\.cert_file .*nothing\.crt: No such file or directory$"):
        server_context(tmp_path / "nothing.crt", fed[0].key)
    with pytest.raises(TlsError, match=r"^cannot read tls\.key_file .*nothing\.key: No such file or directory$"):
        server_context(fed[0].cert, tmp_path / "nothing.key")
    with pytest.raises(TlsError, match=r"^cannot read tls\.cert_file .*: Is a directory$"):
        server_context(tmp_path, fed[0].key)
    if os.geteuid() != 0:  # root reads any file whatever its mode
        fed[0].cert.chmod(0)
        with pytest.raises(TlsError, match=r"^cannot read tls\.cert_file .*: Permission denied$"):
            server_context(fed[0].cert, fed[0].key)


def test_files_of_the_wrong_kind_are_named(tmp_path, fed):
    with pytest.raises(TlsError, match=r"^tls\.cert_file .*node0\.key holds no PEM certificate$"):
        server_context(fed[0].key, fed[0].key)
    garbage = tmp_path / "garbage.key"
    garbage.write_text("not a key\n")
    garbage.chmod(0o600)
    with pytest.raises(TlsError, match=r"^tls\.key_file .*garbage\.key holds no PEM private key$"):
        server_context(fed[0].cert, garbage)


def test_an_encrypted_key_is_refused_without_prompting(tmp_path, fed):
    key = serialization.load_pem_private_key(fed[0].key.read_bytes(), None)
    locked = tmp_path / "locked.key"
    locked.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                         serialization.BestAvailableEncryption(b"secret")))
    locked.chmod(0o600)
    with pytest.raises(TlsError, match=r"^tls\.key_file .*locked\.key is encrypted; the node needs the key unencrypted"):
        server_context(fed[0].cert, locked)


def test_a_key_every_user_can_read_is_refused(fed):
    fed[0].key.chmod(0o644)
    with pytest.raises(TlsError, match=r"readable or writable by every user of this machine \(mode 0644\)"):
        server_context(fed[0].cert, fed[0].key)
    fed[0].key.chmod(0o640)
    server_context(fed[0].cert, fed[0].key)


def test_a_ca_file_that_is_missing_or_holds_no_certificate_is_named(tmp_path, fed):
    with pytest.raises(TlsError, match=r"^cannot read the CA file .*none\.crt: No such file or directory$"):
        client_context(tmp_path / "none.crt")
    with pytest.raises(TlsError, match=r"^the CA file .*node0\.key holds no usable PEM certificate"):
        client_context(fed[0].key)


# --- where plain text is allowed ------------------------------------------------------------------------


@pytest.mark.parametrize("host, loopback", [
    ("127.0.0.1", True), ("127.0.0.53", True), ("::1", True), ("[::1]", True), ("localhost", True),
    ("0.0.0.0", False), ("", False), ("::", False), ("10.0.0.5", False), ("192.168.1.20", False),
    ("no-such-host.invalid", False),
])
def test_which_hosts_are_loopback(host, loopback):
    assert is_loopback(host) is loopback


def _config(host: str, vault: bool, tls: TlsConfig | None = None) -> NodeConfig:
    return NodeConfig(api=ApiConfig(host=host), p2p_host=host, tls=tls or TlsConfig(),
                      vault=VaultConfig(enabled=True, registrar=REGISTRAR) if vault else VaultConfig())


def test_a_vault_on_a_network_address_without_tls_is_refused_and_on_loopback_or_with_tls_allowed(fed):
    for host in ("0.0.0.0", "", "10.0.0.5", "::"):
        with pytest.raises(TlsError, match=r"^refusing to serve the vault's personal records in plain HTTP on "):
            check_exposure(_config(host, vault=True))
    check_exposure(_config("127.0.0.1", vault=True))
    check_exposure(_config("0.0.0.0", vault=False))
    check_exposure(_config("0.0.0.0", vault=True, tls=TlsConfig(cert_file=str(fed[0].cert), key_file=str(fed[0].key))))


def test_plain_listeners_on_a_network_are_warned_about():
    api, p2p = exposure_warnings(_config("0.0.0.0", vault=False))
    assert api.startswith("the API is plain HTTP on every interface")
    assert p2p.startswith("peer connections are plain text on every interface")
    assert exposure_warnings(_config("127.0.0.1", vault=False)) == []


def test_node_init_warns_about_a_network_host_without_certificates():
    warning = init_warning("0.0.0.0", tls=False)
    assert warning is not None and "plain text on every interface" in warning and "--tls-cert FILE" in warning
    assert "10.0.0.5, a non-loopback address" in init_warning("10.0.0.5", tls=False)
    assert init_warning("0.0.0.0", tls=True) is None and init_warning("127.0.0.1", tls=False) is None


def test_tls_config_needs_both_cert_and_key():
    with pytest.raises(ValueError, match="go together"):
        TlsConfig(cert_file="a.crt")
    with pytest.raises(TlsError, match="--tls-cert and --tls-key go together"):
        check_init_files(None, "a.key", None)


def test_node_init_checks_the_files_and_names_the_option(tmp_path, fed):
    fields = check_init_files(str(fed[0].cert), str(fed[0].key), str(fed[0].ca))
    assert fields == {"cert_file": str(fed[0].cert), "key_file": str(fed[0].key), "ca_file": str(fed[0].ca)}
    with pytest.raises(TlsError, match=r"^--tls-key .* is not the key of the certificate in --tls-cert"):
        check_init_files(str(fed[0].cert), str(fed[1].key), None)
    with pytest.raises(TlsError, match=r"^cannot read --tls-ca .*nope: No such file"):
        check_init_files(None, None, str(tmp_path / "nope"))


def test_name_matching_follows_what_a_checking_client_accepts():
    names = ("coop1.example.org", "*.nodes.example.org", "10.0.0.5")
    assert name_matches("coop1.example.org", names) and name_matches("COOP1.example.org.", names)
    assert name_matches("a.nodes.example.org", names) and not name_matches("a.b.nodes.example.org", names)
    assert not name_matches("nodes.example.org", names)
    assert name_matches("10.0.0.5", names) and not name_matches("10.0.0.6", names)
    assert not name_matches("10.0.0.5", ("10.0.0.5.example.org",))


def test_start_up_warnings_for_a_certificate_the_federation_would_refuse(tmp_path, fed):
    """Near its end, from another CA, for another host, or given as ws:// in the genesis: the node starts and says so."""
    other_ca = make_ca("another CA")
    soon = make_node_cert(other_ca, "soon", hosts=("coop9.example.org",), days=10)
    cert, key = soon.write(tmp_path, "soon")
    config = NodeConfig(tls=TlsConfig(cert_file=str(cert), key_file=str(key), ca_file=str(fed[0].ca)))
    urls = [("validator coop9's api", "https://127.0.0.1:8700"), ("validator coop9's p2p", "ws://coop9.example.org:8701")]
    tls = load_node_tls(config, tmp_path, urls)
    text = "\n".join(tls.warnings)
    assert "expires on" in text and "renew it" in text
    assert "is not issued by a CA in tls.ca_file" in text
    assert "is for coop9.example.org, not 127.0.0.1 of validator coop9's api" in text
    assert "ws://coop9.example.org:8701, in plain text, but this node serves only TLS" in text
    assert tls.enabled and tls.api_url("0.0.0.0", 8700) == "https://0.0.0.0:8700"
    good = load_node_tls(NodeConfig(tls=TlsConfig(cert_file=str(fed[0].cert), key_file=str(fed[0].key),
                                                  ca_file=str(fed[0].ca))),
                         tmp_path, [("validator node0's p2p", "wss://127.0.0.1:8701")])
    assert good.warnings == ()
    plain = load_node_tls(NodeConfig(), tmp_path, [("validator x's p2p", "wss://127.0.0.1:8701")])
    assert not plain.enabled and "no tls.cert_file" in plain.warnings[0]
    assert plain.api_url("127.0.0.1", 8700) == "http://127.0.0.1:8700"


# --- the openssl commands of docs/tls.md -------------------------------------------------------------------


def _doc_commands() -> str:
    text = (REPO / "docs" / "tls.md").read_text(encoding="utf-8")
    section = text.split("<!-- tls-commands: begin -->", 1)[1].split("<!-- tls-commands: end -->", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 4, "docs/tls.md: four command blocks between the tls-commands markers"
    return "set -eu\n" + "".join(blocks)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl command on this machine")
def test_the_openssl_commands_of_the_docs_make_files_the_node_accepts(tmp_path):
    """Run docs/tls.md's commands as written; the node loads what they make, and a client trusting the
    CA completes a TLS 1.2+ handshake with it for the name in the certificate and refuses another name."""
    proc = subprocess.run(["bash", "-c", _doc_commands()], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "coop1.crt: OK" in proc.stdout and "DNS:coop1.example.org, IP Address:10.0.0.5" in proc.stdout
    assert (tmp_path / "coop1.key").stat().st_mode & 0o077 == 0
    cert = server_context(tmp_path / "coop1.crt", tmp_path / "coop1.key")
    assert cert.names == ("coop1.example.org", "10.0.0.5")
    client = client_context(tmp_path / "ca.crt")
    version = run(lambda: _handshake(cert.context, client, "coop1.example.org"))
    assert version in ("TLSv1.2", "TLSv1.3")
    with pytest.raises(ssl.SSLCertVerificationError, match="Hostname mismatch"):
        run(lambda: _handshake(cert.context, client, "coop2.example.org"))


async def _handshake(server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext, name: str,
                     max_version: ssl.TLSVersion | None = None) -> str:
    """One TLS connection on 127.0.0.1 as `name`; the protocol version agreed."""
    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.read(1)
        except (ConnectionError, ssl.SSLError):
            pass
        writer.close()

    server = await asyncio.start_server(echo, "127.0.0.1", 0, ssl=server_ctx)
    port = server.sockets[0].getsockname()[1]
    if max_version is not None:
        client_ctx.maximum_version = max_version
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port, ssl=client_ctx, server_hostname=name)
        version = writer.get_extra_info("ssl_object").version()
        writer.close()
        return version
    finally:
        server.close()


def test_tls_1_3_is_chosen_and_a_client_offering_only_tls_1_1_is_refused(fed):
    cert = server_context(fed[0].cert, fed[0].key)
    assert run(lambda: _handshake(cert.context, client_context(fed[0].ca), "localhost")) == "TLSv1.3"
    old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    old.load_verify_locations(fed[0].ca)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # that is the point
            old.minimum_version = ssl.TLSVersion.TLSv1_1
            old.maximum_version = ssl.TLSVersion.TLSv1_1
    except (ValueError, ssl.SSLError):
        pytest.skip("this OpenSSL cannot even offer TLS 1.1")
    with pytest.raises((ssl.SSLError, ConnectionError)):
        run(lambda: _handshake(cert.context, old, "localhost"))


# --- the listening site: a silent connection is not held ------------------------------------------------------


def test_a_connection_that_never_starts_its_tls_handshake_is_closed(fed):
    """asyncio would hold it 60 s, out of sight of any connection cap; the site closes it at the timeout."""
    cert = server_context(fed[0].cert, fed[0].key)

    async def main() -> float:
        runner = web.AppRunner(web.Application())
        await runner.setup()
        site = tcp_site(runner, "127.0.0.1", 0, cert.context, handshake_timeout=0.5)
        await site.start()
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", site.port)
            started = time.monotonic()
            assert await asyncio.wait_for(reader.read(), 5) == b""  # closed by the server, nothing sent
            writer.close()
            return time.monotonic() - started
        finally:
            await runner.cleanup()

    assert 0.3 < run(main) < 3.0


# --- peers over wss:// --------------------------------------------------------------------------------------


class _Peer:
    def __init__(self, files: Any, urls: list[str] = (), client_ssl: ssl.SSLContext | None = None,
                 server: bool = True):
        self.key = SigningKey.generate()
        self.got: list[Any] = []
        self.manager = PeerManager(
            self.key, CHAIN, "127.0.0.1", 0, list(urls), is_allowed=lambda k: True,
            on_message=lambda peer, kind, payload: self.got.append(payload),
            server_ssl=server_context(files.cert, files.key).context if server else None,
            client_ssl=client_ssl if client_ssl is not None else client_context(files.ca),
        )


async def _until(predicate: Any, timeout: float = 8.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


def test_two_nodes_connect_over_wss_and_exchange_messages(fed):
    async def main() -> None:
        a = _Peer(fed[0])
        await a.manager.start()
        b = _Peer(fed[1], [f"wss://127.0.0.1:{a.manager.port}"])
        await b.manager.start()
        try:
            await _until(lambda: a.manager.peers() and b.manager.peers())
            b.manager.broadcast(3, "over TLS")
            await _until(lambda: a.got == ["over TLS"])
            assert a.manager.peers()[0].pubkey == b.key.pubkey  # the Ed25519 handshake still ran
        finally:
            await b.manager.stop()
            await a.manager.stop()

    run(main)


def test_a_peer_whose_certificate_the_ca_did_not_issue_is_not_dialed(tmp_path, fed, caplog):
    stranger = write_federation(tmp_path / "other", 1)[0]  # same host names, another CA

    async def main() -> None:
        a = _Peer(stranger)
        await a.manager.start()
        b = _Peer(fed[1], [f"wss://127.0.0.1:{a.manager.port}"])
        await b.manager.start()
        try:
            await _until(lambda: "certificate is refused" in caplog.text)
            assert not a.manager.peers() and not b.manager.peers()
        finally:
            await b.manager.stop()
            await a.manager.stop()

    caplog.set_level("WARNING", logger="incoop.p2p")
    run(main)
    line = next(r.getMessage() for r in caplog.records if "certificate is refused" in r.getMessage())
    assert line.endswith("cannot connect: its TLS certificate is refused: unable to get local issuer certificate; "
                         "is the peer's CA in tls.ca_file?; retrying with back-off"), line


def test_dialing_wss_to_a_plain_peer_port_says_so(fed, caplog):
    async def main() -> None:
        plain = _Peer(fed[0], server=False)
        await plain.manager.start()
        b = _Peer(fed[1], [f"wss://127.0.0.1:{plain.manager.port}"])
        await b.manager.start()
        try:
            await _until(lambda: "does it serve plain ws:// rather than wss://?" in caplog.text)
            assert not plain.manager.peers()
        finally:
            await b.manager.stop()
            await plain.manager.stop()

    caplog.set_level("WARNING", logger="incoop.p2p")
    run(main)


def test_a_plain_ws_client_gets_no_websocket_from_a_tls_peer_port(fed, caplog):
    """Not the listener's hello, not an HTTP answer: the TLS listener never sees a request."""
    async def main() -> None:
        a = _Peer(fed[0])
        await a.manager.start()
        try:
            async with aiohttp.ClientSession() as session:
                with pytest.raises(aiohttp.ClientError):
                    await session.ws_connect(f"ws://127.0.0.1:{a.manager.port}/p2p", timeout=aiohttp.ClientWSTimeout(ws_close=2))
            assert not a.manager.peers()
        finally:
            await a.manager.stop()

    run(main)


# --- the wallet's client over https:// --------------------------------------------------------------------------


@contextlib.contextmanager
def _https_server(cert: Path, key: Path) -> Iterator[str]:
    """A stand-in API answering /v1/status over TLS on 127.0.0.1 (tests/functional/test_tls.py uses real nodes)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps({"chain_id": CHAIN, "height": 7}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = server_context(cert, key).context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def https_node(fed) -> Iterator[str]:
    with _https_server(fed[0].cert, fed[0].key) as address:
        yield address


def test_the_wallet_client_reaches_an_https_node_with_the_federation_ca(https_node, fed):
    assert NodeClient(f"https://{https_node}", ca_file=str(fed[0].ca)).status()["height"] == 7
    assert NodeClient(f"https://localhost:{https_node.split(':')[1]}", ca_file=str(fed[0].ca)).status()["height"] == 7


def test_the_wallet_client_names_each_tls_problem_in_one_line(https_node, tmp_path, fed):
    cases = [
        (NodeClient(f"https://{https_node}"), "its TLS certificate is refused: unable to get local issuer certificate; "
                                              "give the federation's CA with --ca-file or INCOOP_CA_FILE"),
        (NodeClient(f"https://{https_node}", ca_file=str(write_federation(tmp_path / "x", 1)[0].ca)),
         "its TLS certificate is refused: unable to get local issuer certificate"),
        (NodeClient(f"https://{https_node}", ca_file=str(tmp_path / "missing.crt")),
         "cannot read the CA file"),
        (NodeClient(f"http://{https_node}"), "(does it serve https:// only?)"),
    ]
    for client, expected in cases:
        with pytest.raises(NodeError) as caught:
            client.status()
        message = str(caught.value)
        assert "\n" not in message and expected in message, message
        assert message.startswith(f"cannot reach node at {client.base_url}: ") or message.startswith("cannot read")


def test_the_wallet_client_names_a_certificate_for_another_host_and_an_expired_one(tmp_path):
    ca = make_ca()
    ca_path = ca.write_cert(tmp_path / "ca.crt")
    named = make_node_cert(ca, "named", hosts=("localhost",)).write(tmp_path, "named")
    with _https_server(*named) as address, pytest.raises(NodeError) as caught:
        NodeClient(f"https://{address}", ca_file=str(ca_path)).status()
    assert caught.value.code == TLS
    assert "its TLS certificate is refused: IP address mismatch, certificate is not valid for '127.0.0.1'" in str(caught.value)
    # the node itself refuses to load an expired certificate; a client meets one when a node kept running past its end
    expired = make_node_cert(ca, "expired", days=1, not_before=datetime.now(UTC) - timedelta(days=3))
    cert, key = expired.write(tmp_path, "expired")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]

        def serve_once() -> None:
            conn, _ = s.accept()
            try:
                with context.wrap_socket(conn, server_side=True):
                    pass
            except (ssl.SSLError, OSError):
                pass

        thread = threading.Thread(target=serve_once, daemon=True)
        thread.start()
        with pytest.raises(NodeError) as caught:
            NodeClient(f"https://127.0.0.1:{port}", ca_file=str(ca_path)).status()
        thread.join(5)
    assert "its TLS certificate is refused: certificate has expired" in str(caught.value)


def test_the_wallet_client_says_when_an_https_url_reaches_a_plain_node():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]

        def answer() -> None:
            conn, _ = s.accept()
            with conn:
                conn.recv(4096)
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")

        thread = threading.Thread(target=answer, daemon=True)
        thread.start()
        with pytest.raises(NodeError) as caught:
            NodeClient(f"https://127.0.0.1:{port}").status()
        thread.join(5)
    assert caught.value.code == TLS
    assert "does it serve plain http:// rather than https://?" in str(caught.value)


def test_node_init_with_certificates_writes_the_tls_section_and_without_them_warns(tmp_path, fed):
    env = dict(os.environ, INCOOP_KEY_PASSWORD="pw-for-tests")
    plain = run_cli("node", "init", "--home", str(tmp_path / "plain"), "--host", "0.0.0.0", env=env)
    assert plain.returncode == 0, plain.stderr
    assert plain.stderr.startswith("warning: with --host 0.0.0.0 and no certificate, the API and the peer port are "
                                   "plain text on every interface")
    assert len(plain.stderr.strip().splitlines()) == 1 and "ws://<this host>" in plain.stdout
    secure = run_cli("node", "init", "--home", str(tmp_path / "secure"), "--host", "0.0.0.0", "--tls-cert",
                     str(fed[0].cert), "--tls-key", str(fed[0].key), "--tls-ca", str(fed[0].ca), env=env)
    assert secure.returncode == 0 and secure.stderr == "", secure.stderr
    assert "wss://<this host>" in secure.stdout
    tls = json.loads((tmp_path / "secure" / "config.json").read_text())["tls"]
    assert tls["cert_file"] == str(fed[0].cert) and tls["ca_file"] == str(fed[0].ca)
    wrong = run_cli("node", "init", "--home", str(tmp_path / "wrong"), "--tls-cert", str(fed[0].cert),
                    "--tls-key", str(fed[1].key), env=env)
    assert wrong.returncode == 1 and "Traceback" not in wrong.stderr
    assert wrong.stderr.strip().splitlines() == [wrong.stderr.strip()] and "is not the key of the certificate" in wrong.stderr
    assert not (tmp_path / "wrong" / "node_key.json").exists(), "a refused init writes nothing"


def test_the_devnet_stays_plain_on_loopback(tmp_path):
    """scripts/devnet (create_devnet) writes no TLS and binds 127.0.0.1 only, so it needs no certificate,
    triggers no refusal (node0 and node1 keep vaults) and no warning."""
    from node.config import load_config
    from node.devnet_layout import create_devnet

    layout = create_devnet(tmp_path / "devnet", validators=2, base_port=18700, observers=1)
    assert all(url.startswith("http://127.0.0.1:") for url in layout.api_urls)
    assert all(v.p2p.startswith("ws://127.0.0.1:") and v.api.startswith("http://127.0.0.1:")
               for v in layout.genesis.validators)
    for home in layout.node_homes:
        config = load_config(home)
        assert not config.tls.enabled and config.tls.ca_file is None
        assert (config.api.host, config.p2p_host) == ("127.0.0.1", "127.0.0.1")
        tls = load_node_tls(config, home, [("p2p", v.p2p) for v in layout.genesis.validators])
        assert tls.server is None and tls.warnings == ()
    assert load_config(layout.node_homes[0]).vault.enabled
