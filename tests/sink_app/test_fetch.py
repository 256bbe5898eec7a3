"""The keyless fetcher: limits, redirects and the address guard, mocked and real."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import socket
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from ipaddress import ip_address
from typing import Any

import httpx
import pytest
from pytest_httpx import HTTPXMock, IteratorStream

from jobsearch.serving import BackgroundServer
from jobsearch.settings import Settings
from sink_app.pipeline.fetch import (
    FetchError,
    Page,
    PageFetcher,
    build_fetch_client,
)
from sink_app.pipeline.netguard import IPAddress

PUBLIC = ip_address("93.184.215.14")
PAGE = "https://jobs.example.test/p/1"
HTML = "<html><body><h1>Python Developer</h1></body></html>"

Reply = Callable[[asyncio.StreamWriter], Awaitable[None]]


def _settings(**overrides: Any) -> Settings:
    return Settings(_env_file=None, **overrides)  # type: ignore[call-arg]


def _resolver(*addresses: str) -> Callable[[str, int], Awaitable[list[IPAddress]]]:
    async def resolve(host: str, port: int) -> list[IPAddress]:
        return [ip_address(address) for address in addresses]

    return resolve


async def _fetch(url: str, resolver: Any = None, **overrides: Any) -> Page:
    settings = _settings(**overrides)
    async with build_fetch_client(settings) as client:
        fetcher = PageFetcher(
            client, settings, resolver=resolver or _resolver(str(PUBLIC))
        )
        return await fetcher.fetch(url)


async def _fetch_error(url: str, resolver: Any = None, **overrides: Any) -> FetchError:
    with pytest.raises(FetchError) as caught:
        await _fetch(url, resolver, **overrides)
    return caught.value


# pytest-httpx: what is sent, hop by hop


async def test_fetch_html_page_returns_bytes_and_charset(httpx_mock: HTTPXMock) -> None:
    """A 200 HTML page comes back as bytes with its declared charset."""
    httpx_mock.add_response(
        url=PAGE,
        headers={"Content-Type": "text/html; charset=ISO-8859-1"},
        content="<p>Müller</p>".encode("latin-1"),
    )

    page = await _fetch(PAGE)

    assert page == Page(
        url=PAGE,
        final_url=PAGE,
        status=200,
        content_type="text/html",
        body="<p>Müller</p>".encode("latin-1"),
        encoding="iso8859-1",
    )


async def test_fetch_request_headers_identify_the_bot(httpx_mock: HTTPXMock) -> None:
    """The request carries the configured User-Agent, an HTML Accept and no cookie."""
    httpx_mock.add_response(url=PAGE, html=HTML)

    await _fetch(PAGE, scrape_user_agent="test-agent/1.0")

    request = httpx_mock.get_request()
    assert request is not None
    assert request.headers["user-agent"] == "test-agent/1.0"
    assert request.headers["accept"].startswith("text/html")
    assert "cookie" not in request.headers
    assert "authorization" not in request.headers


async def test_fetch_relative_redirects_checked_and_followed_each_hop(
    httpx_mock: HTTPXMock,
) -> None:
    """Relative and absolute Locations are resolved, and every hop is resolved again."""
    httpx_mock.add_response(url=PAGE, status_code=301, headers={"Location": "/p/2"})
    httpx_mock.add_response(
        url="https://jobs.example.test/p/2",
        status_code=302,
        headers={"Location": "https://cdn.example.test/final#section"},
    )
    httpx_mock.add_response(url="https://cdn.example.test/final", html=HTML)
    looked_up: list[str] = []

    async def resolve(host: str, port: int) -> list[IPAddress]:
        looked_up.append(f"{host}:{port}")
        return [PUBLIC]

    page = await _fetch(PAGE, resolve)

    assert page.url == PAGE
    assert page.final_url == "https://cdn.example.test/final"
    assert [str(r.url) for r in httpx_mock.get_requests()] == [
        PAGE,
        "https://jobs.example.test/p/2",
        "https://cdn.example.test/final",
    ]
    assert looked_up == [
        "jobs.example.test:443",
        "jobs.example.test:443",
        "cdn.example.test:443",
    ]


async def test_fetch_cookies_from_one_hop_never_sent_on(httpx_mock: HTTPXMock) -> None:
    """A Set-Cookie is dropped: not sent on the next hop nor on a later fetch."""
    httpx_mock.add_response(
        url=PAGE,
        status_code=302,
        headers=[("Location", "/p/2"), ("Set-Cookie", "session=abc; Path=/")],
    )
    httpx_mock.add_response(url="https://jobs.example.test/p/2", html=HTML)
    httpx_mock.add_response(url="https://jobs.example.test/p/3", html=HTML)
    settings = _settings()

    async with build_fetch_client(settings) as client:
        fetcher = PageFetcher(client, settings, resolver=_resolver(str(PUBLIC)))
        await fetcher.fetch(PAGE)
        await fetcher.fetch("https://jobs.example.test/p/3")
        assert not client.cookies

    assert all("cookie" not in r.headers for r in httpx_mock.get_requests())


@pytest.mark.parametrize(
    "location",
    [
        "http://127.0.0.1/admin",
        "http://[::1]:8080/",
        "http://2130706433/",
        "http://169.254.169.254/latest/meta-data/",
        "http://metadata.google.internal/computeMetadata/v1/",
    ],
)
async def test_fetch_redirect_to_private_address_refused(
    httpx_mock: HTTPXMock, location: str
) -> None:
    """A public page redirecting to a local or metadata address is refused there."""
    httpx_mock.add_response(url=PAGE, status_code=302, headers={"Location": location})

    error = await _fetch_error(PAGE)

    assert error.reason == "blocked_address"
    assert not error.retryable
    assert len(httpx_mock.get_requests()) == 1


async def test_fetch_redirect_to_name_resolving_privately_refused(
    httpx_mock: HTTPXMock,
) -> None:
    """The second hop's name is resolved too, and refused when it is internal."""
    httpx_mock.add_response(
        url=PAGE, status_code=307, headers={"Location": "http://intranet.example.test/"}
    )

    async def resolve(host: str, port: int) -> list[IPAddress]:
        internal = host == "intranet.example.test"
        return [ip_address("10.0.0.1" if internal else str(PUBLIC))]

    error = await _fetch_error(PAGE, resolve)

    assert error.reason == "blocked_address"
    assert len(httpx_mock.get_requests()) == 1


