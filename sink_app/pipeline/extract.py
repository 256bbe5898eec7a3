"""Extraction stage: job postings from one fetched page, structured data first.

JSON-LD is read block by block (so one broken block loses nothing else), then
microdata and RDFa through extruct, then data embedded for a JavaScript app, and
last the page's visible text. Pure and synchronous; it never raises.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from pydantic import ValidationError

from jobsearch.posting import Posting
from sink_app.pipeline.appstate import appstate_fields
from sink_app.pipeline.heuristic import heuristic_fields
from sink_app.pipeline.jobposting import posting_fields, posting_url
from sink_app.pipeline.schemaorg import (
    MAX_POSTINGS,
    id_index,
    inline_refs,
    job_postings,
    jsonld_blocks,
    markup_postings,
)
from sink_app.pipeline.text import decode_html, parse_html

Method = Literal["json-ld", "microdata", "rdfa", "heuristic", "none"]
RAW_STRING_LIMIT = 1_000
RAW_ITEMS_LIMIT = 30
RAW_DEPTH_LIMIT = 6
SOURCE_ID_LIMIT = 2_100


@dataclass(frozen=True)
class Extraction:
    """The postings found on a page, how the first was found, and what was skipped."""

    postings: list[Posting]
    method: Method
    notes: list[str] = field(default_factory=list)


def extract_postings(
    html: str | bytes, url: str, *, encoding: str | None = None
) -> Extraction:
    """Every job posting on the page at url; an empty Extraction when there is none."""
    try:
        found = _extract(html, url, encoding)
    except Exception as error:  # the stage promises never to fail a search
        return Extraction([], "none", [f"extraction failed: {type(error).__name__}"])
    return replace(found, notes=list(dict.fromkeys(found.notes)))


def _extract(html: str | bytes, url: str, encoding: str | None) -> Extraction:
    text = decode_html(html, encoding)
    root = parse_html(text)
    if root is None:
        return Extraction([], "none", ["page has no parsable HTML"])
    notes: list[str] = []
    for method, nodes in _structured_nodes(root, text, url, notes):
        postings = _postings(nodes, url, method, notes)
        if postings:
            return Extraction(postings, method, notes)
    return _unstructured(root, url, notes)


def _structured_nodes(
    root: Any, text: str, url: str, notes: list[str]
) -> list[tuple[Method, list[dict[str, Any]]]]:
    blocks, skipped = jsonld_blocks(root)
    if skipped:
        notes.append(f"{skipped} broken JSON-LD block(s) skipped")
    index = id_index(blocks)
    nodes = [node for block in blocks for node in job_postings(block)]
    jsonld = [inline_refs(node, index) for node in nodes[:MAX_POSTINGS]]
    if jsonld:
        return [("json-ld", jsonld)]
    markup, markup_notes = markup_postings(text, url)
    notes.extend(markup_notes)
    return [("microdata", markup["microdata"]), ("rdfa", markup["rdfa"])]


def _postings(
    nodes: list[dict[str, Any]], url: str, method: Method, notes: list[str]
) -> list[Posting]:
    found: list[tuple[dict[str, Any], str | None, dict[str, Any]]] = []
    for node in nodes:
        fields = posting_fields(node, url, decoded=method != "json-ld")
        if fields is None:
            notes.append("JobPosting without a title skipped")
            continue
        raw = {"method": method, "page_url": url, "node": trim_json(node)}
        found.append((fields, posting_url(node, url), raw))
    return _assemble(found, url, notes)


def _unstructured(root: Any, url: str, notes: list[str]) -> Extraction:
    embedded = appstate_fields(root)
    if embedded:
        notes.append("postings read from data embedded for a JavaScript app")
        postings = _assemble(_page_items(embedded, url, "app-state"), url, notes)
        if postings:
            return Extraction(postings, "heuristic", notes)
    fields = heuristic_fields(root)
    if fields is None:
        return Extraction([], "none", [*notes, "no job posting found"])
    postings = _assemble(_page_items([fields], url, "heuristic"), url, notes)
    return Extraction(postings, "heuristic" if postings else "none", notes)


def _page_items(
    found: list[dict[str, Any]], url: str, method: str
) -> list[tuple[dict[str, Any], str | None, dict[str, Any]]]:
    raw = {"method": method, "page_url": url}
    return [({"apply_url": url, **fields}, None, raw) for fields in found]


def _assemble(
    found: list[tuple[dict[str, Any], str | None, dict[str, Any]]],
    url: str,
    notes: list[str],
) -> list[Posting]:
    postings: list[Posting] = []
    used: set[str] = set()
    seen: set[str] = set()
    for fields, own_url, raw in found:
        fingerprint = f"{own_url}\n{_identity(fields)}"
        if fingerprint in seen:
            continue
        seen.add(fingerprint)
        own = own_url or (url if len(found) == 1 else None)
        posting = _build(fields, _source_id(own, url, fields, used), raw, notes)
        if posting is not None:
            used.add(posting.source_id)
            postings.append(posting)
    if len(seen) < len(found):
        notes.append(f"{len(found) - len(seen)} duplicate posting(s) skipped")
    return postings


def _source_id(
    own: str | None, url: str, fields: dict[str, Any], used: set[str]
) -> str:
    if own and own not in used:
        return _fit(own)
    digest = hashlib.sha256(_identity(fields).encode("utf-8")).hexdigest()[:12]
    return _fit(f"{url or 'about:blank'}#posting-{digest}")


def _identity(fields: dict[str, Any]) -> str:
    names = ("title", "company", "location")
    return "\n".join(str(fields.get(name) or "") for name in names)


def _fit(source_id: str) -> str:
    if len(source_id) <= SOURCE_ID_LIMIT:
        return source_id
    digest = hashlib.sha256(source_id.encode("utf-8")).hexdigest()[:16]
    return f"{source_id[:2_000]}#{digest}"


def _build(
    fields: dict[str, Any], source_id: str, raw: dict[str, Any], notes: list[str]
) -> Posting | None:
    values = {key: value for key, value in fields.items() if value is not None}
    extra = values.pop("raw_data", {})
    try:
        return Posting(source_id=source_id, raw_data={**raw, **extra}, **values)
    except ValidationError as error:
        names = sorted({str(item["loc"][0]) for item in error.errors() if item["loc"]})
        notes.append(f"posting skipped, invalid {', '.join(names) or 'fields'}")
        return None


def trim_json(value: Any, depth: int = 0) -> Any:
    """A JSON-safe copy of value with long strings, lists and nesting cut short."""
    if depth > RAW_DEPTH_LIMIT:
        return "…"
    if isinstance(value, dict):
        items = list(value.items())[:RAW_ITEMS_LIMIT]
        return {str(key): trim_json(item, depth + 1) for key, item in items}
    if isinstance(value, list):
        return [trim_json(item, depth + 1) for item in value[:RAW_ITEMS_LIMIT]]
    if isinstance(value, str):
        return (
            value if len(value) <= RAW_STRING_LIMIT else value[:RAW_STRING_LIMIT] + "…"
        )
    if value is None or isinstance(value, bool | int | float):
        return value
    return str(value)[:RAW_STRING_LIMIT]
