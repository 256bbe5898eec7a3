"""The keyless fetcher: read one web page with the limits a public webhook needs.

Redirects are followed here rather than by httpx so that every hop is checked against
the address policy, before DNS (the URL host), after DNS (every resolved address) and
at the socket (the address actually connected to, which defeats DNS rebinding).
Bodies are streamed and decompressed by hand so that no page, compressed or not, can
hold more than `SCRAPE_MAX_BYTES` in memory.
"""

from __future__ import annotations

import asyncio
import codecs
import socket
import zlib
from dataclasses import dataclass, replace
from http.cookiejar import CookieJar, DefaultCookiePolicy
from ipaddress import ip_address
from typing import Any, Protocol

import httpx

from jobsearch.errors import JobSearchError
from jobsearch.settings import Settings
from sink_app.pipeline.netguard import (
    AddressPolicy,
    IPAddress,
    Resolver,
    parse_ip_host,
    system_resolver,
)

ACCEPTED_CONTENT_TYPES = frozenset({"text/html", "application/xhtml+xml", "text/plain"})
MAX_URL_LENGTH = 2048

_ACCEPT = "text/html,application/xhtml+xml;q=0.9,text/plain;q=0.8"
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_RETRYABLE_STATUSES = frozenset({408, 425, 429})
_SCHEMES = frozenset({"http", "https"})
_DEFAULT_PORTS = {"http": 80, "https": 443}
_CONNECTED = "connection.connect_tcp.complete"


@dataclass(frozen=True)
class Page:
    """One fetched page: the bytes as served, and where they finally came from."""

    url: str
    final_url: str
    status: int
    content_type: str | None
    body: bytes
    encoding: str | None


class FetchError(JobSearchError):
    """A page could not be fetched; `reason` is a short code, `message` one sentence."""

    def __init__(
        self,
        reason: str,
        message: str,
        *,
        retryable: bool = False,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.retryable = retryable
        self.status = status


def build_fetch_client(settings: Settings) -> httpx.AsyncClient:
    """The one client every page fetch shares; redirects are left to PageFetcher."""
    timeout = settings.scrape_timeout_seconds
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
        follow_redirects=False,
        limits=httpx.Limits(
            max_connections=32, max_keepalive_connections=8, keepalive_expiry=15.0
        ),
        headers={
            "User-Agent": settings.scrape_user_agent,
            "Accept": _ACCEPT,
            "Accept-Encoding": "gzip, deflate",
        },
        # Pages of different users share this client: keep no cookies between them.
        cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),
        # No proxies or .netrc credentials from the environment.
        trust_env=False,
    )


class PageReader(Protocol):
    """Anything that turns a URL into a `Page`: this fetcher, or a scraping service."""

    async def fetch(self, url: str) -> Page:
        """The page at `url`; raises `FetchError` when it cannot be read."""