@pytest.mark.parametrize(
    ("location", "reason"),
    [
        ("file:///etc/passwd", "unsupported_scheme"),
        ("gopher://jobs.example.test/", "unsupported_scheme"),
        ("http://user:secret@jobs.example.test/", "invalid_url"),
        ("http://1.2.3.08/", "invalid_url"),
        ("http://[::1/", "invalid_url"),
        ("http://0x7f.example.123/", "invalid_url"),
        ("/" + "a" * 2100, "invalid_url"),
    ],
)
async def test_fetch_redirect_to_unfetchable_url_refused(
    httpx_mock: HTTPXMock, location: str, reason: str
) -> None:
    """A redirect cannot switch to another scheme, carry credentials or a bad host."""
    httpx_mock.add_response(url=PAGE, status_code=302, headers={"Location": location})

    error = await _fetch_error(PAGE)

    assert error.reason == reason
    assert "secret" not in error.message


@pytest.mark.parametrize("limit", [0, 1, 5])
async def test_fetch_more_redirects_than_allowed_stops(
    httpx_mock: HTTPXMock, limit: int
) -> None:
    """At most SCRAPE_MAX_REDIRECTS redirects are followed; the next one stops it."""
    for hop in range(limit + 1):
        httpx_mock.add_response(
            url=f"https://jobs.example.test/hop/{hop}",
            status_code=302,
            headers={"Location": f"/hop/{hop + 1}"},
        )

    error = await _fetch_error(
        "https://jobs.example.test/hop/0", scrape_max_redirects=limit
    )

    assert error.reason == "too_many_redirects"
    assert len(httpx_mock.get_requests()) == limit + 1


