"""Hand-made requests on a raw socket: framing, sizes and encodings no client sends.

Each case writes its bytes in steps (a pause between some). A complete request must
be answered within `ANSWER_SECONDS`; an incomplete one ends with the client hanging
up. Either way a 5xx the app logged for the case counts against it, so a failure
the client never sees is still found.
"""

from __future__ import annotations

import json
import select
import socket
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal
from urllib.parse import urlsplit

from fuzz.harness import BODY_READ_SECONDS, LoggedRequest, RequestLog
from fuzz.report import Answer, Tally

ANSWER_SECONDS = 10.0
LOG_WAIT_SECONDS = 0.5
READ_LIMIT = 1 << 20
SLOW_PAUSE = 0.02
SLOW_CHUNKS = 32
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
LIMITS = {"producer": 16 * 1024, "sink": 256 * 1024}

Step = bytes | float | Callable[[socket.socket], None]
App = Literal["producer", "sink"]


@dataclass(frozen=True)
class RawCase:
    """One hand-made request: what to send, in steps; `incomplete` ones hang up."""

    name: str
    app: App
    steps: tuple[Step, ...]
    incomplete: bool = False


@dataclass(frozen=True)
class Endpoint:
    """Where an app listens, the path cases post to and its Authorization header."""

    app: App
    url: str
    path: str
    authorization: str


def search_body(app: App) -> bytes:
    """A valid body for the app's POST route."""
    if app == "producer":
        return json.dumps({"searchQuery": "python developer", "limit": 5}).encode()
    message = {
        "version": 1,
        "search_id": str(uuid.uuid4()),
        "query": "python developer",
        "urls": ["https://jobs.example.test/1"],
        "requested_at": datetime.now(UTC).isoformat(),
        "trace_id": "fuzz-raw",
    }
    return json.dumps(message).encode()


def cases(endpoint: Endpoint) -> list[RawCase]:
    """Every hand-made case for one app."""
    app = endpoint.app
    return [
        RawCase(name, app, tuple(steps)) for name, steps in _answered(endpoint).items()
    ] + [
        RawCase(name, app, tuple(steps), incomplete=True)
        for name, steps in _hung_up(endpoint).items()
    ]


def run_cases(endpoints: Sequence[Endpoint], log: RequestLog) -> dict[App, Tally]:
    """Run every case against each endpoint; one tally per app."""
    tallies: dict[App, Tally] = {}
    for endpoint in endpoints:
        tally = tallies.setdefault(endpoint.app, Tally(f"{endpoint.app} (raw socket)"))
        for case in cases(endpoint):
            answer = run_case(endpoint, case, log)
            tally.add(
                f"raw case {case.name!r}", answer, must_answer=not case.incomplete
            )
    return tallies


def run_case(endpoint: Endpoint, case: RawCase, log: RequestLog) -> Answer:
    """Send one case; a 5xx the app logged counts even when the client hung up."""
    logged_before = len(log.lines)
    host, port = _address(endpoint.url)
    answer = Answer(None)
    with socket.create_connection((host, port), timeout=ANSWER_SECONDS) as sock:
        if not _send_steps(sock, case.steps) or not case.incomplete:
            answer = _read_answer(sock)
    return _judge(answer, _new_lines(log, logged_before))


UVICORN_REFUSAL = b"Invalid HTTP request received."


def _judge(answer: Answer, logged: list[LoggedRequest]) -> Answer:
    worst = max((line.status for line in logged), default=0)
    if worst >= 500 and worst != answer.status:
        note = f"app logged {worst}; the client saw {answer.status}".encode()
        return Answer(worst, note)
    uvicorn_refusal = answer.body == UVICORN_REFUSAL
    if answer.status is not None and (
        uvicorn_refusal or all(line.status != answer.status for line in logged)
    ):
        # The server refused the bytes before (or while) the app saw the request.
        return Answer(answer.status, answer.body, protocol_level=True)
    return answer


