"""TLS as a client sees it (the wallet, the auditor, a node dialing wss://): which servers to trust,
and one line for a failure. The node's own certificates are node/tls.py's (docs/tls.md)."""

from __future__ import annotations

import ssl
from pathlib import Path

MIN_VERSION = ssl.TLSVersion.TLSv1_2


class TlsError(ValueError):
    """A TLS file cannot be used, or the node would serve personal data in clear; one line."""


def client_context(ca_file: str | Path | None = None, *, system_ca: bool = False,
                   check_hostname: bool = True, what: str = "the CA file") -> ssl.SSLContext:
    """A context for dialing https:// and wss://: the server's certificate must chain to a CA in
    `ca_file` (and the system's store too with `system_ca`; the system's store alone without a
    `ca_file`) and, with `check_hostname`, name the host dialed. TlsError if `ca_file` is unusable."""
    try:
        if ca_file is None:
            context = ssl.create_default_context()
        else:
            context = ssl.create_default_context(cafile=str(ca_file))
            if system_ca:
                context.load_default_certs()
    except ssl.SSLError as exc:
        raise TlsError(f"{what} {ca_file} holds no usable PEM certificate ({ssl_reason(exc)})") from None
    except OSError as exc:
        raise TlsError(f"cannot read {what} {ca_file}: {exc.strerror or exc}") from None
    context.minimum_version = MIN_VERSION
    context.check_hostname = check_hostname
    return context


def describe_client_error(exc: BaseException, plain: str = "plain http:// rather than https://",
                          ca_hint: str = "give the federation's CA with --ca-file or INCOOP_CA_FILE") -> str | None:
    """One line for a TLS failure seen by a client, or None if `exc` is not one.

    The certificate cases name what is wrong with it (not trusted, expired, for
    another host; `ca_hint` follows an untrusted issuer), the others what the
    handshake said (`plain` names what a server that is not TLS probably serves).
    """
    if isinstance(exc, ssl.SSLCertVerificationError):
        problem = exc.verify_message or ssl_reason(exc)
        hint = ""
        if exc.verify_code in (2, 18, 19, 20, 21):  # the issuer, or a self-signed certificate, is not trusted here
            hint = f"; {ca_hint}"
        return f"its TLS certificate is refused: {problem}{hint}"
    if isinstance(exc, ssl.SSLError):
        reason = ssl_reason(exc)
        if "WRONG_VERSION_NUMBER" in reason.upper().replace(" ", "_"):
            return f"the TLS handshake failed ({reason}): does it serve {plain}?"
        return f"the TLS handshake failed ({reason})"
    return None


def ssl_reason(exc: ssl.SSLError) -> str:
    reason = getattr(exc, "reason", None)
    return str(reason).replace("_", " ").lower() if reason else (exc.strerror or str(exc))
