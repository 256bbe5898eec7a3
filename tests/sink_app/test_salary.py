"""Salary ranges in prose: magnitude, separators, currencies, periods, ambiguity."""

from __future__ import annotations

import pytest

from sink_app.pipeline.salary import SalaryRange, parse_amount, parse_salary_text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$150-190k", SalaryRange(150_000, 190_000, "USD", None)),
        ("$150k-190k", SalaryRange(150_000, 190_000, "USD", None)),
        ("$90,000-120k", SalaryRange(90_000, 120_000, "USD", None)),
        ("$120k–$150k per year", SalaryRange(120_000, 150_000, "USD", "year")),
        ("€55.000 - €65.000 brutto/Jahr", SalaryRange(55_000, 65_000, "EUR", "year")),
        ("£40-45k p.a.", SalaryRange(40_000, 45_000, "GBP", "year")),
        ("GBP 38,500 per annum", SalaryRange(38_500, 38_500, "GBP", "year")),
        ("C$80,000 to C$95,000 annually", SalaryRange(80_000, 95_000, "CAD", "year")),
        ("A$110k — A$130k", SalaryRange(110_000, 130_000, "AUD", None)),
        ("US$ 70 000 - 85 000", SalaryRange(70_000, 85_000, "USD", None)),
        ("CHF 120'000 – 140'000", SalaryRange(120_000, 140_000, "CHF", None)),
        ("Rate : €375 - 400 a day", SalaryRange(375, 400, "EUR", "day")),
        ("$25/hr", SalaryRange(25, 25, "USD", "hour")),
        ("$40 an hour", SalaryRange(40, 40, "USD", "hour")),
        ("1.5k EUR per month", SalaryRange(1_500, 1_500, "EUR", "month")),
        ("2 thousand USD a week", SalaryRange(2_000, 2_000, "USD", "week")),
        ("₹12-18 LPA", SalaryRange(1_200_000, 1_800_000, "INR", "year")),
        ("INR 9,00,000 per annum", SalaryRange(900_000, 900_000, "INR", "year")),
        ("Rs. 9,00,0 per annum", None),
        ("¥6,000,000 / year (JPY)", SalaryRange(6_000_000, 6_000_000, "JPY", "year")),
        ("$200,000 (CAD) per year", SalaryRange(200_000, 200_000, "CAD", "year")),
        (
            "от 150 000 до 200 000 руб. в месяц",
            SalaryRange(150_000, 200_000, "RUB", "month"),
        ),
        ("100 000 – 150 000 ₽ в месяц", SalaryRange(100_000, 150_000, "RUB", "month")),
        ("до 200 000 ₽", SalaryRange(None, 200_000, "RUB", None)),
        ("Зарплата от 120 тыс. руб.", SalaryRange(120_000, None, "RUB", None)),
        ("Earn from 400 SEK per hour", SalaryRange(400, None, "SEK", "hour")),
        ("up to $120k", SalaryRange(None, 120_000, "USD", None)),
        ("Salary: 65000", SalaryRange(65_000, 65_000, None, None)),
        ("Gehalt: 4.200 € monatlich", SalaryRange(4_200, 4_200, "EUR", "month")),
        (
            "US: $207000 - $301000 (USD) + 20% bonus",
            SalaryRange(207_000, 301_000, "USD", None),
        ),
    ],
)
def test_parse_salary_text_written_range_parsed_with_right_magnitude(
    text: str, expected: SalaryRange
) -> None:
    """Each way of writing a salary gives whole units, ISO currency and period."""
    assert parse_salary_text(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "We have 150-190 engineers",
        "40 hours per week",
        "Salary: 40 hours per week",
        "Salary review in 2026",
        "With over 111 million global active users",
        "raised $20M in a Series A",
        "a $1 billion market",
        "20% bonus target",
        "$190k-150k",
        "$5 - $190k",
        "Salary: $50",
        "plus a 401(k) match",
        "Salary: competitive",
    ],
)
def test_parse_salary_text_ambiguous_or_not_money_returns_none(text: str) -> None:
    """No currency and no keyword, inverted or absurd ranges and non-pay numbers."""
    assert parse_salary_text(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("55.000", 55_000.0),
        ("55,000.50", 55_000.5),
        ("1.234.567,89", 1_234_567.89),
        ("1,5", 1.5),
        ("120 000", 120_000.0),
        ("120\u202f000", 120_000.0),
        ("120'000", 120_000.0),
        ("12,50", 12.5),
        ("abc", None),
    ],
)
def test_parse_amount_separators_read_by_group_size(
    text: str, expected: float | None
) -> None:
    """Three-digit groups are thousands; one or two trailing digits are decimals."""
    assert parse_amount(text) == expected


def test_parse_salary_text_huge_input_bounded() -> None:
    """A long text is scanned only at its start and never raises."""
    text = "lorem ipsum 12 " * 50_000 + "$150-190k"
    assert parse_salary_text(text) is None
