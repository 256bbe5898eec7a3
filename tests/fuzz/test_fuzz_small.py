"""A small `make fuzz`: both apps on loopback under hostile input, and the extractor.

The full run is `python -m fuzz --budget 300`; this one keeps the same invariants
within a small, count-bounded budget and a fixed seed.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from fuzz.extractor import fuzz_extractor
from fuzz.harness import Credentials, Stack
from fuzz.rawsocket import App, Endpoint, RawCase, cases, run_case
from fuzz.report import Answer, Tally, names_problem
from fuzz.schema import Budget, Target, fuzz_app
from sink_app.pipeline.extract import extract_postings

SEED = 20261204
PATHS: dict[App, str] = {"producer": "/jobs-search", "sink": "/process-job-search"}
# Cases that once exposed a bug stay here as plain regressions.
KNOWN_BUGS: dict[str, str] = {}


@pytest.fixture(scope="module")
def credentials() -> Credentials:
    """Fresh secrets for the module's stack."""
    return Credentials()


@pytest.fixture(scope="module")
def stack(
    tmp_path_factory: pytest.TempPathFactory, credentials: Credentials
) -> Iterator[Stack]:
    """Emulator REST, producer and sink on 127.0.0.1 for the whole module."""
    with Stack(tmp_path_factory.mktemp("fuzz"), credentials) as running:
        yield running


def endpoint(stack: Stack, credentials: Credentials, app: App) -> Endpoint:
    """Where raw cases for `app` go, with the right credentials."""
    if app == "producer":
        return Endpoint(app, stack.producer_url, PATHS[app], _user(credentials))
    return Endpoint(app, stack.sink_url, PATHS[app], f"Bearer {credentials.sink_token}")


def _user(credentials: Credentials) -> str:
    return f"Bearer {credentials.user_jwt()}"


def _raw_params() -> list[Any]:
    params = []
    for app in PATHS:
        unbound = Endpoint(app, "http://127.0.0.1:9", PATHS[app], "Bearer -")
        for case in cases(unbound):
            bug = KNOWN_BUGS.get(case.name)
            marks = [pytest.mark.xfail(strict=True, reason=bug)] if bug else []
            params.append(
                pytest.param(app, case.name, marks=marks, id=f"{app}: {case.name}")
            )
    return params


def _case(point: Endpoint, name: str) -> RawCase:
    [case] = [case for case in cases(point) if case.name == name]
    return case


@pytest.mark.parametrize(("app", "name"), _raw_params())
def test_raw_case_hostile_request_answered_without_5xx_or_hang(
    stack: Stack, credentials: Credentials, app: App, name: str
) -> None:
    """Each hand-made request is answered (or closed) in time, never with a 5xx."""
    point = endpoint(stack, credentials, app)
    case = _case(point, name)

    answer = run_case(point, case, stack.requests)

    assert not answer.timed_out
    assert answer.status is None or answer.status < 500, answer.body
    if not case.incomplete:
        assert answer.status is not None
    if answer.status and answer.status >= 400 and not answer.protocol_level:
        assert names_problem(answer.body), answer.body


@pytest.mark.parametrize(
    ("name", "status"),
    [
        ("body over the limit sent slowly", 413),
        ("body stalls half way", 408),
        ("body over the limit declared", 413),
        ("deep JSON nesting (arrays)", 400),
        ("body not UTF-8", 400),
        ("oversized bearer token (12 KiB)", 401),
    ],
)
@pytest.mark.parametrize("app", list(PATHS))
def test_raw_case_refused_with_named_status(
    stack: Stack, credentials: Credentials, app: App, name: str, status: int
) -> None:
    """Limits and malformed bodies get their documented status, not just any 4xx."""
    point = endpoint(stack, credentials, app)

    answer = run_case(point, _case(point, name), stack.requests)

    assert answer.status == status


@pytest.mark.parametrize("app", list(PATHS))
def test_schema_fuzz_small_budget_breaks_no_invariant(
    stack: Stack, credentials: Credentials, app: App
) -> None:
    """schemathesis cases with right, missing and wrong credentials: no 5xx, hang,
    dropped connection or 4xx without a JSON error."""
    if app == "producer":
        url, right, wrong = stack.producer_url, _user(credentials), Credentials()
        variants = {"right": right, "none": None, "wrong": _user(wrong)}
    else:
        url, token = stack.sink_url, credentials.sink_token
        variants = {"right": f"Bearer {token}", "none": None, "wrong": "Bearer x"}

    tally = fuzz_app(Target(app, url, variants), Budget(4, 25.0, SEED))

    assert tally.failures == 0, "\n".join(tally.lines())
    assert tally.tried >= 40
    assert any(200 <= status < 300 for status in tally.statuses)
    assert tally.statuses[401] > 0


def test_extractor_fuzz_no_exception_escapes() -> None:
    """Random, cut and broken pages: nothing raised, nothing swallowed by the guard."""
    figures = fuzz_extractor(250, 30.0, SEED)

    assert figures.calls == 250
    assert figures.escaped == []
    assert not figures.guarded
    assert figures.postings > 0


@pytest.mark.parametrize("reference", ['{"@id": []}', '{"@id": {}}'])
def test_extract_reference_with_non_string_id_keeps_the_posting(reference: str) -> None:
    """A malformed reference inside a posting costs that field, not the page."""
    block = f'{{"@type": "JobPosting", "title": "Dev", "validThrough": {reference}}}'
    html = f'<script type="application/ld+json">{block}</script><h1>Job</h1>'

    found = extract_postings(html, "https://jobs.example.test/1")

    assert not [note for note in found.notes if note.startswith("extraction failed")]
    assert [posting.title for posting in found.postings] == ["Dev"]


def test_sink_timestamp_out_of_range_refused_with_422(
    stack: Stack, credentials: Credentials
) -> None:
    """A legacy record dated before year 1 in UTC is an invalid message."""
    record = {
        "searchQuery": "python",
        "timestamp": "0001-01-01T00:00:04+01:02",
        "userId": str(uuid.uuid4()),
    }

    response = requests.post(
        f"{stack.sink_url}/process-job-search",
        data=json.dumps(record),
        headers={
            "Authorization": f"Bearer {credentials.sink_token}",
            "Content-Type": "application/json",
        },
        timeout=30,
    )

    assert response.status_code == 422


@pytest.mark.parametrize(
    ("answer", "counted"),
    [
        (Answer(500, b"{}"), "server_errors"),
        (Answer(None, timed_out=True), "hangs"),
        (Answer(404, b"not found"), "unnamed_4xx"),
        (Answer(422, b'{"error": "x"}'), "unnamed_4xx"),
        (Answer(None), "dropped"),
    ],
)
def test_tally_broken_invariant_counted_as_failure(
    answer: Answer, counted: str
) -> None:
    """The tally the fuzzers rely on notices each kind of broken invariant."""
    tally = Tally("app")

    tally.add("case", answer)

    assert tally.failures == 1
    assert len(getattr(tally, counted)) == 1


@pytest.mark.parametrize(
    "answer",
    [
        Answer(202, b"{}"),
        Answer(401, b'{"error": "unauthorized", "message": "no token"}'),
        Answer(400, b"Invalid HTTP request received.", protocol_level=True),
    ],
)
def test_tally_sound_answer_not_a_failure(answer: Answer) -> None:
    """2xx, named 4xx and uvicorn's own protocol refusals break nothing."""
    tally = Tally("app")

    tally.add("case", answer)

    assert tally.failures == 0