async def test_fetch_redirect_chain_within_limit_succeeds(
    httpx_mock: HTTPXMock,
) -> None:
    """Exactly SCRAPE_MAX_REDIRECTS redirects are still followed."""
    for hop in range(5):
        httpx_mock.add_response(
            url=f"https://jobs.example.test/hop/{hop}",
            status_code=308,
            headers={"Location": f"/hop/{hop + 1}"},
        )
    httpx_mock.add_response(url="https://jobs.example.test/hop/5", html=HTML)

    page = await _fetch("https://jobs.example.test/hop/0", scrape_max_redirects=5)

    assert page.final_url == "https://jobs.example.test/hop/5"


async def test_fetch_redirect_loop_stopped(httpx_mock: HTTPXMock) -> None:
    """A loop is stopped at the first repeated URL, without using up the limit."""
    httpx_mock.add_response(url=PAGE, status_code=302, headers={"Location": "/p/2"})
    httpx_mock.add_response(
        url="https://jobs.example.test/p/2", status_code=302, headers={"Location": PAGE}
    )

    error = await _fetch_error(PAGE)

    assert error.reason == "redirect_loop"
    assert len(httpx_mock.get_requests()) == 2


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        ("text/html", "text/html"),
        ("TEXT/HTML; charset=utf-8", "text/html"),
        ("text/html; profile=x", "text/html"),
        ("application/xhtml+xml", "application/xhtml+xml"),
        ("text/plain; charset=utf-8", "text/plain"),
        (None, None),
    ],
)
async def test_fetch_accepted_content_types_read(
    httpx_mock: HTTPXMock, content_type: str | None, expected: str | None
) -> None:
    """HTML, XHTML, plain text and an undeclared type are read."""
    headers = {"Content-Type": content_type} if content_type else {}
    httpx_mock.add_response(url=PAGE, headers=headers, content=b"<p>hi</p>")

    page = await _fetch(PAGE)

    assert page.content_type == expected
    assert page.body == b"<p>hi</p>"


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "application/pdf", "image/png", "application/octet-stream"],
)
async def test_fetch_other_content_types_refused(
    httpx_mock: HTTPXMock, content_type: str
) -> None:
    """Anything that is not a page is refused before its body is read."""
    httpx_mock.add_response(url=PAGE, headers={"Content-Type": content_type})

    error = await _fetch_error(PAGE)

    assert error.reason == "unsupported_content_type"
    assert not error.retryable


@pytest.mark.parametrize(("charset", "expected"), [("UTF8", "utf-8"), ("nope", None)])
async def test_fetch_charset_normalised_or_dropped(
    httpx_mock: HTTPXMock, charset: str, expected: str | None
) -> None:
    """A known charset is given by its codec name; an unknown one as None."""
    httpx_mock.add_response(
        url=PAGE, headers={"Content-Type": f'text/html; charset="{charset}"'}
    )

    assert (await _fetch(PAGE)).encoding == expected


async def test_fetch_declared_length_over_limit_refused(httpx_mock: HTTPXMock) -> None:
    """A Content-Length over SCRAPE_MAX_BYTES is refused before reading."""
    httpx_mock.add_response(url=PAGE, html="x" * 101)

    error = await _fetch_error(PAGE, scrape_max_bytes=100)

    assert error.reason == "too_large"


async def test_fetch_body_exactly_at_limit_read(httpx_mock: HTTPXMock) -> None:
    """A body of exactly SCRAPE_MAX_BYTES is still accepted."""
    httpx_mock.add_response(url=PAGE, html="x" * 100)

    assert len((await _fetch(PAGE, scrape_max_bytes=100)).body) == 100


@pytest.mark.parametrize(
    ("coding", "compress"),
    [("gzip", gzip.compress), ("deflate", zlib.compress)],
)
async def test_fetch_compressed_body_decoded(
    httpx_mock: HTTPXMock, coding: str, compress: Callable[[bytes], bytes]
) -> None:
    """gzip and deflate bodies come back decoded."""
    httpx_mock.add_response(
        url=PAGE,
        headers={"Content-Type": "text/html", "Content-Encoding": coding},
        content=compress(HTML.encode()),
    )

    assert (await _fetch(PAGE)).body == HTML.encode()


