"""The one TLS policy for mail servers: certificate and host name always verified, TLS 1.2+.

A public-key pin (SHA-256 of the certificate's SubjectPublicKeyInfo) is checked on top of
the CA verification, never instead of it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import socket
import ssl
from pathlib import Path

from helpdesk_ingest.pop3.errors import Pop3ConnectionError, Pop3TlsError


def client_context(
    ca_file: Path | None,
    client_cert_file: Path | None = None,
    client_key_file: Path | None = None,
) -> ssl.SSLContext:
    """System CAs when ``ca_file`` is None, otherwise only the CAs in that file."""
    try:
        context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    except (OSError, ssl.SSLError) as exc:
        raise Pop3TlsError(f"cannot load CA file {ca_file}: {exc}") from exc
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    if client_cert_file is not None:
        try:
            context.load_cert_chain(client_cert_file, client_key_file)
        except (OSError, ssl.SSLError) as exc:
            raise Pop3TlsError(
                f"cannot load client certificate {client_cert_file}: {type(exc).__name__}"
            ) from exc
    return context


def spki_sha256(certificate_der: bytes) -> bytes:
    """SHA-256 of the DER SubjectPublicKeyInfo of a DER certificate (the HPKP-style pin)."""
    # Imported on first use: the X.509 module adds about 10 MB to every process that loads it,
    # and only a pinned mailbox or `check` needs it.
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    public_key = x509.load_der_x509_certificate(certificate_der).public_key()
    return hashlib.sha256(
        public_key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    ).digest()


def parse_pin(pin: str) -> bytes:
    """A pin as 64 hex digits (colons allowed) or as base64 (optionally "sha256/…") to bytes."""
    text = pin.strip().removeprefix("sha256/")
    hex_digits = text.replace(":", "")
    try:
        digest = (
            bytes.fromhex(hex_digits)
            if len(hex_digits) == 64
            else base64.b64decode(text, validate=True)
        )
    except (ValueError, binascii.Error):
        raise ValueError("tls_pin_sha256 must be 64 hex digits or base64 of 32 bytes") from None
    if len(digest) != 32:
        raise ValueError("tls_pin_sha256 must be 64 hex digits or base64 of 32 bytes")
    return digest


def format_pin(digest: bytes) -> str:
    return "sha256/" + base64.b64encode(digest).decode("ascii")


def _check_pin(tls_sock: ssl.SSLSocket, pin: str, where: str) -> None:
    der = tls_sock.getpeercert(binary_form=True)
    if der is None or not hmac.compare_digest(spki_sha256(der), parse_pin(pin)):
        tls_sock.close()
        presented = format_pin(spki_sha256(der)) if der else "none"
        raise Pop3TlsError(
            f"public key of {where} does not match tls_pin_sha256 (it presented {presented})"
        )


def wrap(
    sock: socket.socket,
    context: ssl.SSLContext,
    host: str,
    where: str,
    pin: str | None = None,
) -> ssl.SSLSocket:
    """Run the TLS handshake on ``sock``; closes it and raises when the peer is not trusted."""
    try:
        tls_sock = context.wrap_socket(sock, server_hostname=host)
    except ssl.SSLCertVerificationError as exc:
        sock.close()
        reason = exc.verify_message or exc.reason or "verification failed"
        raise Pop3TlsError(f"certificate of {where} not accepted: {reason}") from exc
    except ssl.SSLError as exc:
        sock.close()
        raise Pop3TlsError(f"TLS handshake with {where} failed: {exc.reason or exc}") from exc
    except TimeoutError as exc:
        sock.close()
        raise Pop3ConnectionError(f"TLS handshake with {where} timed out") from exc
    except OSError as exc:
        sock.close()
        raise Pop3ConnectionError(
            f"connection to {where} lost during the TLS handshake: {exc.__class__.__name__}"
        ) from exc
    if pin is not None:
        _check_pin(tls_sock, pin, where)
    return tls_sock
