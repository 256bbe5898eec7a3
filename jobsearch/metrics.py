"""Prometheus metrics, one registry per app so two apps in one process stay apart."""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from starlette.requests import Request
from starlette.responses import Response

# Anything else a client sends is one label, so requests cannot grow the series.
KNOWN_METHODS = frozenset({"GET", "POST", "OPTIONS", "HEAD", "PUT", "PATCH", "DELETE"})
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)
STAGE_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 25)


class Metrics:
    """The metrics both apps expose at `GET /metrics`."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "jobsearch_http_requests",
            "HTTP requests by route and status.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "jobsearch_http_request_duration_seconds",
            "HTTP request latency by route.",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.produce = Counter(
            "jobsearch_produce_outcomes",
            "Produce attempts by outcome code.",
            ["outcome"],
            registry=self.registry,
        )
        self.deliveries = Counter(
            "jobsearch_sink_deliveries",
            "Sink deliveries by outcome.",
            ["outcome"],
            registry=self.registry,
        )
        self.stage = Histogram(
            "jobsearch_pipeline_stage_duration_seconds",
            "Pipeline stage durations.",
            ["stage"],
            buckets=STAGE_BUCKETS,
            registry=self.registry,
        )
        self.paid_calls = Counter(
            "jobsearch_paid_calls",
            "Calls to paid providers.",
            ["provider"],
            registry=self.registry,
        )
        self.tokens = Counter(
            "jobsearch_model_tokens",
            "Model tokens used.",
            ["provider", "kind"],
            registry=self.registry,
        )

    def observe_request(
        self, route: str, method: str, status: int, seconds: float
    ) -> None:
        """Count one finished request; unknown methods share one label."""
        known = method if method in KNOWN_METHODS else "other"
        self.requests.labels(route, known, str(status)).inc()
        self.latency.labels(route).observe(seconds)


async def metrics_endpoint(request: Request) -> Response:
    """`GET /metrics` in the Prometheus text format."""
    metrics: Metrics = request.app.state.metrics
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)
