"""Credentials for the local protocol servers: a throwaway CA, server certificates, keys.

Everything is generated fresh (trustme for TLS, ``cryptography`` for keys) into a
directory the caller owns. Clients trust the servers through an explicit CA file
(``ca.pem``), never by switching verification off.
"""

from __future__ import annotations

import json
import secrets
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa


@dataclass(frozen=True)
class TlsFiles:
    ca_file: Path
    cert_file: Path
    key_file: Path


def make_tls(directory: Path, hosts: tuple[str, ...] = ("127.0.0.1", "localhost")) -> TlsFiles:
    """A CA and a server certificate for ``hosts`` written under ``directory``."""
    import trustme

    directory.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA()
    leaf = ca.issue_cert(*hosts)
    files = TlsFiles(directory / "ca.pem", directory / "server.pem", directory / "server.key")
    ca.cert_pem.write_to_path(str(files.ca_file))
    leaf.cert_chain_pems[0].write_to_path(str(files.cert_file))
    for extra in leaf.cert_chain_pems[1:]:
        extra.write_to_path(str(files.cert_file), append=True)
    leaf.private_key_pem.write_to_path(str(files.key_file))
    return files


def client_ssl_context(ca_file: str | Path) -> ssl.SSLContext:
    """A verifying client context that trusts exactly ``ca_file``, with ALPN for HTTP/2."""
    ctx = ssl.create_default_context(cafile=str(ca_file))
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    return ctx


def make_service_account(path: Path, *, project_id: str, token_uri: str) -> dict:
    """A service-account JSON like the one Firebase hands out, with a fresh RSA key.

    ``token_uri`` points at the local server's OAuth2 endpoint, so google-auth's
    JWT-bearer flow runs for real against it.
    """
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    info = {
        "type": "service_account",
        "project_id": project_id,
        "private_key_id": secrets.token_hex(20),
        "private_key": pem,
        "client_email": f"firebase-adminsdk@{project_id}.iam.gserviceaccount.com",
        "client_id": str(secrets.randbelow(10**20)),
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": token_uri,
        "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
        "client_x509_cert_url": "https://www.googleapis.com/robot/v1/metadata/x509/local",
    }
    path.write_text(json.dumps(info))
    return info


def public_key_pem_of(private_key_pem: str) -> str:
    key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def make_apns_key(path: Path) -> str:
    """An APNs auth key (.p8: an EC P-256 private key in PKCS#8 PEM); returns the PEM."""
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    path.write_text(pem)
    return pem
