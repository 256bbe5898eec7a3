"""Postings held only in data embedded for a JavaScript app (Next.js and alike).

Some careers pages render nothing but a script payload: `__NEXT_DATA__`, other
`application/json` scripts, or the Next.js flight stream (`self.__next_f.push`),
whose rows are `<id>:<json>` and `<id>:T<hex length>,<text>` referenced as `$<id>`.
Objects with a title and job-shaped keys are read generically by key names.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from sink_app.pipeline.heuristic import salary_in_lines
from sink_app.pipeline.jobposting import parse_datetime
from sink_app.pipeline.salary import SalaryRange, checked_range, currency_code
from sink_app.pipeline.text import (
    collapse,
    markup_text,
    remote_from_prose,
    remote_from_words,
)

MAX_SCRIPTS = 300
MAX_PAYLOAD = 3_000_000
MAX_ROWS = 5_000
MAX_VISITS = 50_000
MAX_POSTINGS = 100

_FLIGHT_PUSH = re.compile(
    r"self\.__next_f\.push\(\[\s*1\s*,\s*(\"(?:[^\"\\]|\\.)*\")\s*\]\)"
)
_FLIGHT_ROW = re.compile(rb"([0-9a-fA-F]{1,8}):")
_STRONG_KEY = re.compile(
    r"location|employment|compensation|salary|jobid|requisition|workplace|remote",
    re.IGNORECASE,
)
_JOB_KEY = re.compile(r"description|department|apply|application|posted|team", re.I)
_COMPANY_KEY = re.compile(
    r"^(?:preferred)?(?:organization|organisation|company|employer)(?:name)?$",
    re.IGNORECASE,
)
_DESCRIPTION_KEY = re.compile(r"description|content|body", re.IGNORECASE)
_PLACE_KEYS = ("name", "city", "label", "displayName", "title")
_REF = re.compile(r"^\$([0-9a-fA-F]+)$")


def appstate_fields(root: Any) -> list[dict[str, Any]]:
    """Posting fields for each job-shaped object in the page's embedded app data."""
    documents, texts = _documents(root)
    company = _company(documents)
    found: list[dict[str, Any]] = []
    for document in documents:
        for node in _walk(document):
            if _is_job(node):
                found.append(_fields(node, texts, company))
            if len(found) >= MAX_POSTINGS:
                return found
    return found


def _documents(root: Any) -> tuple[list[Any], dict[str, str]]:
    documents: list[Any] = []
    flight: list[str] = []
    for script in root.xpath("//script[not(@src)]")[:MAX_SCRIPTS]:
        body = (script.text or "")[:MAX_PAYLOAD]
        kind = (script.get("type") or "").lower()
        if kind == "application/json" or script.get("id") == "__NEXT_DATA__":
            documents.append(_loads(body))
        flight.extend(_loads(match) or "" for match in _FLIGHT_PUSH.findall(body))
    rows, texts = _flight_rows("".join(str(part) for part in flight))
    return [doc for doc in documents + rows if doc is not None], texts


def _flight_rows(stream: str) -> tuple[list[Any], dict[str, str]]:
    data = stream.encode("utf-8")[:MAX_PAYLOAD]
    rows: list[Any] = []
    texts: dict[str, str] = {}
    position = 0
    while position < len(data) and len(rows) + len(texts) < MAX_ROWS:
        match = _FLIGHT_ROW.match(data, position)
        if match is None:
            break
        row_id, position = match.group(1).decode(), match.end()
        if data[position : position + 1] == b"T":
            comma = data.find(b",", position)
            size = int(data[position + 1 : comma], 16) if comma > 0 else 0
            texts[row_id] = data[comma + 1 : comma + 1 + size].decode(
                "utf-8", "replace"
            )
            position = comma + 1 + size
        else:
            end = data.find(b"\n", position)
            end = len(data) if end < 0 else end
            rows.append(_loads(data[position:end].decode("utf-8", "replace")))
            position = end + 1
    return rows, texts


