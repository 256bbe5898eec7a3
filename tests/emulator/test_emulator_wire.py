"""One delivery exchange on the wire: headers as configured, failures named."""

from __future__ import annotations

import socket

import pytest
from emulator_support import CaptureServer

from jobsearch.emulator import wire
from jobsearch.emulator.body import USER_AGENT


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_exchange_body_without_content_type_sends_none(
    capture: CaptureServer,
) -> None:
    """Only configured headers go out: no Content-Type is made up for the body."""
    async with wire.open_session(USER_AGENT, connect_ms=1000, request_ms=1000) as s:
        outcome = await wire.exchange(
            s, "POST", f"{capture.url}/hook", payload=b"{}", headers=[("X-A", "1")]
        )

    sent = capture.requests[0]
    assert (outcome.status, outcome.content) == (200, b'{"ok":true}')
    assert (sent.header("content-type"), sent.header("x-a")) == (None, "1")
    assert sent.header("user-agent") == USER_AGENT


async def test_exchange_cookie_from_sink_not_sent_back(
    capture: CaptureServer,
) -> None:
    """A Set-Cookie answer does not follow the next record, as with the connector."""
    capture.script = [(200, b"", {"Set-Cookie": "session=abc; Path=/"})]
    async with wire.open_session(USER_AGENT, connect_ms=1000, request_ms=1000) as s:
        for _ in range(2):
            await wire.exchange(s, "POST", capture.url, payload=b"{}", headers=[])

    assert capture.requests[1].header("cookie") is None


@pytest.mark.parametrize(
    ("url", "name"),
    [
        (f"http://127.0.0.1:{_closed_port()}/hook", "ConnectError"),
        ("ftp://example.test/hook", "NonHttpUrlClientError"),
    ],
)
async def test_exchange_unreachable_url_names_the_failure(url: str, name: str) -> None:
    """A failed exchange is an outcome without status, named for the error topic."""
    async with wire.open_session(USER_AGENT, connect_ms=1000, request_ms=1000) as s:
        outcome = await wire.exchange(s, "POST", url, payload=None, headers=[])

    assert (outcome.status, outcome.exception) == (None, name)
    assert outcome.error_message
