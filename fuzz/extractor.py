"""Extractor fuzzing: random, truncated and mutated pages, broken JSON-LD.

`extract_postings` promises never to raise; it turns an internal error into an
"extraction failed" note. Both are counted: an exception escaping breaks the promise,
a guarded failure is a bug the guard hid.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hypothesis
from hypothesis import HealthCheck, Phase, Verbosity
from hypothesis import strategies as st

from fuzz.report import OutOfTimeError
from sink_app.pipeline.extract import extract_postings

PAGES = Path(__file__).resolve().parents[1] / "examples" / "pages"
GUARDED = "extraction failed"
EXAMPLES_KEPT = 5
POSTING_KEYS = (
    "@type", "@id", "@graph", "@context", "title", "name", "description",
    "hiringOrganization", "jobLocation", "baseSalary", "estimatedSalary",
    "datePosted", "validThrough", "employmentType", "url", "identifier",
    "jobLocationType", "applicantLocationRequirements", "address", "value",
    "minValue", "maxValue", "currency", "unitText", "addressLocality",
)  # fmt: skip
TYPES = ("JobPosting", "https://schema.org/JobPosting", "Organization", "Place")
ENCODINGS = (None, "utf-8", "latin-1", "cp1251", "utf-16", "no-such-codec")


@dataclass
class ExtractorFigures:
    """How the extractor fared: calls, escapes, guarded failures, what it found."""

    calls: int = 0
    escaped: list[str] = field(default_factory=list)
    guarded: Counter[str] = field(default_factory=Counter)
    guarded_pages: list[str] = field(default_factory=list)
    methods: Counter[str] = field(default_factory=Counter)
    postings: int = 0
    slowest_seconds: float = 0.0

    def lines(self) -> list[str]:
        """The figures as printable lines."""
        methods = " ".join(f"{k}:{v}" for k, v in sorted(self.methods.items()))
        lines = [
            f"extractor: calls={self.calls} exceptions_escaping={len(self.escaped)} "
            f"guarded_internal_errors={sum(self.guarded.values())} "
            f"postings={self.postings} slowest={self.slowest_seconds:.2f}s",
            f"  methods {methods or '-'}",
        ]
        lines += [f"  guarded: {note} x{n}" for note, n in self.guarded.items()]
        lines += [f"  guarded page: {p}" for p in self.guarded_pages[:EXAMPLES_KEPT]]
        return lines + [f"  escaped: {e}" for e in self.escaped[:EXAMPLES_KEPT]]


def json_values() -> st.SearchStrategy[Any]:
    """Any JSON value, with schema.org-looking keys and types among the random ones."""
    scalars = (
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats(allow_nan=False)
        | st.text(max_size=40)
        | st.sampled_from(TYPES)
    )
    keys = st.sampled_from(POSTING_KEYS) | st.text(max_size=10)
    return st.recursive(
        scalars,
        lambda inner: (
            st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=6)
        ),
        max_leaves=30,
    )


@st.composite
def jsonld_pages(draw: st.DrawFn) -> str:
    """A page with JSON-LD blocks: postings with random fields, some cut or broken."""
    blocks = []
    for _ in range(draw(st.integers(1, 3))):
        node = draw(st.dictionaries(st.sampled_from(POSTING_KEYS), json_values()))
        node["@type"] = draw(st.sampled_from(TYPES) | json_values())
        text = json.dumps(draw(st.sampled_from([node, [node], {"@graph": [node]}])))
        cut = draw(st.integers(0, len(text)))
        text = draw(st.sampled_from([text, text[:cut], text[:cut] + "," + text[cut:]]))
        blocks.append(f'<script type="application/ld+json">{text}</script>')
    tail = draw(st.sampled_from(["</body></html>", "", "<!--", "<script>"]))
    return f"<html><head>{''.join(blocks)}</head><body><h1>Job</h1>{tail}"


@st.composite
def cut_pages(draw: st.DrawFn) -> bytes:
    """An example page cut at a random byte, with a few random bytes spliced in."""
    page = draw(st.sampled_from(sorted(PAGES.glob("*.html")))).read_bytes()
    cut = draw(st.integers(0, len(page)))
    spliced = draw(st.binary(max_size=16))
    at = draw(st.integers(0, cut))
    return page[:at] + spliced + page[at:cut]


@st.composite
def markup_pages(draw: st.DrawFn) -> str:
    """Microdata and RDFa postings with random property values and nesting."""
    props = draw(
        st.lists(
            st.tuples(st.sampled_from(POSTING_KEYS), st.text(max_size=30)), max_size=8
        )
    )
    inner = "".join(f'<span itemprop="{k}">{v}</span>' for k, v in props)
    depth = draw(st.integers(0, 300))
    return (
        '<div itemscope itemtype="https://schema.org/JobPosting">'
        + "<div>" * depth
        + inner
        + '<div property="title" typeof="JobPosting" vocab="https://schema.org/">'
        + draw(st.text(max_size=30))
    )


def pages() -> st.SearchStrategy[str | bytes]:
    """Every kind of hostile page."""
    return st.one_of(
        st.text(max_size=400),
        st.binary(max_size=400),
        jsonld_pages(),
        cut_pages(),
        markup_pages(),
    )


def fuzz_extractor(examples: int, seconds: float, seed: int) -> ExtractorFigures:
    """Feed the extractor up to `examples` pages within `seconds`."""
    figures = ExtractorFigures()
    stop_at = time.monotonic() + seconds
    urls = st.sampled_from(
        ["https://jobs.example.test/1", "http://x.test/a?b=c#d", "not a url", ""]
    )

    @hypothesis.settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        verbosity=Verbosity.quiet,
        suppress_health_check=list(HealthCheck),
    )
    @hypothesis.seed(seed)
    @hypothesis.given(page=pages(), url=urls, encoding=st.sampled_from(ENCODINGS))
    def extract(page: str | bytes, url: str, encoding: str | None) -> None:
        if time.monotonic() > stop_at:
            raise OutOfTimeError
        _extract_one(figures, page, url, encoding)

    with contextlib.suppress(OutOfTimeError):
        extract()
    return figures


def _extract_one(
    figures: ExtractorFigures, page: str | bytes, url: str, encoding: str | None
) -> None:
    figures.calls += 1
    started = time.perf_counter()
    try:
        found = extract_postings(page, url, encoding=encoding)
    except Exception as exc:  # the figure this run exists to count
        figures.escaped.append(f"{type(exc).__name__}: {page[:200]!r} url={url!r}")
        return
    finally:
        elapsed = time.perf_counter() - started
        figures.slowest_seconds = max(figures.slowest_seconds, elapsed)
    figures.methods[found.method] += 1
    figures.postings += len(found.postings)
    for note in found.notes:
        if note.startswith(GUARDED):
            figures.guarded[note] += 1
            figures.guarded_pages.append(f"{page!r} url={url!r} encoding={encoding!r}")
