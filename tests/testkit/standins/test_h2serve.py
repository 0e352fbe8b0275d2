"""The in-process HTTP/2 server of the local protocol servers (on h2), against a real
HTTP/2 client: large bodies both ways (flow control, frame splitting)."""

from __future__ import annotations

import httpx

from testkit.standins.asgi import read_body, respond
from testkit.standins.certs import client_ssl_context
from testkit.standins.serving import ServerThread


def echo_app():
    async def app(scope, receive, send):
        body = await read_body(receive, limit=1 << 24)
        # Answer 3x the request, so the answer is larger than the client's default windows.
        await respond(send, 200, body * 3, [(b"x-len", str(len(body)).encode())])

    return app


async def test_large_bodies_both_ways_respect_flow_control(tls):
    server = ServerThread(echo_app(), tls).start()
    try:
        async with httpx.AsyncClient(http2=True, verify=client_ssl_context(tls.ca_file), base_url=server.base_url) as client:
            body = bytes(range(256)) * 1000  # 256 kB: several frames and window updates
            for _ in range(3):
                r = await client.post("/echo", content=body)
                assert r.http_version == "HTTP/2"
                assert r.status_code == 200
                assert r.headers["x-len"] == str(len(body))
                assert r.content == body * 3
    finally:
        server.stop()
