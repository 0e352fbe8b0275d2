"""Web Push endpoints must be https URLs of a public host.

A subscription's endpoint is a URL the worker will POST to, chosen by an anonymous client:
without a check it is a way to make the worker call loopback, the private network or a
cloud metadata address (SSRF). It is checked three times: by shape when a device registers
(:func:`endpoint_problem`), by its DNS answer when it registers and again before each send
(:func:`require_public`), and at connect time by :class:`PublicOnlyResolver`, so a name that
resolves to a public address when checked and to a private one a moment later (DNS
rebinding) still never reaches the private address.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

# Names that never denote a public host (RFC 6761, RFC 8375, common private suffixes).
PRIVATE_SUFFIXES = (".localhost", ".local", ".internal", ".lan", ".home.arpa", ".intranet", ".corp")
# Browsers' push services answer DNS in milliseconds; past this the name is treated as unresolved.
RESOLVE_TIMEOUT_SECONDS = 2.0


class EndpointNotPublic(ValueError):
    """The endpoint is not an https URL of a public host."""


def is_public_address(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def endpoint_problem(url: str, *, allow_hosts: frozenset[str] = frozenset()) -> str | None:
    """Why ``url`` cannot be a Web Push endpoint by its shape alone, or None."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower().rstrip(".")
    if parts.scheme != "https":
        return "a Web Push endpoint must be an https URL"
    if not host:
        return "a Web Push endpoint needs a host"
    if host in allow_hosts:
        return None
    if parts.username or parts.password:
        return "a Web Push endpoint carries no credentials"
    try:
        ipaddress.ip_address(host)
        literal = True
    except ValueError:
        literal = False
    if literal:
        return None if is_public_address(host) else "a Web Push endpoint must be a public host, not a private address"
    if host == "localhost" or host.endswith(PRIVATE_SUFFIXES) or "." not in host:
        return "a Web Push endpoint must be a public host name"
    try:
        host.encode("idna")  # what DNS will be asked: labels of 1-63 characters
    except UnicodeError:
        return "a Web Push endpoint's host is not a valid host name"
    return None


async def resolved_addresses(host: str, port: int) -> list[str]:
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(RESOLVE_TIMEOUT_SECONDS):
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [info[4][0] for info in infos]


async def require_public(url: str, *, allow_hosts: frozenset[str] = frozenset(), unresolved_ok: bool = False) -> None:
    """Raise :class:`EndpointNotPublic` unless ``url`` is https to a host whose every address is
    public. A name that does not resolve passes only with ``unresolved_ok`` (registration: the
    check is repeated before every send, when it must resolve)."""
    problem = endpoint_problem(url, allow_hosts=allow_hosts)
    if problem:
        raise EndpointNotPublic(problem)
    parts = urlsplit(url)
    host = (parts.hostname or "").lower().rstrip(".")
    if host in allow_hosts:
        return
    try:
        addresses = await resolved_addresses(host, parts.port or 443)
    except (OSError, TimeoutError, UnicodeError) as exc:
        if unresolved_ok:
            return
        raise EndpointNotPublic(f"the endpoint's host does not resolve ({type(exc).__name__})") from exc
    private = [a for a in addresses if not is_public_address(a)]
    if private or not addresses:
        raise EndpointNotPublic("the endpoint's host resolves to a private address")


class PublicOnlyResolver:
    """An aiohttp resolver that hands out only public addresses (the connect-time check)."""

    def __init__(self, inner=None, *, allow_hosts: frozenset[str] = frozenset()):
        import aiohttp

        self.inner = inner or aiohttp.ThreadedResolver()
        self.allow_hosts = allow_hosts

    async def resolve(self, host: str, port: int = 0, family: int = socket.AF_INET):
        found = await self.inner.resolve(host, port, family)
        if host.lower().rstrip(".") in self.allow_hosts:
            return found
        public = [r for r in found if is_public_address(r["host"])]
        if not public:
            raise OSError(f"{host} resolves to no public address")
        return public

    async def close(self) -> None:
        await self.inner.close()
