"""Normalise one schema.org JobPosting node into the fields of a `Posting`."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

from jobsearch.posting import RemoteType, SalaryPeriod
from sink_app.pipeline.salary import (
    SalaryRange,
    checked_range,
    currency_code,
    parse_amount,
    parse_salary_text,
    period_from_text,
)
from sink_app.pipeline.text import (
    collapse,
    inline_text,
    markup_text,
    remote_from_prose,
    remote_from_words,
    tidy_text,
)

MAX_LOCATIONS = 20
_EMPLOYMENT = {
    "fulltime": "Full-time", "parttime": "Part-time", "contractor": "Contract",
    "contract": "Contract", "temporary": "Temporary", "intern": "Internship",
    "internship": "Internship", "volunteer": "Volunteer", "perdiem": "Per diem",
    "freelance": "Freelance", "other": "Other",
}  # fmt: skip
_ISO_CODE = re.compile(r"[A-Z]{3}")
_UNIT_STEMS: tuple[tuple[str, SalaryPeriod], ...] = (
    ("hour", "hour"), ("day", "day"), ("daily", "day"), ("week", "week"),
    ("month", "month"), ("year", "year"), ("annu", "year"),
)  # fmt: skip


def posting_fields(
    node: dict[str, Any], page_url: str, *, decoded: bool
) -> dict[str, Any] | None:
    """Posting fields from a JobPosting node; None when it has no title.

    `decoded` says the strings are already text (microdata, RDFa) rather than the
    HTML-bearing strings JSON-LD carries, so entities are decoded exactly once.
    """
    title = _text(node.get("title") or node.get("name"), decoded)
    if not title:
        return None
    org = _first(node.get("hiringOrganization"))
    locations = _locations(node.get("jobLocation"), decoded)
    applicants = _names(node.get("applicantLocationRequirements"), decoded)
    description = _description(node.get("description"), decoded)
    remote = _remote_type(node, title, locations, applicants, description)
    salary = salary_from_schema(node)
    return {
        "title": title[:300],
        "company": (_org_name(org, decoded) or "")[:200] or None,
        "company_logo": _logo(org, page_url),
        "description": description,
        "location": _location_text(locations, applicants, remote),
        "remote_type": remote,
        "employment_type": _employment(node.get("employmentType"), decoded),
        "salary_min": salary.min if salary else None,
        "salary_max": salary.max if salary else None,
        "salary_currency": salary.currency if salary else None,
        "salary_period": salary.period if salary else None,
        "apply_url": _apply_url(node, page_url),
        "posted_at": parse_datetime(node.get("datePosted")),
        "expires_at": parse_datetime(node.get("validThrough")),
        "raw_data": {"applicant_locations": applicants} if applicants else {},
    }


def posting_url(node: dict[str, Any], page_url: str) -> str | None:
    """The posting's own absolute http(s) URL, when the node gives one."""
    return absolute_url(_first(node.get("url")), page_url)


def salary_from_schema(node: dict[str, Any]) -> SalaryRange | None:
    """Salary from `baseSalary` or `estimatedSalary`, whatever shape they take."""
    currency = _currency(node.get("salaryCurrency"))
    for key in ("baseSalary", "estimatedSalary"):
        found = _amount(node.get(key), currency, None, 0)
        if found is not None:
            return found
    return None


