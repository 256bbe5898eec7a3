"""Model calls and tokens per posting, through the OpenAI enricher and a mock model.

The mock answers every field with null, so the enricher's own rule decides which
postings cost a call. It counts tokens as characters / 4 (no tokenizer is installed),
so token figures are estimates; call counts are exact.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx2
from openai import AsyncOpenAI
from pydantic import SecretStr

from sink_app.pipeline.enrich import LocalEnricher
from sink_app.pipeline.extract import extract_postings
from sink_app.pipeline.openai_enrich import (
    OpenAIConfig,
    OpenAIEnricher,
    missing_fields,
)


def _null_answer(request: httpx2.Request) -> httpx2.Response:
    body = json.loads(request.content)
    schema = body["response_format"]["json_schema"]["schema"]
    answer: dict[str, object] = {
        name: [] if spec.get("type") == "array" else None
        for name, spec in schema["properties"].items()
    }
    prompt = sum(len(m["content"]) for m in body["messages"])
    content = json.dumps(answer)
    return httpx2.Response(
        200,
        json={
            "id": "chatcmpl-bench",
            "object": "chat.completion",
            "created": 0,
            "model": body["model"],
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "logprobs": None,
                    "message": {
                        "role": "assistant",
                        "content": content,
                        "refusal": None,
                    },
                }
            ],
            "usage": {
                "prompt_tokens": prompt // 4,
                "completion_tokens": len(content) // 4,
                "total_tokens": (prompt + len(content)) // 4,
            },
        },
    )


async def _measure(folder: Path) -> dict[str, Any]:
    transport = httpx2.MockTransport(_null_answer)
    client = AsyncOpenAI(
        api_key="sk-bench",
        base_url="http://openai.example.test/v1",
        http_client=httpx2.AsyncClient(transport=transport),
        max_retries=0,
    )
    enricher = OpenAIEnricher(client, OpenAIConfig(api_key=SecretStr("sk-bench")))
    postings = complete = complete_calls = 0
    for page in sorted(folder.glob("*.html")):  # noqa: ASYNC240 - a bench, not a server
        url = f"https://pages.example.test/{page.name}"
        for posting in extract_postings(page.read_bytes(), url).postings:
            before = enricher.usage.calls
            await enricher.enrich(posting, page_text=posting.description)
            postings += 1
            # Complete: nothing left to ask once structured data and the free local
            # pass (vocabulary skills, seniority from the title) have run.
            local = await LocalEnricher().enrich(posting, page_text=posting.description)
            if not missing_fields(local):
                complete += 1
                complete_calls += enricher.usage.calls - before
    await client.close()
    usage = enricher.usage
    per = max(postings, 1)
    return {
        "folder": str(folder),
        "postings": postings,
        "model_calls": usage.calls,
        "calls_per_posting": usage.calls / per,
        "input_tokens_per_posting_est": usage.input_tokens / per,
        "output_tokens_per_posting_est": usage.output_tokens / per,
        "complete_postings": complete,
        "calls_for_complete_postings": complete_calls,
    }


def measure(folders: list[Path]) -> list[dict[str, Any]]:
    """One cost summary per folder of saved pages that exists."""
    return [asyncio.run(_measure(f)) for f in folders if f.is_dir()]
