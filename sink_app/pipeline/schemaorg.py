"""Find schema.org JobPosting nodes in JSON-LD, microdata and RDFa."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import extruct

MAX_BLOCKS = 50
MAX_BLOCK_CHARS = 1_000_000
MAX_DEPTH = 12
MAX_VISITS = 20_000
MAX_POSTINGS = 200
INLINE_DEPTH = 6

_SCHEMA_PREFIXES = ("http://schema.org/", "https://schema.org/", "schema:")
_CDATA = re.compile(r"<!\[CDATA\[|\]\]>")
_HTML_COMMENT = re.compile(r"<!--|-->")
_LINE_COMMENT = re.compile(r"^\s*//.*$", re.MULTILINE)
_BLOCK_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
_TRAILING_COMMA = re.compile(r",\s*([}\]])")
_JSONLD_XPATH = "//script[contains(translate(@type, 'LDJSON', 'ldjson'), 'ld+json')]"


def schema_name(value: str) -> str:
    """A schema.org term without its IRI prefix (schema.org/Place → Place)."""
    for prefix in _SCHEMA_PREFIXES:
        if value.startswith(prefix):
            return value[len(prefix) :]
    return value


def has_type(node: dict[str, Any], wanted: str) -> bool:
    """Whether a node's @type (a string or a list) names the schema.org type."""
    types = node.get("@type")
    names = types if isinstance(types, list) else [types]
    return any(isinstance(name, str) and schema_name(name) == wanted for name in names)


def jsonld_blocks(root: Any) -> tuple[list[Any], int]:
    """Every JSON-LD block that parses (repaired if needed) and the count skipped."""
    parsed: list[Any] = []
    skipped = 0
    for script in root.xpath(_JSONLD_XPATH)[:MAX_BLOCKS]:
        data = parse_jsonld(script.text or "")
        if data is None:
            skipped += 1
        else:
            parsed.append(data)
    return parsed, skipped


def parse_jsonld(text: str) -> Any | None:
    """Parse one JSON-LD block, repairing comments, CDATA and stray commas; or None."""
    text = text[:MAX_BLOCK_CHARS].strip()
    if not text:
        return None
    data = _loads(text)
    if data is None:
        data = _loads(_repaired(text))
    return data


def job_postings(data: Any) -> list[dict[str, Any]]:
    """JobPosting nodes at any nesting: arrays, @graph, ItemList, mainEntity, ..."""
    found: list[dict[str, Any]] = []
    for node in _walk(data):
        if has_type(node, "JobPosting"):
            found.append(node)
            if len(found) >= MAX_POSTINGS:
                break
    return found


def id_index(blocks: list[Any]) -> dict[str, dict[str, Any]]:
    """Nodes that carry an @id and content, so that bare references can be inlined."""
    index: dict[str, dict[str, Any]] = {}
    for block in blocks:
        for node in _walk(block, descend_into_postings=True):
            key = node.get("@id")
            if isinstance(key, str) and len(node) > 1:
                index.setdefault(key, node)
    return index


def inline_refs(value: Any, index: dict[str, dict[str, Any]], depth: int = 0) -> Any:
    """A copy of value with bare {"@id": ...} references replaced by their nodes."""
    if depth > INLINE_DEPTH:
        return None
    if isinstance(value, list):
        return [inline_refs(item, index, depth + 1) for item in value[:100]]
    if not isinstance(value, dict):
        return value
    reference = value.get("@id") if set(value) == {"@id"} else None
    if isinstance(reference, str) and reference in index:
        value = index[reference]
    return {key: inline_refs(item, index, depth + 1) for key, item in value.items()}


def markup_postings(html: str, url: str) -> tuple[dict[str, list[Any]], list[str]]:
    """JobPosting nodes from microdata and RDFa, each syntax guarded on its own."""
    found: dict[str, list[Any]] = {"microdata": [], "rdfa": []}
    notes: list[str] = []
    if "itemscope" in html or "itemtype" in html:
        items = _extruct(html, url, "microdata", notes)
        found["microdata"] = [
            node for item in items for node in job_postings(_compact_microdata(item))
        ][:MAX_POSTINGS]
    if "typeof" in html:
        items = _extruct(html, url, "rdfa", notes)
        found["rdfa"] = job_postings(compact_rdfa(items))
    return found, notes


def compact_rdfa(items: list[Any]) -> list[dict[str, Any]]:
    """Expanded RDFa nodes as compact schema.org nodes with references inlined."""
    index = {
        item["@id"]: item
        for item in items
        if isinstance(item, dict) and isinstance(item.get("@id"), str)
    }
    return [_compact_node(item, index, 0) for item in items if isinstance(item, dict)]


def _compact_node(node: dict[str, Any], index: dict[str, Any], depth: int) -> Any:
    compact: dict[str, Any] = {}
    for key, value in node.items():
        if key == "@type":
            types = value if isinstance(value, list) else [value]
            compact["@type"] = [schema_name(str(name)) for name in types]
        elif key != "@id":
            values = value if isinstance(value, list) else [value]
            items = [_compact_value(item, index, depth + 1) for item in values[:50]]
            compact[schema_name(key)] = items[0] if len(items) == 1 else items
    return compact


def _compact_value(value: Any, index: dict[str, Any], depth: int) -> Any:
    if not isinstance(value, dict):
        return value
    if "@value" in value:
        return value["@value"]
    target = index.get(value.get("@id", ""))
    if target is not None and depth <= INLINE_DEPTH:
        return _compact_node(target, index, depth)
    return value.get("@id")


def _compact_microdata(item: Any) -> Any:
    if isinstance(item, dict) and isinstance(item.get("@type"), str):
        return {**item, "@type": schema_name(item["@type"])}
    return item


def _extruct(html: str, url: str, syntax: str, notes: list[str]) -> list[Any]:
    try:
        data = extruct.extract(html, base_url=url, syntaxes=[syntax], uniform=True)
    except Exception:  # extruct raises many kinds on odd markup
        notes.append(f"{syntax} could not be read")
        return []
    items = data.get(syntax, [])
    return items if isinstance(items, list) else []


def _loads(text: str) -> Any | None:
    try:
        return json.loads(text, strict=False)
    except (ValueError, RecursionError):
        pass
    try:
        start = min(i for i in (text.find("{"), text.find("[")) if i >= 0)
        return json.JSONDecoder(strict=False).raw_decode(text, start)[0]
    except (ValueError, RecursionError):
        return None


def _repaired(text: str) -> str:
    text = _CDATA.sub("", _HTML_COMMENT.sub("", text))
    text = _BLOCK_COMMENT.sub("", _LINE_COMMENT.sub("", text))
    return _TRAILING_COMMA.sub(r"\1", text.strip().rstrip(";"))


def _walk(data: Any, descend_into_postings: bool = False) -> Iterator[dict[str, Any]]:
    stack: list[tuple[Any, int]] = [(data, 0)]
    visits = 0
    while stack and visits < MAX_VISITS:
        value, depth = stack.pop()
        visits += 1
        if depth > MAX_DEPTH:
            continue
        children = _children(value)
        if isinstance(value, dict):
            yield value
            if has_type(value, "JobPosting") and not descend_into_postings:
                continue
        stack.extend((child, depth + 1) for child in reversed(children))


def _children(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [item for item in value.values() if isinstance(item, dict | list)]
    if isinstance(value, list):
        return [item for item in value[:1_000] if isinstance(item, dict | list)]
    return []