async def test_fetch_compression_bomb_stopped_at_limit(httpx_mock: HTTPXMock) -> None:
    """A small gzip body inflating past the limit is refused without inflating it."""
    bomb = gzip.compress(b"\0" * 5_000_000)
    httpx_mock.add_response(
        url=PAGE,
        headers={"Content-Type": "text/html", "Content-Encoding": "gzip"},
        content=bomb,
    )

    error = await _fetch_error(PAGE, scrape_max_bytes=10_000)

    assert len(bomb) < 10_000
    assert error.reason == "too_large"


@pytest.mark.parametrize(
    ("coding", "reason"),
    [("br", "unsupported_content_encoding"), ("gzip", "bad_encoding")],
)
async def test_fetch_unusable_compression_refused(
    httpx_mock: HTTPXMock, coding: str, reason: str
) -> None:
    """An unrequested coding, or a corrupt gzip stream, is a clear error."""
    httpx_mock.add_response(
        url=PAGE,
        headers={"Content-Encoding": coding},
        stream=IteratorStream([b"not compressed"]),
    )

    assert (await _fetch_error(PAGE)).reason == reason


@pytest.mark.parametrize(
    ("status", "retryable"),
    [
        (404, False),
        (403, False),
        (410, False),
        (408, True),
        (429, True),
        (500, True),
        (502, True),
        (503, True),
        (304, False),
    ],
)
async def test_fetch_error_status_marks_retryable(
    httpx_mock: HTTPXMock, status: int, retryable: bool
) -> None:
    """Non-2xx answers fail; 408, 429 and 5xx may succeed later."""
    httpx_mock.add_response(url=PAGE, status_code=status, html="<p>no</p>")

    error = await _fetch_error(PAGE)

    assert (error.reason, error.status, error.retryable) == (
        "http_status",
        status,
        retryable,
    )
    assert str(status) in error.message


async def test_fetch_redirect_without_location_is_a_status_error(
    httpx_mock: HTTPXMock,
) -> None:
    """A 302 with no Location cannot be followed and is reported as such."""
    httpx_mock.add_response(url=PAGE, status_code=302)

    error = await _fetch_error(PAGE)

    assert (error.reason, error.status) == ("http_status", 302)


@pytest.mark.parametrize(
    ("exception", "reason"),
    [
        (httpx.ReadTimeout("slow"), "timeout"),
        (httpx.ConnectTimeout("slow"), "timeout"),
        (httpx.ConnectError("refused"), "connect_error"),
        (httpx.RemoteProtocolError("bad"), "network_error"),
        (httpx.ReadError("reset"), "network_error"),
    ],
)
async def test_fetch_transport_failures_retryable(
    httpx_mock: HTTPXMock, exception: Exception, reason: str
) -> None:
    """Timeouts and connection failures are wrapped as retryable fetch errors."""
    httpx_mock.add_exception(exception, url=PAGE)

    error = await _fetch_error(PAGE)

    assert (error.reason, error.retryable) == (reason, True)
    assert error.__cause__ is exception


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://127.0.0.1:8001/process-job-search",
        "http://[::1]/",
        "http://[::1]:8000/",
        "http://[::ffff:127.0.0.1]/",
        "http://[fe80::1]/",
        "http://[fc00::1]/",
        "http://2130706433/",
        "http://0x7f.1/",
        "http://017700000001/",
        "http://127.1/",
        "http://0.0.0.0/",
        "http://0/",
        "http://10.0.0.1/",
        "http://192.168.1.1/",
        "http://100.64.0.1/",
        "http://224.0.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/",
        "http://metadata.google.internal/computeMetadata/v1/",
    ],
)
async def test_fetch_local_or_metadata_host_refused_without_request(
    httpx_mock: HTTPXMock, url: str
) -> None:
    """Literal local, encoded and metadata hosts are refused before any request."""
    error = await _fetch_error(url)

    assert error.reason == "blocked_address"
    assert httpx_mock.get_requests() == []