class PageFetcher:
    """Fetch pages through the shared client under size, redirect and address rules."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        settings: Settings,
        *,
        resolver: Resolver = system_resolver,
    ) -> None:
        self._client = client
        self._policy = AddressPolicy(allow_private=settings.scrape_allow_private)
        self._resolver = resolver
        self._max_bytes = settings.scrape_max_bytes
        self._max_redirects = settings.scrape_max_redirects
        self._timeout = settings.scrape_timeout_seconds

    async def fetch(self, url: str) -> Page:
        """Fetch `url`, following checked redirects; raises FetchError on any refusal.

        The whole fetch, redirects and DNS included, is bounded by
        `SCRAPE_TIMEOUT_SECONDS`, so a server trickling bytes cannot hold it longer.
        """
        try:
            async with asyncio.timeout(self._timeout):
                return await self._follow(url)
        except TimeoutError as exc:
            raise _timeout_error() from exc

    async def _follow(self, url: str) -> Page:
        target = _parse_url(url)
        visited = {target}
        for _ in range(self._max_redirects + 1):
            await self._check_destination(target)
            outcome = await self._request(target)
            if isinstance(outcome, Page):
                return replace(outcome, url=url)
            if outcome in visited:
                raise FetchError("redirect_loop", "The page redirects in a loop.")
            visited.add(outcome)
            target = outcome
        raise FetchError(
            "too_many_redirects",
            f"The page redirects more than {self._max_redirects} times.",
        )

    async def _check_destination(self, url: httpx.URL) -> None:
        host = url.raw_host.decode("ascii")
        try:
            literal = parse_ip_host(host)
        except ValueError as exc:
            raise FetchError("invalid_url", "The URL host is malformed.") from exc
        if literal is not None:
            self._require_allowed([literal])
            return
        if not self._policy.allows_hostname(host):
            raise _blocked_error()
        port = url.port or _DEFAULT_PORTS[url.scheme]
        self._require_allowed(await self._resolve(host, port))

    async def _resolve(self, host: str, port: int) -> list[IPAddress]:
        try:
            addresses = list(await self._resolver(host, port))
        except socket.gaierror as exc:
            transient = exc.errno == socket.EAI_AGAIN
            raise FetchError(
                "dns_error",
                "The page's host name did not resolve.",
                retryable=transient,
            ) from exc
        if not addresses:
            raise FetchError("dns_error", "The page's host name has no address.")
        return addresses

    def _require_allowed(self, addresses: list[IPAddress]) -> None:
        if not all(self._policy.allows_address(address) for address in addresses):
            raise _blocked_error()

    async def _request(self, url: httpx.URL) -> Page | httpx.URL:
        extensions = {"trace": self._check_new_connection}
        try:
            async with self._client.stream(
                "GET", url, extensions=extensions
            ) as response:
                self._check_peer(response)
                if _is_redirect(response):
                    return _redirect_target(response)
                return await self._read_page(response)
        except httpx.TimeoutException as exc:
            raise _timeout_error() from exc
        except httpx.ConnectError as exc:
            raise FetchError(
                "connect_error",
                "Could not connect to the page's server.",
                retryable=True,
            ) from exc
        except httpx.RemoteProtocolError as exc:
            if isinstance(exc.__context__, httpx.InvalidURL):
                # httpx parses Location even with redirects off, raising this for a
                # malformed one; that is the page's fault and will not heal.
                raise _bad_redirect_error() from exc
            raise _network_error() from exc
        except httpx.TransportError as exc:
            raise _network_error() from exc
        except httpx.InvalidURL as exc:
            # httpx builds the next request of a redirect even with redirects off,
            # so a Location such as `mailto:` fails here; the page will not heal.
            raise _bad_redirect_error() from exc

    async def _check_new_connection(self, event: str, info: dict[str, Any]) -> None:
        # httpcore reports each new TCP connection before a byte of the request is
        # written, so a rebound name is refused before the request reaches it.
        stream = info.get("return_value")
        if event != _CONNECTED or stream is None:
            return
        if not self._peer_allowed(stream):
            await stream.aclose()
            raise _blocked_error()

    def _check_peer(self, response: httpx.Response) -> None:
        stream = response.extensions.get("network_stream")
        if stream is None:
            return  # in-memory transports (tests) have no socket to check
        if not self._peer_allowed(stream):
            raise _blocked_error()

    def _peer_allowed(self, stream: Any) -> bool:
        peer = stream.get_extra_info("server_addr")
        if not isinstance(peer, tuple) or not peer:
            return False
        try:
            address = ip_address(str(peer[0]))
        except ValueError:
            return False
        return self._policy.allows_address(address)

    async def _read_page(self, response: httpx.Response) -> Page:
        _require_success(response)
        content_type, encoding = _parse_content_type(
            response.headers.get("content-type")
        )
        if content_type is not None and content_type not in ACCEPTED_CONTENT_TYPES:
            raise FetchError(
                "unsupported_content_type", "The page is not HTML or plain text."
            )
        body = await _read_body(response, self._max_bytes)
        return Page(
            url=str(response.request.url),
            final_url=str(response.url),
            status=response.status_code,
            content_type=content_type,
            body=body,
            encoding=encoding,
        )


class _Decoder:
    """Undo one content coding, never producing more than asked for."""

    def __init__(self, coding: str) -> None:
        # wbits 32+ accepts both gzip and zlib headers, which covers "deflate" too.
        self._zlib = None if coding == "identity" else zlib.decompressobj(47)

    def feed(self, data: bytes, budget: int) -> bytes:
        """Decoded bytes of `data`; more than `budget - 1` means the page is too big."""
        if self._zlib is None:
            return data
        try:
            return self._zlib.decompress(data, budget)
        except zlib.error as exc:
            raise FetchError(
                "bad_encoding", "The page's compression is corrupt."
            ) from exc


async def _read_body(response: httpx.Response, limit: int) -> bytes:
    _reject_declared_length(response, limit)
    decoder = _Decoder(_content_coding(response))
    body = bytearray()
    received = 0
    async for chunk in response.aiter_raw():
        received += len(chunk)
        body += decoder.feed(chunk, limit - len(body) + 1)
        if received > limit or len(body) > limit:
            raise _too_large_error(limit)
    return bytes(body)


def _reject_declared_length(response: httpx.Response, limit: int) -> None:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large_error(limit)


def _content_coding(response: httpx.Response) -> str:
    coding = str(response.headers.get("content-encoding", "identity")).strip().lower()
    if coding in ("", "identity"):
        return "identity"
    if coding in ("gzip", "x-gzip", "deflate"):
        return coding
    raise FetchError(
        "unsupported_content_encoding", "The page uses an unsupported compression."
    )


def _parse_url(url: str) -> httpx.URL:
    if len(url) > MAX_URL_LENGTH:
        raise FetchError("invalid_url", "The URL is too long.")
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise FetchError("invalid_url", "The URL cannot be parsed.") from exc
    return _validated(parsed)


def _validated(url: httpx.URL) -> httpx.URL:
    if url.scheme not in _SCHEMES:
        raise FetchError("unsupported_scheme", "Only http and https URLs are fetched.")
    if not url.raw_host:
        raise FetchError("invalid_url", "The URL has no host.")
    if url.userinfo:
        raise FetchError("invalid_url", "URLs with credentials are not fetched.")
    return url


def _is_redirect(response: httpx.Response) -> bool:
    return response.status_code in _REDIRECT_STATUSES and bool(
        response.headers.get("location")
    )


def _redirect_target(response: httpx.Response) -> httpx.URL:
    location = response.headers["location"]
    try:
        target = response.url.join(location)
    except httpx.InvalidURL as exc:
        raise _bad_redirect_error() from exc
    if len(str(target)) > MAX_URL_LENGTH:
        raise FetchError("invalid_url", "The page redirects to a URL that is too long.")
    return _validated(target.copy_with(fragment=None))


def _require_success(response: httpx.Response) -> None:
    status = response.status_code
    if 200 <= status < 300:
        return
    retryable = status in _RETRYABLE_STATUSES or status >= 500
    raise FetchError(
        "http_status",
        f"The page answered HTTP {status}.",
        retryable=retryable,
        status=status,
    )


def _parse_content_type(value: str | None) -> tuple[str | None, str | None]:
    if not value or not value.strip():
        return None, None
    media_type, *params = value.split(";")
    charset = None
    for param in params:
        name, _, raw = param.partition("=")
        if name.strip().lower() == "charset":
            charset = _known_codec(raw.strip().strip("\"'"))
    return media_type.strip().lower(), charset


def _known_codec(name: str) -> str | None:
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def _blocked_error() -> FetchError:
    return FetchError(
        "blocked_address", "The page's address is private, local or reserved."
    )


def _timeout_error() -> FetchError:
    return FetchError("timeout", "The page took too long to answer.", retryable=True)


def _too_large_error(limit: int) -> FetchError:
    return FetchError("too_large", f"The page is larger than {limit} bytes.")


def _bad_redirect_error() -> FetchError:
    return FetchError("invalid_url", "The page redirects to a malformed URL.")


def _network_error() -> FetchError:
    return FetchError(
        "network_error", "The connection to the page failed.", retryable=True
    )
