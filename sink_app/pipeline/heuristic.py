"""Read one posting from a page without structured data, by its visible text."""

from __future__ import annotations

import re
from typing import Any

from jobsearch.posting import RemoteType
from sink_app.pipeline.salary import SalaryRange, parse_salary_text, period_from_text
from sink_app.pipeline.text import (
    collapse,
    element_text,
    remote_from_prose,
    remote_from_words,
)

MAX_LINES = 3_000
MAX_ELEMENTS = 20_000
_SEPARATORS = (" | ", " \u2014 ", " \u2013 ", " \u00b7 ", " :: ")
_AT_COMPANY = re.compile(r"^(?P<title>.+?\S)\s+(?:at|@|bei)\s+(?P<company>[^|]{2,60})$")
_COMPANY_CLASS = re.compile(
    r"(?:org|company|employer)[-_]?name|hiring[-_]?org", re.IGNORECASE
)
_LABELS = {
    "location": r"location|job location|locations|standort|arbeitsort|ort|lieu"
    r"|местоположение|локация|город|место работы",
    "company": r"company|employer|unternehmen|arbeitgeber|firma|компания|работодатель",
    "salary": r"salary|salary range|pay|pay range|compensation|rate|day rate|gehalt"
    r"|vergütung|зарплата|заработная плата|оклад|доход",
    "employment": r"employment type|job type|type of employment|contract type|hours"
    r"|beschäftigungsart|anstellungsart|тип занятости|занятость",
}
_EMPLOYMENT_WORDS: tuple[tuple[str, str], ...] = (
    (r"full[-\s]?time|vollzeit|полная занятость", "Full-time"),
    (r"part[-\s]?time|teilzeit|частичная занятость", "Part-time"),
    (r"contract|freelance|befristet|проектная", "Contract"),
    (r"intern|praktikum|стажировка", "Internship"),
    (r"temporary|temporär|временная", "Temporary"),
)
_JOB_WORDS = re.compile(
    r"responsibilit|requirement|qualification|\bapply\b|job description|what you.ll do"
    r"|benefits|experience|vacanc|about the role|the role|обязанности|требования"
    r"|условия|ваканси|aufgaben|anforderungen|wir bieten|ihr profil",
    re.IGNORECASE,
)
_SALARY_HINT = re.compile(
    r"salary|pay|compensation|rate|earn|wage|gehalt|vergütung|зарплат|оклад|доход",
    re.IGNORECASE,
)


def heuristic_fields(root: Any) -> dict[str, Any] | None:
    """Posting fields read from the visible page, or None unless it looks like one."""
    title, title_company = _title(root)
    if not title:
        return None
    lines = _lines(root)
    location = _labelled(lines, "location")
    salary = salary_in_lines(lines)
    employment = _employment(_labelled(lines, "employment"))
    text = "\n".join(lines)
    signals = len({word.lower() for word in _JOB_WORDS.findall(text)})
    if not (salary or location or employment or signals >= 2):
        return None
    return {
        "title": title[:300],
        "company": (_company(root, lines) or title_company or _site_name(root)),
        "description": _description(root) or None,
        "location": location,
        "remote_type": _remote(title, location, text),
        "employment_type": employment,
        "salary_min": salary.min if salary else None,
        "salary_max": salary.max if salary else None,
        "salary_currency": salary.currency if salary else None,
        "salary_period": salary.period if salary else None,
    }


def _title(root: Any) -> tuple[str | None, str | None]:
    heading = _first_text(root, "//h1")
    page_title = _meta(root, "og:title") or _first_text(root, "//title")
    cleaned, company = _split_title(page_title) if page_title else (None, None)
    title = heading or cleaned or _first_text(root, "//h2")
    return title, company


def _split_title(raw: str) -> tuple[str, str | None]:
    title = raw
    for separator in _SEPARATORS:
        head, found, tail = title.partition(separator)
        if found and head and (separator == " | " or len(tail.split()) <= 4):
            title = head
    match = _AT_COMPANY.match(title)
    if match and len(match["company"].split()) <= 5:
        return match["title"], match["company"].strip()
    return title, None


def _first_text(root: Any, xpath: str) -> str | None:
    for element in root.xpath(xpath)[:5]:
        text = collapse(element_text(element, 600))
        if 2 <= len(text) <= 300:
            return text
    return None


def _meta(root: Any, name: str) -> str | None:
    for element in root.xpath("//meta[@property or @name]")[:200]:
        key = element.get("property") or element.get("name") or ""
        if key.lower() == name:
            content = collapse(element.get("content") or "")
            return content or None
    return None


def _site_name(root: Any) -> str | None:
    return _meta(root, "og:site_name") or _meta(root, "application-name")


def _lines(root: Any) -> list[str]:
    bodies = root.xpath("//body")
    text = element_text(bodies[0] if bodies else root, 200_000)
    return [line for line in text.split("\n") if line][:MAX_LINES]


def _labelled(lines: list[str], kind: str) -> str | None:
    label = re.compile(rf"^(?:- )?(?:{_LABELS[kind]})\s*(:)?\s*(.*)$", re.IGNORECASE)
    for index, line in enumerate(lines):
        match = label.match(line)
        if not match or not (match[1] or not match[2]):
            continue
        value = match[2] or (lines[index + 1] if index + 1 < len(lines) else "")
        value = collapse(value)
        if 1 < len(value) <= 120:
            return value
    return None


def _company(root: Any, lines: list[str]) -> str | None:
    for count, element in enumerate(root.iter()):
        if count > MAX_ELEMENTS:
            break
        marker = " ".join(
            str(element.get(name) or "") for name in ("class", "itemprop", "id")
        )
        if marker.strip() and _COMPANY_CLASS.search(marker):
            text = collapse(element_text(element, 300))
            if 1 < len(text) <= 100:
                return text
    return _labelled(lines, "company")


def salary_in_lines(lines: list[str]) -> SalaryRange | None:
    """The first salary stated in lines of text, labelled or in a sentence about pay."""
    labelled = _labelled(lines, "salary")
    if labelled:
        found = parse_salary_text(f"salary: {labelled}")
        if found:
            return found
    for index, line in enumerate(lines):
        context = " ".join(lines[max(0, index - 1) : index + 1])
        if not (_SALARY_HINT.search(context) or period_from_text(line)):
            continue
        found = parse_salary_text(line)
        if found:
            return found
    return None


def _employment(value: str | None) -> str | None:
    if not value:
        return None
    for pattern, kind in _EMPLOYMENT_WORDS:
        if re.search(pattern, value, re.IGNORECASE):
            return kind
    return None


def _remote(title: str, location: str | None, text: str) -> RemoteType | None:
    return remote_from_words(f"{title} {location or ''}") or remote_from_prose(text)


def _description(root: Any) -> str:
    candidates = root.xpath(
        "//*[contains(@class, 'description')] | //article | //main"
    )[:30]
    best = max(candidates, key=lambda el: len(el.text_content()), default=None)
    if best is None:
        bodies = root.xpath("//body")
        best = bodies[0] if bodies else root
    return element_text(best)
