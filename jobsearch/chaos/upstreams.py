"""Upstream stand-ins with faults: the job pages a search reads and the model.

Both count their *paid* answers: a 200 that the upstream did the work for. A timeout
fault answers 504 after the caller has given up, so it is never counted; a malformed
answer is a 200 and is counted, as a real provider would bill it.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections import Counter
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from jobsearch.chaos.faults import Dice

PAGE_FAULTS = ("rate_limited", "server_error", "slow", "timeout", "malformed")
MODEL_FAULTS = ("rate_limited", "server_error", "timeout", "malformed")
_TITLE = re.compile(r"^Title: (.*)$", re.MULTILINE)


def page_path(search: int, page: int) -> str:
    """The page server path of one page of one search."""
    return f"/s/{search}/{page}"


def job_page(search: int, page: int) -> str:
    """A job page whose JSON-LD names a posting unique to (search, page)."""
    posting = {
        "@context": "https://schema.org",
        "@type": "JobPosting",
        "title": f"Chaos engineer {search}-{page}",
        "datePosted": "2026-11-02",
        "employmentType": "FULL_TIME",
        "hiringOrganization": {"@type": "Organization", "name": "Chaos Works"},
        "jobLocation": {
            "@type": "Place",
            "address": {"@type": "PostalAddress", "addressLocality": "Berlin"},
        },
        "url": f"https://jobs.example.test/chaos/{search}/{page}",
        "description": "<p>Run Python services on PostgreSQL and Kafka.</p>",
    }
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{posting['title']}</title>"
        f"<script type='application/ld+json'>{json.dumps(posting)}</script>"
        f"</head><body><h1>{posting['title']}</h1></body></html>"
    )


class PageServer:
    """Serves `job_page` at `page_path`, failing as its dice say."""

    def __init__(self, dice: Dice, *, slow_seconds: float, hang_seconds: float) -> None:
        self.dice = dice
        self.slow_seconds = slow_seconds
        self.hang_seconds = hang_seconds
        self.paid: Counter[str] = Counter()
        self.app = Starlette(routes=[Route("/s/{search:int}/{page:int}", self._page)])

    async def _page(self, request: Request) -> Response:
        search = int(request.path_params["search"])
        page = int(request.path_params["page"])
        fault = self.dice.roll()
        if fault == "rate_limited":
            return Response("slow down", 429, {"Retry-After": "1"})
        if fault == "server_error":
            return Response("upstream broke", 503)
        if fault == "timeout":
            await asyncio.sleep(self.hang_seconds)
            return Response("gave up", 504)
        if fault == "slow":
            await asyncio.sleep(self.slow_seconds)
        body = job_page(search, page)
        if fault == "malformed":
            body = body[: len(body) // 3]
        self.paid[page_path(search, page)] += 1
        return Response(body, 200, media_type="text/html; charset=utf-8")


class ModelServer:
    """An OpenAI chat-completions stand-in answering structured output requests."""

    def __init__(self, dice: Dice, *, hang_seconds: float) -> None:
        self.dice = dice
        self.hang_seconds = hang_seconds
        self.paid: Counter[str] = Counter()
        self.app = Starlette(
            routes=[Route("/v1/chat/completions", self._complete, methods=["POST"])]
        )

    async def _complete(self, request: Request) -> Response:
        body = await request.json()
        fault = self.dice.roll()
        if fault == "rate_limited":
            return _model_error(429, "rate_limit_exceeded", {"retry-after-ms": "20"})
        if fault == "server_error":
            return _model_error(500, "server_error")
        if fault == "timeout":
            await asyncio.sleep(self.hang_seconds)
            return _model_error(504, "timeout")
        content = json.dumps(_answer(body))
        if fault == "malformed":
            content = content[: len(content) // 2]
        self.paid[_posting_title(body)] += 1
        return JSONResponse(_completion(body, content))


def _model_error(
    status: int, code: str, headers: dict[str, str] | None = None
) -> Response:
    error = {"message": f"injected {code}", "type": "requests", "code": code}
    return JSONResponse({"error": error}, status, headers)


def _posting_title(body: dict[str, Any]) -> str:
    messages = body.get("messages") or [{}]
    found = _TITLE.search(str(messages[-1].get("content", "")))
    return found.group(1) if found else "?"


def _answer(body: dict[str, Any]) -> dict[str, Any]:
    """A value for every field the request's JSON schema asks for."""
    schema = body.get("response_format", {}).get("json_schema", {}).get("schema", {})
    canned: dict[str, Any] = {
        "skills": ["Python", "Kafka"],
        "seniority": "Senior",
        "summary": "Runs Python services.",
    }
    return {name: canned.get(name) for name in schema.get("properties", {})}


def _completion(body: dict[str, Any], content: str) -> dict[str, Any]:
    message = {"role": "assistant", "content": content, "refusal": None}
    return {
        "id": "chatcmpl-chaos",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": body.get("model", "chaos"),
        "choices": [{"index": 0, "finish_reason": "stop", "message": message}],
        "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
    }