def _loads(text: str) -> Any | None:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def _walk(data: Any) -> Iterator[dict[str, Any]]:
    stack: list[tuple[Any, int]] = [(data, 0)]
    visits = 0
    while stack and visits < MAX_VISITS:
        value, depth = stack.pop()
        visits += 1
        if isinstance(value, dict):
            yield value
            children = list(value.values())
        elif isinstance(value, list):
            children = value[:2_000]
        else:
            continue
        if depth < 30:
            stack.extend((child, depth + 1) for child in reversed(children))


def _is_job(node: dict[str, Any]) -> bool:
    title = node.get("title")
    if not isinstance(title, str) or not 2 <= len(title.strip()) <= 200:
        return False
    keys = list(node) + [
        key for value in node.values() if isinstance(value, dict) for key in value
    ]
    strong = sum(1 for key in keys if _STRONG_KEY.search(str(key)))
    weak = sum(1 for key in keys if _JOB_KEY.search(str(key)))
    return strong >= 1 and strong + weak >= 3


def _fields(
    node: dict[str, Any], texts: dict[str, str], company: str | None
) -> dict[str, Any]:
    title = collapse(str(node["title"]))[:300]
    description = _description(node, texts)
    location = "; ".join(_strings_under(node, "location")) or None
    salary = _salary(node) or salary_in_lines((description or "").split("\n"))
    remote = remote_from_words(f"{title} {location or ''}")
    employment = ", ".join(_strings_under(node, "employment")) or None
    return {
        "title": title,
        "company": company,
        "description": description,
        "location": location,
        "remote_type": remote or remote_from_prose(description or ""),
        "employment_type": employment,
        "salary_min": salary.min if salary else None,
        "salary_max": salary.max if salary else None,
        "salary_currency": salary.currency if salary else None,
        "salary_period": salary.period if salary else None,
        "posted_at": parse_datetime(node.get("datePosted") or node.get("createdAt")),
    }


def _description(node: dict[str, Any], texts: dict[str, str]) -> str | None:
    for key, value in node.items():
        if isinstance(value, str) and _DESCRIPTION_KEY.search(str(key)):
            ref = _REF.match(value)
            body = texts.get(ref.group(1), "") if ref else value
            return markup_text(body) or None
    return None


def _strings_under(node: dict[str, Any], word: str) -> list[str]:
    found: list[str] = []
    for key, value in _items(node, depth=0):
        if word not in key.lower():
            continue
        for text in _place_names(value):
            if text not in found:
                found.append(text)
    return found[:20]


def _items(node: dict[str, Any], depth: int) -> Iterator[tuple[str, Any]]:
    for key, value in node.items():
        yield str(key), value
        if isinstance(value, dict) and depth < 3:
            yield from _items(value, depth + 1)


def _place_names(value: Any) -> list[str]:
    if isinstance(value, str):
        return [collapse(value)] if 1 < len(value) <= 120 else []
    names: list[str] = []
    for node in _walk(value):
        for key in _PLACE_KEYS:
            text = node.get(key)
            if isinstance(text, str) and 1 < len(text) <= 120:
                names.append(collapse(text))
                break
    return names


def _salary(node: dict[str, Any]) -> SalaryRange | None:
    for key, value in _items(node, depth=0):
        if isinstance(value, dict) and re.search(r"compensation|salary|pay", key, re.I):
            numbers = {str(k).lower(): v for k, v in value.items()}
            low = _number(numbers, "min")
            high = _number(numbers, "max")
            currency = next(
                (str(v) for k, v in numbers.items() if "currency" in k and v), None
            )
            code = currency_code(currency) if currency else None
            found = checked_range(low, high, code, None)
            if found:
                return found
    return None


def _number(values: dict[str, Any], stem: str) -> float | None:
    for key, value in values.items():
        if (
            stem in key
            and isinstance(value, int | float)
            and not isinstance(value, bool)
        ):
            return float(value)
    return None


def _company(documents: list[Any]) -> str | None:
    for document in documents:
        for node in _walk(document):
            for key, value in node.items():
                if isinstance(value, str) and _COMPANY_KEY.match(str(key)):
                    name = collapse(value)
                    if 1 < len(name) <= 100:
                        return name
    return None
