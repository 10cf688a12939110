"""TLS for the node's API and peer-to-peer listeners (docs/tls.md); what a client trusts is keys/tls_client.py.

The standard library's ssl speaks the protocol; this module turns the files
named in config.json (`tls`, node/config.py) into ssl.SSLContext objects,
checking them first, so that a wrong file stops the node at start with one
line naming the file and the problem instead of failing every handshake later.

What TLS adds is confidentiality and the server's authentication: whoever
dials a node (a wallet, an auditor, another node) knows it reached the holder
of a certificate its CA issued for that host, and nobody on the way reads or
alters the bytes. Which node a peer is stays proved by the Ed25519 handshake
of FORMAT.md §18.2, run inside the TLS channel; TLS client certificates are
not used.

Policy: TLS 1.2 at least (1.3 whenever both sides have it, the ssl module's
preference), the ssl module's default ciphers, no renegotiation, certificate
and host name checked by every client. A node whose vault is enabled refuses
to serve its API on a non-loopback address without TLS (`check_exposure`):
the vault's answers carry personal records (FORMAT.md §19.3).

`cryptography` is imported only when a certificate is inspected.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from keys.tls_client import MIN_VERSION, TlsError, client_context, ssl_reason

if TYPE_CHECKING:
    from cryptography.x509 import Certificate

    from node.config import NodeConfig

TLS_HANDSHAKE_TIMEOUT_S = 10.0
"""A connection that has not finished its TLS handshake by then is closed (asyncio's default is 60 s)."""
TLS_SHUTDOWN_TIMEOUT_S = 5.0
EXPIRY_WARNING = timedelta(days=30)
"""A certificate expiring sooner than this is named in a warning at every start."""
DOCS = "docs/tls.md"
ALL_INTERFACES = ("", "0.0.0.0", "::", "[::]")


# --- the node's own certificate ------------------------------------------------------------------------


@dataclass(frozen=True)
class ServerCertificate:
    """The node's certificate, checked and loaded, with what start-up needs to say about it."""

    context: ssl.SSLContext
    subject: str
    names: tuple[str, ...]  # its subjectAltName entries (DNS names and IP addresses)
    not_after: datetime
    chain: tuple[Certificate, ...]


def server_context(cert_file: str | Path, key_file: str | Path, *, now: datetime | None = None,
                   what_cert: str = "tls.cert_file", what_key: str = "tls.key_file") -> ServerCertificate:
    """Load the node's certificate chain and key for its listeners; TlsError naming the file and the
    problem if a file is missing or unreadable, is not PEM, the key is encrypted or readable by
    others, the key is not the certificate's, or a certificate of the chain is expired or not yet valid."""
    from cryptography.hazmat.primitives import serialization

    cert_path, key_path = Path(cert_file), Path(key_file)
    chain = _certificates(cert_path, what_cert)
    _check_dates(chain, cert_path, what_cert, now or datetime.now(UTC))
    _check_private(key_path, what_key)
    key_pem = _read(key_path, what_key)
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except TypeError:
        raise TlsError(f"{what_key} {key_path} is encrypted; the node needs the key unencrypted, "
                       "readable only by its user (mode 0600)") from None
    except Exception:  # ValueError, UnsupportedAlgorithm: not a key we can use
        raise TlsError(f"{what_key} {key_path} holds no PEM private key") from None
    if _spki(key.public_key()) != _spki(chain[0].public_key()):
        raise TlsError(f"{what_key} {key_path} is not the key of the certificate in {what_cert} {cert_path} "
                       f"({_subject(chain[0])})")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = MIN_VERSION
    context.options |= ssl.OP_NO_RENEGOTIATION  # a TLS 1.2 client could make the node redo handshakes at will
    try:
        context.load_cert_chain(str(cert_path), str(key_path), password=_no_password)
    except (ssl.SSLError, OSError, ValueError) as exc:
        reason = ssl_reason(exc) if isinstance(exc, ssl.SSLError) else str(exc)
        raise TlsError(f"the TLS library refuses {what_cert} {cert_path} with {what_key} {key_path}: {reason}") from None
    return ServerCertificate(context, _subject(chain[0]), certificate_names(chain[0]),
                             chain[0].not_valid_after_utc, tuple(chain))


def _no_password() -> bytes:
    raise TlsError("the TLS key is encrypted")  # never prompt on a terminal; server_context refused it already


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise TlsError(f"cannot read {what} {path}: {exc.strerror or exc}") from None


def _certificates(path: Path, what: str) -> list[Certificate]:
    from cryptography import x509

    data = _read(path, what)
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError:
        certs = []
    if not certs:
        raise TlsError(f"{what} {path} holds no PEM certificate")
    return certs


def _check_private(path: Path, what: str) -> None:
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise TlsError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    if mode & (stat.S_IROTH | stat.S_IWOTH):
        raise TlsError(f"{what} {path} is readable or writable by every user of this machine "
                       f"(mode {stat.S_IMODE(mode):04o}); make it 0600 (or 0640 for a group)")


def _check_dates(chain: list[Certificate], path: Path, what: str, now: datetime) -> None:
    for cert in chain:
        if now < cert.not_valid_before_utc:
            raise TlsError(f"the certificate {_subject(cert)} in {what} {path} is not valid before "
                           f"{_when(cert.not_valid_before_utc)}")
        if now > cert.not_valid_after_utc:
            raise TlsError(f"the certificate {_subject(cert)} in {what} {path} expired on "
                           f"{_when(cert.not_valid_after_utc)}")


def _spki(public_key: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _subject(cert: Certificate) -> str:
    from cryptography.x509.oid import NameOID

    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return f"'{names[0].value}'" if names else f"'{cert.subject.rfc4514_string()}'"


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def certificate_names(cert: Certificate) -> tuple[str, ...]:
    """The DNS names and IP addresses a certificate is for (its subjectAltName; clients ignore the CN)."""
    from cryptography import x509

    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return ()
    names = [str(n) for n in san.get_values_for_type(x509.DNSName)]
    names += [str(a) for a in san.get_values_for_type(x509.IPAddress)]
    return tuple(names)


def name_matches(host: str, names: Iterable[str]) -> bool:
    """Whether a certificate for `names` is valid for `host`, as a checking client decides:
    an IP address only by an equal IP entry, a DNS name by an equal entry or a `*.` wildcard
    standing for exactly one leftmost label."""
    host = host.strip("[]").rstrip(".").lower()
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    for name in names:
        name = name.rstrip(".").lower()
        if address is not None:
            try:
                if ipaddress.ip_address(name) == address:
                    return True
            except ValueError:
                pass
            continue
        if name == host:
            return True
        if name.startswith("*.") and "." in host and host.split(".", 1)[1] == name[2:]:
            return True
    return False


def issued_by_any(chain: tuple[Certificate, ...], cas: list[Certificate]) -> bool:
    """Whether the last certificate of `chain` is one of `cas` or is signed by one of them."""
    top = chain[-1]
    for ca in cas:
        if top == ca:
            return True
        try:
            top.verify_directly_issued_by(ca)
            return True
        except Exception:  # another issuer name, another key type, a bad signature: not this CA
            continue
    return False


# --- the node: config, refusal, warnings ---------------------------------------------------------------


@dataclass(frozen=True)
class NodeTls:
    """What the node's listeners and dialer use: `server` is None when the node serves plain text."""

    server: ssl.SSLContext | None = None
    client: ssl.SSLContext | None = None  # None: aiohttp's default (the system's store)
    warnings: tuple[str, ...] = ()

    @property
    def enabled(self) -> bool:
        return self.server is not None

    def api_url(self, host: str, port: int) -> str:
        shown = f"[{host}]" if ":" in host and not host.startswith("[") else (host or "0.0.0.0")
        return f"{'https' if self.enabled else 'http'}://{shown}:{port}"


def is_loopback(host: str) -> bool:
    """Whether binding `host` listens on loopback only (a name counts if it resolves to loopback only)."""
    if host in ALL_INTERFACES:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(info[4][0].split("%")[0]).is_loopback for info in infos)


def _where(host: str) -> str:
    return "every interface" if host in ALL_INTERFACES else f"{host}, a non-loopback address"


def check_exposure(config: NodeConfig) -> None:
    """TlsError if the vault's personal records would be served in clear beyond this machine.

    There is no override: a TLS-terminating proxy on the same host reaches the
    API on 127.0.0.1, which this allows; any other plain hop would carry the
    records in clear on a network (docs/tls.md, "Behind a reverse proxy").
    """
    api = config.api
    if config.vault.enabled and not config.tls.enabled and not is_loopback(api.host):
        raise TlsError(
            f"refusing to serve the vault's personal records in plain HTTP on {_where(api.host)} "
            f"(api.host {api.host!r}); set tls.cert_file and tls.key_file ({DOCS}) or bind api.host to 127.0.0.1"
        )


def exposure_warnings(config: NodeConfig) -> list[str]:
    """Plain-text listeners on non-loopback addresses the node allows but an operator should hear about."""
    if config.tls.enabled:
        return []
    out = []
    if not is_loopback(config.api.host):
        out.append(f"the API is plain HTTP on {_where(config.api.host)}: anyone on the way reads and alters "
                    f"what wallets send and receive; give the node a certificate ({DOCS})")
    if not is_loopback(config.p2p_host):
        out.append(f"peer connections are plain text on {_where(config.p2p_host)}: blocks, votes and "
                   f"transactions can be read on the way (not forged); give the node a certificate ({DOCS})")
    return out


def init_warning(host: str, tls: bool) -> str | None:
    """What `incoop node init` says about a non-loopback --host without certificates (None: nothing)."""
    if tls or is_loopback(host):
        return None
    shown = host or "''"
    return (f"warning: with --host {shown} and no certificate, the API and the peer port are plain text "
            f"on {_where(host)}, and a node with the vault enabled refuses to start; give the node's "
            f"certificate with --tls-cert FILE --tls-key FILE --tls-ca CA_FILE ({DOCS})")


def check_init_files(cert: str | None, key: str | None, ca: str | None) -> dict[str, str]:
    """`incoop node init --tls-cert/--tls-key/--tls-ca`, checked as the node will at start: the
    `tls` config fields they make (absolute paths), or TlsError naming the option and the problem."""
    if (cert is None) != (key is None):
        raise TlsError("--tls-cert and --tls-key go together: give both or neither")
    fields = {}
    if cert is not None and key is not None:
        server_context(cert, key, what_cert="--tls-cert", what_key="--tls-key")
        fields.update(cert_file=str(Path(cert).resolve()), key_file=str(Path(key).resolve()))
    if ca is not None:
        client_context(ca, what="--tls-ca")
        _certificates(Path(ca), "--tls-ca")
        fields["ca_file"] = str(Path(ca).resolve())
    return fields


def own_urls(genesis: Any, pubkey: bytes) -> list[tuple[str, str]]:
    """(what, URL) for this node's own entries in the genesis: the URLs others use to reach it."""
    from ledger.address import from_address

    out = []
    for v in genesis.validators:
        if from_address(v.pubkey) == pubkey:
            out += [(f"validator {v.name}'s api", v.api), (f"validator {v.name}'s p2p", v.p2p)]
    for o in genesis.observers:
        if from_address(o.pubkey) == pubkey:
            out.append((f"observer {o.name}'s p2p", o.p2p))
    return [(what, url) for what, url in out if url]


def _url_warnings(urls: list[tuple[str, str]], cert: ServerCertificate | None) -> list[str]:
    out = []
    for what, url in urls:
        parts = urlsplit(url)
        secure = parts.scheme in ("https", "wss")
        if cert is None and secure:
            out.append(f"the genesis gives {what} as {url}, but this node has no tls.cert_file: "
                       "whoever dials it there fails the TLS handshake")
        elif cert is not None and not secure:
            out.append(f"the genesis gives {what} as {url}, in plain text, but this node serves only TLS: "
                       "whoever dials it there gets no answer")
        elif cert is not None and parts.hostname and not name_matches(parts.hostname, cert.names):
            out.append(f"the certificate {cert.subject} in tls.cert_file is for {', '.join(cert.names) or 'no name'}, "
                       f"not {parts.hostname} of {what} {url}: clients that check host names refuse it")
    return out


def load_node_tls(config: NodeConfig, home: Path, urls: Iterable[tuple[str, str]] = (),
                  now: datetime | None = None) -> NodeTls:
    """The node's TLS contexts from its config, or TlsError (one line) for a file that cannot serve,
    or for a vault that would be served in clear (`check_exposure`). `urls` are this node's own
    entries in the genesis (`own_urls`), checked against the certificate for the warnings."""
    check_exposure(config)
    tls = config.tls
    now = now or datetime.now(UTC)
    warnings = exposure_warnings(config)
    cert = None
    if tls.enabled:
        assert tls.cert_file is not None and tls.key_file is not None
        cert = server_context(config.path(home, tls.cert_file), config.path(home, tls.key_file), now=now)
        if cert.not_after - now < EXPIRY_WARNING:
            warnings.append(f"the certificate {cert.subject} in tls.cert_file expires on {_when(cert.not_after)}; "
                            f"renew it ({DOCS}, rotation)")
    ca_path = config.path(home, tls.ca_file) if tls.ca_file else None
    client = client_context(ca_path, system_ca=tls.system_ca, check_hostname=tls.check_hostname,
                            what="tls.ca_file")
    if ca_path is not None:
        cas = _certificates(ca_path, "tls.ca_file")
        for ca in cas:
            if now > ca.not_valid_after_utc:
                warnings.append(f"the CA certificate {_subject(ca)} in tls.ca_file expired on "
                                f"{_when(ca.not_valid_after_utc)}: peers it issued are refused")
        if cert is not None and not issued_by_any(cert.chain, cas):
            warnings.append(f"the certificate {cert.subject} in tls.cert_file is not issued by a CA in tls.ca_file: "
                            "peers that check against the same CA refuse it")
    warnings += _url_warnings(list(urls), cert)
    return NodeTls(cert.context if cert else None, client, tuple(warnings))