def _answered(endpoint: Endpoint) -> dict[str, list[Step]]:
    body = search_body(endpoint.app)
    post = _head(endpoint, "POST", endpoint.path)
    auth = f"Authorization: {endpoint.authorization}\r\n".encode()
    json_type = b"Content-Type: application/json\r\n"
    base = post + auth + json_type
    half = len(body) // 2
    return {
        "chunked body": [
            base + b"Transfer-Encoding: chunked\r\n\r\n",
            _chunk(body[:half]),
            0.05,
            _chunk(body[half:]) + b"0\r\n\r\n",
        ],
        "chunked body with Upgrade: h2c": [
            base + b"Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
            b"HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n" + _chunk(body) + b"0\r\n\r\n"
        ],
        "chunked and Content-Length both": [
            base
            + b"Transfer-Encoding: chunked\r\n"
            + _length(len(body))
            + b"\r\n"
            + _chunk(body)
            + b"0\r\n\r\n"
        ],
        "bad chunk size": [base + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n"],
        "Content-Length not a number": [base + b"Content-Length: 12abc\r\n\r\n{}"],
        "Content-Length negative": [base + b"Content-Length: -1\r\n\r\n{}"],
        "body stalls half way": [
            base + _length(len(body)) + b"\r\n" + body[:half],
            BODY_READ_SECONDS + 0.5,
        ],
        "very large header (64 KiB)": [
            base
            + b"X-Filler: "
            + b"a" * 65536
            + b"\r\n"
            + _length(len(body))
            + b"\r\n"
            + body
        ],
        "many headers (2000)": [
            base
            + b"".join(b"X-H%d: v\r\n" % i for i in range(2000))
            + _length(len(body))
            + b"\r\n"
            + body
        ],
        "oversized bearer token (12 KiB)": [
            post
            + b"Authorization: Bearer "
            + b"e" * 12288
            + b"\r\n"
            + json_type
            + _length(len(body))
            + b"\r\n"
            + body
        ],
        "very long URL (64 KiB)": [
            _head(endpoint, "POST", endpoint.path + "?q=" + "a" * 65536)
            + auth
            + json_type
            + _length(len(body))
            + b"\r\n"
            + body
        ],
        **_body_cases(base, endpoint.app),
        "body over the limit declared": [base + b"Content-Length: 1000000000\r\n\r\n"],
        "body over the limit sent slowly": _slow_oversized(base, endpoint.app),
        "Expect: 100-continue": [
            base + b"Expect: 100-continue\r\n" + _length(len(body)) + b"\r\n",
            0.05,
            body,
        ],
        "HTTP/1.0 without Host": [
            f"POST {endpoint.path} HTTP/1.0\r\n".encode()
            + auth
            + json_type
            + _length(len(body))
            + b"\r\n"
            + body
        ],
        "header with bytes that are not UTF-8": [
            post
            + b"Authorization: Bearer \xff\xfe\xfd\r\n"
            + json_type
            + _length(len(body))
            + b"\r\n"
            + body
        ],
    }


def _body_cases(base: bytes, app: App) -> dict[str, list[Step]]:
    deep = 8000 if app == "producer" else 100_000
    bodies = {
        "deep JSON nesting (arrays)": b"[" * deep + b"]" * deep,
        "deep JSON nesting (objects)": b'{"a":' * (deep // 4)
        + b"1"
        + b"}" * (deep // 4),
        "duplicate keys": _duplicate_keys(app),
        "body not UTF-8": b'{"searchQuery": "\xff\xfe python"}',
        "lone surrogate in a string": _replace_query(app, '"\\ud800 python"'),
        "NUL character in a string": _replace_query(app, '"python\\u0000developer"'),
        "number with 5000 digits": b'{"searchQuery": "python", "limit": '
        + b"9" * 5000
        + b"}",
        "JSON scalar": b"42",
        "empty JSON array": b"[]",
        "empty body": b"",
    }
    return {
        name: [base + _length(len(body)) + b"\r\n" + body]
        for name, body in bodies.items()
    }


def _hung_up(endpoint: Endpoint) -> dict[str, list[Step]]:
    body = search_body(endpoint.app)
    base = (
        _head(endpoint, "POST", endpoint.path)
        + f"Authorization: {endpoint.authorization}\r\n".encode()
        + b"Content-Type: application/json\r\n"
    )
    half = len(body) // 2
    return {
        "body stops half way, write side shut": [
            base + _length(len(body)) + b"\r\n" + body[:half],
            _shut_write,
            0.05,
        ],
        "body stops half way, client closes": [
            base + _length(len(body)) + b"\r\n" + body[:half],
            0.05,
        ],
        "chunked body stops half way, client closes": [
            base + b"Transfer-Encoding: chunked\r\n\r\n" + b"100\r\n" + body[:10],
            0.05,
        ],
        "headers stop half way, client closes": [base[: len(base) // 2], 0.05],
    }


def _head(endpoint: Endpoint, method: str, target: str) -> bytes:
    host, port = _address(endpoint.url)
    request_line = f"{method} {target} HTTP/1.1\r\n"
    return f"{request_line}Host: {host}:{port}\r\nConnection: close\r\n".encode()


def _length(size: int) -> bytes:
    return b"Content-Length: %d\r\n" % size


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


def _duplicate_keys(app: App) -> bytes:
    if app == "producer":
        return b'{"searchQuery": "python", "searchQuery": "rust"}'
    return search_body(app)[:-1] + b', "query": "rust"}'


def _replace_query(app: App, literal: str) -> bytes:
    data = json.loads(search_body(app))
    key = "searchQuery" if app == "producer" else "query"
    data[key] = "__QUERY__"
    return json.dumps(data).replace('"__QUERY__"', literal).encode()


def _slow_oversized(base: bytes, app: App) -> list[Step]:
    """Twice the app's body limit, in small chunks with a pause between them."""
    chunk = _chunk(b" " * (2 * LIMITS[app] // SLOW_CHUNKS))
    steps: list[Step] = [base + b"Transfer-Encoding: chunked\r\n\r\n"]
    for _ in range(SLOW_CHUNKS):
        steps += [chunk, SLOW_PAUSE]
    return [*steps, b"0\r\n\r\n"]


def _shut_write(sock: socket.socket) -> None:
    sock.shutdown(socket.SHUT_WR)


def _send_steps(sock: socket.socket, steps: Sequence[Step]) -> bool:
    """Send every step; False when the server closed or answered before the end."""
    for step in steps:
        if isinstance(step, float):
            time.sleep(step)
        elif callable(step):
            step(sock)
        else:
            try:
                sock.sendall(step)
            except (BrokenPipeError, ConnectionResetError):
                return False
        if _answer_waiting(sock):
            return False
    return True


def _answer_waiting(sock: socket.socket) -> bool:
    """True once the server answered or closed; an interim 100 is read and skipped."""
    readable, _, _ = select.select([sock], [], [], 0)
    if not readable:
        return False
    try:
        peeked = sock.recv(len(CONTINUE), socket.MSG_PEEK)
    except OSError:
        return True
    if peeked != CONTINUE:
        return True
    sock.recv(len(CONTINUE))
    return False


def _read_answer(sock: socket.socket) -> Answer:
    data = bytearray()
    stop_at = time.monotonic() + ANSWER_SECONDS
    while len(data) < READ_LIMIT:
        sock.settimeout(max(stop_at - time.monotonic(), 0.01))
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            return _parse(bytes(data)) if data else Answer(None, timed_out=True)
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
        if _complete(bytes(data)):
            break
    return _parse(bytes(data))


def _complete(data: bytes) -> bool:
    while data.startswith(CONTINUE):
        data = data[len(CONTINUE) :]
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value.strip() or 0)
    return False


def _parse(data: bytes) -> Answer:
    """The final answer in `data`, skipping any `100 Continue`."""
    while data.startswith(CONTINUE):
        data = data[len(CONTINUE) :]
    if not data.startswith(b"HTTP/"):
        return Answer(None)
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    if b"transfer-encoding: chunked" in head.lower():
        body = _dechunk(body)
    return Answer(status, body)


def _dechunk(data: bytes) -> bytes:
    body = bytearray()
    while data:
        size_line, _, rest = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        body += rest[:size]
        data = rest[size + 2 :]
    return bytes(body)


def _new_lines(log: RequestLog, before: int) -> list[LoggedRequest]:
    """What the app logged since `before`, waiting briefly for its line to land."""
    stop_at = time.monotonic() + LOG_WAIT_SECONDS
    while len(log.lines) == before and time.monotonic() < stop_at:
        time.sleep(0.02)
    return list(log.lines[before:])


def _address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or 80