def parse_datetime(value: Any) -> datetime | None:
    """An aware datetime from an ISO date or datetime; date-only is midnight UTC."""
    text = _first(value)
    if not isinstance(text, str) or not text.strip():
        return None
    text = text.strip()
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        try:
            parsed = datetime.combine(
                date.fromisoformat(text[:10]), datetime.min.time()
            )
        except ValueError:
            return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def absolute_url(value: Any, base: str) -> str | None:
    """value resolved against base, kept only when it is an http(s) URL."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        joined = urljoin(base, value.strip())
    except ValueError:
        return None
    return joined if urlsplit(joined).scheme in ("http", "https") else None


def _amount(
    value: Any, currency: str | None, period: SalaryPeriod | None, depth: int
) -> SalaryRange | None:
    if depth > 4 or value is None:
        return None
    if isinstance(value, list):
        for item in value[:10]:
            found = _amount(item, currency, period, depth + 1)
            if found is not None:
                return found
        return None
    if isinstance(value, dict):
        return _amount_node(value, currency, period, depth)
    number = _number(value)
    if number is not None:
        return checked_range(number, number, currency, period)
    if isinstance(value, str):
        found = parse_salary_text(f"salary: {value}")
        if found is not None:
            return SalaryRange(
                found.min, found.max, found.currency or currency, found.period or period
            )
    return None


def _amount_node(
    node: dict[str, Any], currency: str | None, period: SalaryPeriod | None, depth: int
) -> SalaryRange | None:
    currency = _currency(node.get("currency")) or currency
    period = _period(node.get("unitText")) or period
    if "value" in node:
        return _amount(node["value"], currency, period, depth + 1)
    low = _number(node.get("minValue"))
    high = _number(node.get("maxValue"))
    if low is None and high is None:
        low = high = _number(node.get("median"))
    return checked_range(low, high, currency, period)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        return parse_amount(value)
    return None


def _currency(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    token = value.strip()
    if _ISO_CODE.fullmatch(token.upper()) and token.isalpha():
        return token.upper()
    return currency_code(token)


def _period(value: Any) -> SalaryPeriod | None:
    if not isinstance(value, str):
        return None
    word = value.strip().lower()
    for stem, period in _UNIT_STEMS:
        if stem in word:
            return period
    return period_from_text(word)


def _text(value: Any, decoded: bool, limit: int = 300) -> str | None:
    value = _first(value)
    if isinstance(value, dict):
        value = value.get("name")
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return None
    text = collapse(value)[:limit] if decoded else inline_text(value, limit)
    return text or None


def _description(value: Any, decoded: bool) -> str | None:
    value = _first(value)
    if not isinstance(value, str):
        return None
    return (tidy_text(value) if decoded else markup_text(value)) or None


def _first(value: Any) -> Any:
    if isinstance(value, list):
        return next((item for item in value if item not in (None, "")), None)
    return value


def _org_name(org: Any, decoded: bool) -> str | None:
    if isinstance(org, dict):
        return _text(org.get("name") or org.get("legalName"), decoded, 200)
    return _text(org, decoded, 200)


def _logo(org: Any, page_url: str) -> str | None:
    if not isinstance(org, dict):
        return None
    logo = _first(org.get("logo"))
    if isinstance(logo, dict):
        logo = logo.get("url") or logo.get("contentUrl")
    return absolute_url(_first(logo), page_url)


def _locations(value: Any, decoded: bool) -> list[str]:
    items = value if isinstance(value, list) else [value]
    found: list[str] = []
    for item in items[:MAX_LOCATIONS]:
        place = _place(item, decoded)
        if place and place not in found:
            found.append(place)
    return found


def _place(item: Any, decoded: bool) -> str | None:
    if not isinstance(item, dict):
        return _text(item, decoded)
    address = _first(item.get("address"))
    if isinstance(address, dict):
        return _address(address, decoded) or _text(item.get("name"), decoded)
    if address:
        return _text(address, decoded)
    return _address(item, decoded) or _text(item.get("name"), decoded)


def _address(address: dict[str, Any], decoded: bool) -> str | None:
    keys = ("addressLocality", "addressRegion", "addressCountry")
    parts: list[str] = []
    for key in keys:
        part = _text(address.get(key), decoded, 100)
        if part and part not in parts:
            parts.append(part)
    return ", ".join(parts) or _text(address.get("name"), decoded)


def _names(value: Any, decoded: bool) -> list[str]:
    items = value if isinstance(value, list) else [value]
    names = [_text(item, decoded, 100) for item in items[:MAX_LOCATIONS]]
    return list(dict.fromkeys(name for name in names if name))


def _remote_type(
    node: dict[str, Any],
    title: str,
    locations: list[str],
    applicants: list[str],
    description: str | None,
) -> RemoteType | None:
    kinds = node.get("jobLocationType")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    if any(isinstance(kind, str) and "TELECOMMUTE" in kind.upper() for kind in kinds):
        return "Remote"
    stated = remote_from_words(" ".join([title, *locations]))
    if stated is None and applicants and not locations:
        return "Remote"
    return stated or remote_from_prose(description or "")


def _location_text(
    locations: list[str], applicants: list[str], remote: RemoteType | None
) -> str | None:
    if locations:
        return "; ".join(locations)[:500]
    if applicants:
        prefix = "Remote" if remote == "Remote" else "Applicants in"
        return f"{prefix} ({', '.join(applicants)})"[:500]
    return "Remote" if remote == "Remote" else None


def _employment(value: Any, decoded: bool) -> str | None:
    items = value if isinstance(value, list) else [value]
    kinds: list[str] = []
    for item in items[:10]:
        text = _text(item, decoded, 60)
        if not text:
            continue
        kind = _EMPLOYMENT.get(re.sub(r"[\s_-]", "", text.lower()), text)
        if kind not in kinds:
            kinds.append(kind)
    return ", ".join(kinds) or None


def _apply_url(node: dict[str, Any], page_url: str) -> str | None:
    contact = _first(node.get("applicationContact"))
    contact_url = contact.get("url") if isinstance(contact, dict) else None
    return (
        posting_url(node, page_url)
        or absolute_url(_first(contact_url), page_url)
        or absolute_url(page_url, page_url)
    )