@pytest.mark.parametrize(
    "addresses",
    [("10.0.0.1",), (str(PUBLIC), "10.0.0.1"), ("::1",), ("169.254.169.254",)],
)
async def test_fetch_name_resolving_to_any_private_address_refused(
    httpx_mock: HTTPXMock, addresses: tuple[str, ...]
) -> None:
    """A name is refused when any of its addresses is private, loopback or metadata."""
    error = await _fetch_error(PAGE, _resolver(*addresses))

    assert error.reason == "blocked_address"
    assert httpx_mock.get_requests() == []


async def test_fetch_metadata_refused_even_with_allow_private(
    httpx_mock: HTTPXMock,
) -> None:
    """SCRAPE_ALLOW_PRIVATE opens loopback for the demo, never the metadata service."""
    error = await _fetch_error(
        "http://169.254.169.254/latest/meta-data/", scrape_allow_private=True
    )

    assert error.reason == "blocked_address"
    assert httpx_mock.get_requests() == []


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://jobs.example.test/file", "unsupported_scheme"),
        ("javascript:alert(1)", "unsupported_scheme"),
        ("jobs.example.test/p/1", "unsupported_scheme"),
        ("http://user:secret@jobs.example.test/", "invalid_url"),
        ("http:///path-only", "invalid_url"),
        ("http://256.1.1.1/", "invalid_url"),
        ("https://jobs.example.test/" + "a" * 2100, "invalid_url"),
    ],
)
async def test_fetch_unfetchable_url_refused(
    httpx_mock: HTTPXMock, url: str, reason: str
) -> None:
    """Only http(s) URLs with a host and no credentials are fetched."""
    error = await _fetch_error(url)

    assert error.reason == reason
    assert "secret" not in error.message
    assert httpx_mock.get_requests() == []


@pytest.mark.parametrize(
    ("code", "retryable"), [(socket.EAI_NONAME, False), (socket.EAI_AGAIN, True)]
)
async def test_fetch_dns_failure_reported(
    httpx_mock: HTTPXMock, code: int, retryable: bool
) -> None:
    """An unknown name fails for good; a temporary resolver failure may be retried."""

    async def resolve(host: str, port: int) -> list[IPAddress]:
        raise socket.gaierror(code, "lookup failed")

    error = await _fetch_error(PAGE, resolve)

    assert (error.reason, error.retryable) == ("dns_error", retryable)


async def test_fetch_localhost_refused_by_system_resolver(
    httpx_mock: HTTPXMock,
) -> None:
    """The default resolver's answer for localhost is loopback, so it is refused."""
    settings = _settings()

    async with build_fetch_client(settings) as client:
        with pytest.raises(FetchError) as caught:
            await PageFetcher(client, settings).fetch("http://localhost:9/")

    assert caught.value.reason == "blocked_address"
    assert httpx_mock.get_requests() == []


async def test_fetch_name_without_addresses_refused(httpx_mock: HTTPXMock) -> None:
    """A resolver answer with no address is a DNS failure, not a pass."""
    error = await _fetch_error(PAGE, _resolver())

    assert error.reason == "dns_error"


class _FakeStream:
    """Stands in for httpcore's network stream in a mocked response."""

    def __init__(self, server_addr: Any) -> None:
        self._server_addr = server_addr

    def get_extra_info(self, info: str) -> Any:
        return self._server_addr if info == "server_addr" else None


@pytest.mark.parametrize(
    ("server_addr", "allowed"),
    [
        (("93.184.215.14", 443), True),
        (("127.0.0.1", 443), False),
        (("::1", 443, 0, 0), False),
        (("169.254.169.254", 80), False),
        (("not-an-address", 80), False),
        ("/run/app.sock", False),
        (None, False),
    ],
)
async def test_fetch_connected_address_checked_before_body(
    httpx_mock: HTTPXMock, server_addr: Any, allowed: bool
) -> None:
    """The address the socket really reached decides, whatever DNS said before."""

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            html=HTML,
            extensions={"network_stream": _FakeStream(server_addr)},
        )

    httpx_mock.add_callback(answer, url=PAGE)

    if allowed:
        assert (await _fetch(PAGE)).body == HTML.encode()
    else:
        assert (await _fetch_error(PAGE)).reason == "blocked_address"


