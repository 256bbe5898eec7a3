"""The load generator: fixed concurrency, warm-up, fixed duration, in its own process.

aiohttp's client is several times faster than httpx's, so the generator is not what
bounds the apps it measures. Prints one JSON object on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections import Counter

import aiohttp


async def _worker(
    session: aiohttp.ClientSession,
    url: str,
    body: bytes,
    stop_at: float,
    measure_from: float,
    samples: list[float],
    outcomes: Counter[str],
) -> None:
    headers = {"Content-Type": "application/json"}
    while (started := time.monotonic()) < stop_at:
        try:
            async with session.post(url, data=body, headers=headers) as response:
                payload = await response.read()
                outcome = str(response.status)
                if response.status >= 400:
                    outcome += ":" + _error_name(payload)
        except aiohttp.ClientError as exc:
            outcome = type(exc).__name__
        if started >= measure_from:
            samples.append(time.monotonic() - started)
            outcomes[outcome] += 1


def _error_name(payload: bytes) -> str:
    try:
        return str(json.loads(payload).get("error", ""))
    except (ValueError, AttributeError):
        return ""


async def run(
    url: str, body: bytes, concurrency: int, warmup: float, duration: float
) -> dict[str, object]:
    """Drive `url` and summarise what was answered after the warm-up."""
    samples: list[float] = []
    outcomes: Counter[str] = Counter()
    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        now = time.monotonic()
        measure_from, stop_at = now + warmup, now + warmup + duration
        await asyncio.gather(
            *(
                _worker(session, url, body, stop_at, measure_from, samples, outcomes)
                for _ in range(concurrency)
            )
        )
    samples.sort()
    return {
        "requests": len(samples),
        "rps": len(samples) / duration,
        "p50_ms": _quantile(samples, 0.50) * 1000,
        "p99_ms": _quantile(samples, 0.99) * 1000,
        "outcomes": dict(outcomes),
        "concurrency": concurrency,
        "duration_s": duration,
    }


def _quantile(samples: list[float], q: float) -> float:
    if not samples:
        return 0.0
    return samples[min(len(samples) - 1, int(q * len(samples)))]


def main() -> None:
    """`python -m bench.load URL --concurrency N --warmup S --duration S --body B`."""
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--body", default="{}")
    args = parser.parse_args()
    result = asyncio.run(
        run(args.url, args.body.encode(), args.concurrency, args.warmup, args.duration)
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
