"""Salary ranges written in prose: "$150-190k", "€55.000 - €65.000 brutto/Jahr"."""

from __future__ import annotations

import re
from dataclasses import dataclass

from jobsearch.posting import SalaryPeriod

MAX_AMOUNT = 2_000_000_000
MAX_SPREAD = 10
_WINDOW = 40

_CURRENCIES: dict[str, str] = {
    "$": "USD", "US$": "USD", "USD": "USD", "A$": "AUD", "AU$": "AUD",
    "AUD": "AUD", "C$": "CAD", "CA$": "CAD", "CAD": "CAD", "NZ$": "NZD",
    "NZD": "NZD", "HK$": "HKD", "HKD": "HKD", "S$": "SGD", "SGD": "SGD",
    "R$": "BRL", "BRL": "BRL", "€": "EUR", "EUR": "EUR", "£": "GBP", "GBP": "GBP",
    "¥": "JPY", "JPY": "JPY", "CN¥": "CNY", "RMB": "CNY", "CNY": "CNY",
    "₹": "INR", "INR": "INR", "Rs.": "INR", "₽": "RUB", "RUB": "RUB",
    "RUR": "RUB", "руб.": "RUB", "руб": "RUB", "рублей": "RUB", "р.": "RUB",
    "CHF": "CHF", "SEK": "SEK", "NOK": "NOK", "DKK": "DKK", "PLN": "PLN",
    "zł": "PLN", "CZK": "CZK", "Kč": "CZK", "HUF": "HUF", "₴": "UAH",
    "UAH": "UAH", "грн": "UAH", "₸": "KZT", "KZT": "KZT", "₩": "KRW",
    "KRW": "KRW", "₪": "ILS", "ILS": "ILS", "₺": "TRY", "TRY": "TRY",
    "MXN": "MXN", "ZAR": "ZAR", "AED": "AED", "RON": "RON", "BGN": "BGN",
}  # fmt: skip
_AMBIGUOUS = frozenset({"$", "¥"})
_MAGNITUDES: dict[str, int] = {
    "k": 1_000, "thousand": 1_000, "тыс": 1_000, "тыс.": 1_000, "тысяч": 1_000,
    "tsd": 1_000, "tsd.": 1_000, "m": 1_000_000, "mn": 1_000_000,
    "million": 1_000_000, "mio": 1_000_000, "mio.": 1_000_000, "млн": 1_000_000,
    "lakh": 100_000, "lakhs": 100_000, "lpa": 100_000, "crore": 10_000_000,
}  # fmt: skip
_PERIODS: tuple[tuple[str, SalaryPeriod], ...] = (
    (r"per\s+hour|an\s+hour|/\s*h(?:ou)?r\b|/\s*h\b|hourly|в\s+час|/\s*час"
     r"|pro\s+stunde|stundensatz|/\s*std", "hour"),
    (r"per\s+day|a\s+day|/\s*day|daily|day\s+rate|в\s+день|pro\s+tag|tagessatz",
     "day"),
    (r"per\s+week|a\s+week|/\s*w(?:ee)?k\b|weekly|в\s+неделю|pro\s+woche", "week"),
    (r"per\s+month|a\s+month|/\s*mo(?:nth)?\b|monthly|в\s+месяц|/\s*мес"
     r"|pro\s+monat|monatlich|/\s*monat|mtl\.", "month"),
    (r"per\s+year|a\s+year|/\s*y(?:ea)?r\b|yearly|annually|annual|per\s+annum"
     r"|p\.\s?a\.|\bpa\b|lpa\b|в\s+год|/\s*год|pro\s+jahr|/\s*jahr|jährlich", "year"),
)  # fmt: skip
_KEYWORDS = re.compile(
    r"salary|salaries|pay\b|paid|compensation|wage|rate\b|earn|remuneration"
    r"|gehalt|vergütung|lohn|зарплат|заработн|оклад|доход|\bзп\b|salario|salaire"
    r"|lön|ctc|stipend",
    re.IGNORECASE,
)
_NOT_MONEY_AFTER = re.compile(
    r"\s*(?:%|percent|\+?\s*(?:hours?|hrs?|years?|yrs?|days?|weeks?|months?"
    r"|billion|bn|milliard|млрд|people|employees|users|staff|members|countries|customers|лет|года?|час))",
    re.IGNORECASE,
)


