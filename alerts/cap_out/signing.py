"""XML Signatures on the CAP documents we publish (signxml), so an aggregator can tell ours
from a spoof and WMO's ``capvalidator`` accepts them in strict mode.

Each document carries an enveloped ``ds:Signature`` as the last child of ``<alert>`` (CAP
1.2 allows it there) with the signing certificate (and any intermediates) in ``KeyInfo``:
a receiver verifies each document on its own, against the certificate it pins or the CA
that issued it. Exclusive canonicalization, so a document still verifies when it is lifted
out of the Atom feed that embeds it.

Key and certificate come from ``BOUSAI_CAP_SIGNING_KEY_FILE`` / ``_CERT_FILE`` (PEM; RSA or
EC). Rotation: write the new key and certificate files (replace both, then publish) — the
files are re-read when they change, no restart. Documents published before keep the
signature and certificate they were published with (they are stored as sent), so they
still verify; tell receivers the new certificate (or have it issued by the CA they
trust) before switching. Without a key the documents go out unsigned, with a warning.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import structlog
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from lxml import etree
from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict
from signxml import CanonicalizationMethod, DigestAlgorithm, SignatureMethod, XMLSigner

from server.settings import Section, SectionGetter

log = structlog.get_logger()


class CapSigningSettings(Section):
    model_config = SettingsConfigDict(env_prefix="BOUSAI_CAP_SIGNING_", env_file=".env", extra="ignore")

    # PEM private key (RSA or EC) the CAP documents are signed with; unset = unsigned.
    key_file: str | None = None
    # PEM certificate of that key, then any intermediates: embedded in every document.
    cert_file: str | None = None
    # Passphrase of an encrypted key file.
    key_password: SecretStr | None = None


class CapSigningError(RuntimeError):
    """The signing key or certificate cannot be used (missing, unreadable, not a pair)."""


@dataclass(frozen=True)
class CapSigner:
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    certs: list[str]  # PEM, leaf first
    algorithm: SignatureMethod

    def sign(self, alert: etree._Element) -> etree._Element:
        signer = XMLSigner(
            signature_algorithm=self.algorithm,
            digest_algorithm=DigestAlgorithm.SHA256,
            c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
        )
        return signer.sign(alert, key=self.key, cert=self.certs)


def load_signer(key_file: str, cert_file: str, password: str | None = None) -> CapSigner:
    try:
        key_pem = Path(key_file).read_bytes()
        cert_pem = Path(cert_file).read_bytes()
    except OSError as exc:
        raise CapSigningError(f"CAP signing: {exc}") from exc
    try:
        key = serialization.load_pem_private_key(key_pem, password.encode() if password else None)
        certs = x509.load_pem_x509_certificates(cert_pem)
    except (ValueError, TypeError) as exc:
        raise CapSigningError(f"CAP signing: cannot read the key or certificate ({exc})") from exc
    if isinstance(key, rsa.RSAPrivateKey):
        algorithm = SignatureMethod.RSA_SHA256
    elif isinstance(key, ec.EllipticCurvePrivateKey):
        algorithm = SignatureMethod.ECDSA_SHA256
    else:
        raise CapSigningError(f"CAP signing: {type(key).__name__} keys are not supported (RSA or EC)")
    pub = serialization.PublicFormat.SubjectPublicKeyInfo
    if certs[0].public_key().public_bytes(serialization.Encoding.PEM, pub) != key.public_key().public_bytes(serialization.Encoding.PEM, pub):
        raise CapSigningError("CAP signing: the certificate (first in the file) is not the key's")
    return CapSigner(key, [c.public_bytes(serialization.Encoding.PEM).decode() for c in certs], algorithm)


get_signing_settings = SectionGetter(CapSigningSettings)
_cached: tuple[tuple, CapSigner | None] | None = None
_warned_unsigned = False


def current_signer(settings: CapSigningSettings | None = None) -> CapSigner | None:
    """The signer for the configured files, re-read when a file changes (rotation); None
    when no key is configured."""
    global _cached, _warned_unsigned
    s = settings or get_signing_settings()
    if not s.key_file and not s.cert_file:
        if not _warned_unsigned:
            log.warning("alerts.cap_out.unsigned", hint="set BOUSAI_CAP_SIGNING_KEY_FILE and _CERT_FILE")
            _warned_unsigned = True
        return None
    if not (s.key_file and s.cert_file):
        raise CapSigningError("CAP signing needs both BOUSAI_CAP_SIGNING_KEY_FILE and BOUSAI_CAP_SIGNING_CERT_FILE")
    try:
        stamp = tuple((p, os.stat(p).st_mtime_ns, os.stat(p).st_size) for p in (s.key_file, s.cert_file))
    except OSError as exc:
        raise CapSigningError(f"CAP signing: {exc}") from exc
    if _cached is None or _cached[0] != stamp:
        password = s.key_password.get_secret_value() if s.key_password else None
        _cached = (stamp, load_signer(s.key_file, s.cert_file, password))
        log.info("alerts.cap_out.signing_key_loaded", cert_file=s.cert_file)
    return _cached[1]


def signed_xml(alert: etree._Element, signer: CapSigner) -> str:
    """The signed document as published: compact (no whitespace added between elements, so
    a receiver that strips blank text — capvalidator does — checks the same bytes)."""
    return etree.tostring(signer.sign(alert), xml_declaration=True, encoding="UTF-8").decode("utf-8")