def test_build_fetch_client_configured_for_untrusted_pages() -> None:
    """The shared client has timeouts, no redirects, no env proxies and a bot UA."""
    settings = _settings(scrape_timeout_seconds=7, scrape_user_agent="ua/1")

    client = build_fetch_client(settings)

    assert client.follow_redirects is False
    assert client.trust_env is False
    assert client.timeout.read == 7
    assert client.timeout.connect == 5
    assert client.headers["user-agent"] == "ua/1"
    assert "text/html" in client.headers["accept"]


def test_fetch_error_carries_reason_and_message() -> None:
    """FetchError is a project error with its fields and the message as text."""
    error = FetchError("too_large", "The page is too big.", status=None)

    assert str(error) == "The page is too big."
    assert (error.reason, error.retryable) == ("too_large", False)


# Real sockets on 127.0.0.1: behaviour that lives in the connection itself


class _LoopbackServer:
    """A raw HTTP/1.1 server on 127.0.0.1 answering every request with `reply`."""

    def __init__(self, reply: Reply) -> None:
        self.reply = reply
        self.requests: list[bytes] = []
        self.connections = 0
        self.port = 0
        self._tasks: set[asyncio.Task[None]] = set()

    async def handle(self, reader: asyncio.StreamReader, writer: Any) -> None:
        self.connections += 1
        self._tasks.add(asyncio.current_task())  # type: ignore[arg-type]
        try:
            for _ in range(10):
                self.requests.append(await reader.readuntil(b"\r\n\r\n"))
                await self.reply(writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


@contextlib.asynccontextmanager
async def _loopback(reply: Reply) -> AsyncIterator[_LoopbackServer]:
    state = _LoopbackServer(reply)
    server = await asyncio.start_server(state.handle, "127.0.0.1", 0)
    state.port = server.sockets[0].getsockname()[1]
    try:
        yield state
    finally:
        server.close()
        await state.stop()
        await server.wait_closed()


def _head(status: str, headers: Sequence[tuple[str, str]]) -> bytes:
    lines = [f"HTTP/1.1 {status}", *(f"{name}: {value}" for name, value in headers)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def _html_reply(writer: asyncio.StreamWriter) -> None:
    body = HTML.encode()
    writer.write(
        _head(
            "200 OK",
            [("Content-Type", "text/html"), ("Content-Length", str(len(body)))],
        )
        + body
    )
    await writer.drain()


async def _chunked_reply(writer: asyncio.StreamWriter) -> None:
    writer.write(
        _head(
            "200 OK", [("Content-Type", "text/html"), ("Transfer-Encoding", "chunked")]
        )
    )
    for _ in range(200):
        writer.write(b"400\r\n" + b"x" * 1024 + b"\r\n")
        await writer.drain()
    writer.write(b"0\r\n\r\n")


async def _metadata_redirect_reply(writer: asyncio.StreamWriter) -> None:
    location = "http://169.254.169.254/latest/meta-data/"
    writer.write(_head("302 Found", [("Location", location), ("Content-Length", "0")]))
    await writer.drain()


async def _silent_reply(writer: asyncio.StreamWriter) -> None:
    await asyncio.sleep(30)


async def _trickle_reply(writer: asyncio.StreamWriter) -> None:
    writer.write(
        _head("200 OK", [("Content-Type", "text/html"), ("Content-Length", "500")])
    )
    for _ in range(500):
        writer.write(b"x")
        await writer.drain()
        await asyncio.sleep(0.02)


async def test_loopback_allow_private_fetches_local_page() -> None:
    """With SCRAPE_ALLOW_PRIVATE=true the demo's 127.0.0.1 server is fetched."""
    async with _loopback(_html_reply) as server:
        url = f"http://127.0.0.1:{server.port}/job"
        page = await _fetch(url, scrape_allow_private=True)

    assert (page.status, page.body) == (200, HTML.encode())
    assert server.requests[0].startswith(b"GET /job HTTP/1.1\r\n")


async def test_loopback_redirect_to_metadata_refused_at_that_hop() -> None:
    """Even with private addresses allowed, a redirect to metadata is not followed."""
    async with _loopback(_metadata_redirect_reply) as server:
        url = f"http://127.0.0.1:{server.port}/job"
        error = await _fetch_error(url, scrape_allow_private=True)

    assert error.reason == "blocked_address"
    assert len(server.requests) == 1


async def test_loopback_local_page_refused_without_connecting() -> None:
    """By default 127.0.0.1 is refused before a connection is even opened."""
    async with _loopback(_html_reply) as server:
        error = await _fetch_error(f"http://127.0.0.1:{server.port}/")

    assert error.reason == "blocked_address"
    assert server.connections == 0


async def test_loopback_rebound_name_refused_before_request_sent() -> None:
    """A name that DNS said was public but connects to 127.0.0.1 gets no request."""
    async with _loopback(_html_reply) as server:
        url = f"http://localhost:{server.port}/"
        error = await _fetch_error(url, _resolver(str(PUBLIC)))
        await asyncio.sleep(0.05)

    assert error.reason == "blocked_address"
    assert server.connections == 1
    assert server.requests == []


async def test_loopback_reused_connection_checked_from_response() -> None:
    """A pooled connection: response's socket address is checked before the body."""
    async with _loopback(_html_reply) as server:
        url = f"http://localhost:{server.port}/"
        open_settings = _settings(scrape_allow_private=True)
        strict_settings = _settings()
        async with build_fetch_client(strict_settings) as client:
            await PageFetcher(client, open_settings).fetch(url)
            strict = PageFetcher(
                client, strict_settings, resolver=_resolver(str(PUBLIC))
            )
            with pytest.raises(FetchError) as caught:
                await strict.fetch(url)

    assert caught.value.reason == "blocked_address"
    assert server.connections == 1
    assert len(server.requests) == 2


async def test_loopback_streamed_body_without_length_stopped_at_limit() -> None:
    """A chunked body with no Content-Length is cut off once it passes the limit."""
    async with _loopback(_chunked_reply) as server:
        url = f"http://127.0.0.1:{server.port}/"
        error = await _fetch_error(
            url, scrape_allow_private=True, scrape_max_bytes=20_000
        )

    assert error.reason == "too_large"
    assert not error.retryable


async def test_loopback_silent_server_times_out() -> None:
    """A server that never answers ends in a retryable timeout."""
    async with _loopback(_silent_reply) as server:
        url = f"http://127.0.0.1:{server.port}/"
        error = await _fetch_error(
            url, scrape_allow_private=True, scrape_timeout_seconds=0.2
        )

    assert (error.reason, error.retryable) == ("timeout", True)


async def test_loopback_trickling_body_bounded_by_total_timeout() -> None:
    """Bytes arriving just often enough to dodge the read timeout still time out."""
    async with _loopback(_trickle_reply) as server:
        url = f"http://127.0.0.1:{server.port}/"
        error = await _fetch_error(
            url, scrape_allow_private=True, scrape_timeout_seconds=0.3
        )

    assert (error.reason, error.retryable) == ("timeout", True)


async def test_loopback_refused_connection_retryable() -> None:
    """A closed port gives a retryable connect_error."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    error = await _fetch_error(f"http://127.0.0.1:{port}/", scrape_allow_private=True)

    assert (error.reason, error.retryable) == ("connect_error", True)


@pytest.mark.parametrize(
    "location",
    ["mailto:a@b.example", "javascript:alert(1)", "about:blank", "data:,x", "tel:1"],
)
async def test_fetch_redirect_to_url_without_authority_is_invalid(
    location: str,
) -> None:
    """A Location that httpx cannot turn into a request is the page's own fault."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await send(
            {
                "type": "http.response.start",
                "status": 302,
                "headers": [(b"location", location.encode())],
            }
        )
        await send({"type": "http.response.body", "body": b""})

    settings = Settings(_env_file=None, scrape_allow_private=True)  # type: ignore[call-arg]
    async with BackgroundServer(app) as server, build_fetch_client(settings) as client:
        with pytest.raises(FetchError) as caught:
            await PageFetcher(client, settings).fetch(f"{server.url}/job")

    assert caught.value.reason in ("invalid_url", "unsupported_scheme")
    assert caught.value.retryable is False