def _alternation(tokens: list[str]) -> str:
    parts = []
    for token in sorted(tokens, key=len, reverse=True):
        escaped = re.escape(token)
        if token[0].isalpha():
            escaped = r"(?<![^\W\d_])" + escaped
        if token[-1].isalpha():
            escaped += r"(?![^\W\d_])"
        parts.append(escaped)
    return "|".join(parts)


_CUR = _alternation(list(_CURRENCIES))
_MAG = _alternation([*_MAGNITUDES, "K", "M"])
_NUM = (
    r"(?<![\w.,])(?:\d{1,2}(?:,\d{2})+,\d{3}"  # Indian grouping: 9,00,000
    r"|\d{1,3}(?:[,.\u00a0\u2009\u202f '\u2019]\d{3})+(?:[.,]\d{1,2})?"
    r"|\d+(?:[.,]\d+)?)(?![.,]?\d)"
)
_SEP = r"\s*(?:-|\u2013|\u2014|\u2212|~)\s*|\s+(?:to|до|bis|and|und)\s+"
_PATTERN = re.compile(
    rf"(?P<pre>\b(?:from|starting\s+at|up\s+to|bis\s+zu|ab|от|до)\s+)?"
    rf"(?:(?P<c1>{_CUR})\s*)?(?P<n1>{_NUM})(?:\s?(?P<m1>{_MAG}))?(?:\s*(?P<c2>{_CUR}))?"
    rf"(?:(?:{_SEP})(?:(?P<c3>{_CUR})\s*)?(?P<n2>{_NUM})(?:\s?(?P<m2>{_MAG}))?"
    rf"(?:\s*(?P<c4>{_CUR}))?)?",
    re.IGNORECASE,
)
_CODE = re.compile(r"(?<![A-Za-z])(USD|CAD|AUD|NZD|HKD|SGD|JPY|CNY|MXN)(?![A-Za-z])")


@dataclass(frozen=True)
class SalaryRange:
    """A salary range in whole currency units; either bound may be open."""

    min: int | None
    max: int | None
    currency: str | None
    period: SalaryPeriod | None


def parse_salary_text(text: str) -> SalaryRange | None:
    """Parse the first salary range in prose, or None when it is ambiguous."""
    text = text[:5_000]
    has_keyword = _KEYWORDS.search(text) is not None
    for match in _PATTERN.finditer(text):
        found = _from_match(match, text, has_keyword)
        if found is not None:
            return found
    return None


def parse_amount(text: str) -> float | None:
    """Parse one written number such as "55.000", "1,5" or "120 000"; None if none."""
    raw = text.strip()
    for space in ("\u00a0", "\u2009", "\u202f", " ", "'", "\u2019"):
        raw = raw.replace(space, "")
    if not re.fullmatch(r"\d+(?:[.,]\d+)*", raw):
        return None
    last = max(raw.rfind("."), raw.rfind(","))
    if last >= 0 and len(raw) - last - 1 != 3:
        whole, fraction = raw[:last], raw[last + 1 :]
        return float(re.sub(r"[.,]", "", whole) + "." + fraction)
    return float(re.sub(r"[.,]", "", raw))


def currency_code(token: str) -> str | None:
    """The ISO code of a currency symbol or code, or None when unknown."""
    token = token.strip()
    return _CURRENCIES.get(token) or _CURRENCIES.get(token.upper())


def period_from_text(text: str) -> SalaryPeriod | None:
    """The pay period a phrase names ("per hour", "p.a.", "в месяц"), if any."""
    for pattern, period in _PERIODS:
        if re.search(pattern, text, re.IGNORECASE):
            return period
    return None


def checked_range(
    low: float | None,
    high: float | None,
    currency: str | None,
    period: SalaryPeriod | None,
) -> SalaryRange | None:
    """A SalaryRange from raw bounds, or None when the bounds are implausible."""
    bounds = [value for value in (low, high) if value is not None]
    if not bounds or any(value < 1 or value > MAX_AMOUNT for value in bounds):
        return None
    if low is not None and high is not None and (low > high or high > low * MAX_SPREAD):
        return None
    rounded_low = None if low is None else round(low)
    rounded_high = None if high is None else round(high)
    return SalaryRange(rounded_low, rounded_high, currency, period)


def _from_match(
    match: re.Match[str], text: str, has_keyword: bool
) -> SalaryRange | None:
    symbols = [match[name] for name in ("c1", "c2", "c3", "c4") if match[name]]
    if not symbols and not has_keyword:
        return None
    if not symbols and _looks_like_other_number(match, text):
        return None
    low, high = _scaled_bounds(match)
    if low is None:
        return None
    low, high = _open_bounds(match["pre"], low, high)
    before = text[max(0, match.start() - _WINDOW) : match.start()]
    after = text[match.end() : match.end() + _WINDOW]
    currency = _resolve_currency(symbols, before + match[0] + after)
    period = period_from_text(match[0] + after) or period_from_text(before)
    if not _plausible(match, low, high, period, has_keyword):
        return None
    return checked_range(low, high, currency, period)


def _plausible(
    match: re.Match[str],
    low: float | None,
    high: float | None,
    period: SalaryPeriod | None,
    has_keyword: bool,
) -> bool:
    largest = max(value for value in (low, high) if value is not None)
    if period is None and largest < 100:
        return False
    millions = any(_magnitude(match[name]) == 1_000_000 for name in ("m1", "m2"))
    return has_keyword or not millions


def _looks_like_other_number(match: re.Match[str], text: str) -> bool:
    if _NOT_MONEY_AFTER.match(text, match.end()):
        return True
    value = parse_amount(match["n1"])
    single = match["n2"] is None and match["m1"] is None
    return single and value is not None and 1900 <= value <= 2100


def _scaled_bounds(match: re.Match[str]) -> tuple[float | None, float | None]:
    low = parse_amount(match["n1"])
    high = parse_amount(match["n2"]) if match["n2"] else None
    low_scale = _magnitude(match["m1"])
    high_scale = _magnitude(match["m2"])
    if low is None:
        return None, None
    if high is None:
        return low * (low_scale or 1), None
    # "$150-190k": a suffix written once at the end belongs to both sides.
    if (
        low_scale is None
        and high_scale is not None
        and low * high_scale <= high * high_scale
    ):
        low_scale = high_scale if low < 1_000 else 1
    if high_scale is None and low_scale is not None and high < 1_000:
        high_scale = low_scale
    return low * (low_scale or 1), high * (high_scale or 1)


def _magnitude(token: str | None) -> int | None:
    return None if token is None else _MAGNITUDES.get(token.lower())


def _open_bounds(
    prefix: str | None, low: float, high: float | None
) -> tuple[float | None, float | None]:
    if high is not None:
        return low, high
    if not prefix:
        return low, low
    word = prefix.strip().lower()
    if word in ("до", "bis zu") or word.startswith("up"):
        return None, low
    return low, None


def _resolve_currency(symbols: list[str], context: str) -> str | None:
    codes = [code for code in (currency_code(symbol) for symbol in symbols) if code]
    if not codes:
        return None
    if symbols[0] in _AMBIGUOUS:
        explicit = _CODE.search(context)
        if explicit:
            return explicit.group(1)
    return codes[0]
