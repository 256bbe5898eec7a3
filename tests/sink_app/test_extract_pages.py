"""Extraction of the demo pages in examples/pages, as their README states."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from jobsearch.posting import Posting
from sink_app.pipeline.extract import extract_postings

PAGES = Path(__file__).resolve().parents[2] / "examples" / "pages"
BASE = "http://127.0.0.1:8765/"


def posting_summary(posting: Posting) -> tuple[Any, ...]:
    """The fields the extraction tables compare, in table order."""
    return (
        posting.title,
        posting.company,
        posting.location,
        posting.remote_type,
        posting.salary_min,
        posting.salary_max,
        posting.salary_currency,
        posting.salary_period,
    )


def _extract(name: str) -> tuple[str, list[Posting]]:
    extraction = extract_postings((PAGES / name).read_bytes(), BASE + name)
    return extraction.method, extraction.postings


@pytest.mark.parametrize(
    ("name", "method", "expected"),
    [
        (
            "01-jsonld-single.html",
            "json-ld",
            ("Senior Backend Engineer (Python)", "Nordlicht Analytics GmbH",
             "Berlin, BE, DE", "Hybrid", 70000, 90000, "EUR", "year"),
        ),
        (
            "02-microdata.html",
            "microdata",
            ("Data Analyst", "Harbor & Pine Logistics", "Rotterdam, NL", None,
             3800, 4600, "EUR", "month"),
        ),
        (
            "03-no-markup.html",
            "heuristic",
            ("Frontend Developer (React)", "Bluefin Labs", "Austin, TX (on-site)",
             "On-site", 120000, 150000, "USD", "year"),
        ),
        (
            "04-remote.html",
            "json-ld",
            ("Site Reliability Engineer", "Cobalt Ridge Software",
             "Remote (United States, Canada)", "Remote", 60, 75, "USD", "hour"),
        ),
        (
            "05-russian.html",
            "json-ld",
            ("Python-разработчик", "ООО «Северный Код»", "Новосибирск, RU", "Hybrid",
             180000, 250000, "RUB", "month"),
        ),
        (
            "07-rdfa.html",
            "rdfa",
            ("UX Researcher", "Quillbrook Media", "Dublin, IE", None,
             62000, 62000, "EUR", None),
        ),
        (
            "08-broken-jsonld.html",
            "json-ld",
            ("Events & Marketing Coordinator", "Tidewater Events Co.",
             "Lisboa, Portugal", None, 32000, 38000, "EUR", "year"),
        ),
    ],
)  # fmt: skip
def test_extract_postings_example_page_matches_readme(
    name: str, method: str, expected: tuple[Any, ...]
) -> None:
    """Each single-posting demo page yields the posting its README row lists."""
    found_method, postings = _extract(name)
    assert found_method == method
    assert [posting_summary(posting) for posting in postings] == [expected]


def test_extract_postings_example_listing_yields_three() -> None:
    """The careers page yields its three postings with their own source ids."""
    method, postings = _extract("06-listing.html")
    assert method == "json-ld"
    assert [(p.source_id, *posting_summary(p)) for p in postings[:2]] == [
        ("https://maplewood.example.test/careers/1001", "Registered Nurse, Night Shift",
         "Maplewood Health", "Portland, OR, US", None, 38, 46, "USD", "hour"),
        (BASE + "careers/1002", "Clinical Data Engineer", "Maplewood Health",
         "Portland, OR, US; Seattle, WA, US", None, 130000, 160000, "USD", "year"),
    ]  # fmt: skip
    third = postings[2]
    assert third.source_id.startswith(BASE + "06-listing.html#posting-")
    assert posting_summary(third) == (
        "Patient Support Specialist", "Maplewood Health", "Remote (Oregon)", "Remote",
        None, None, None, None,
    )  # fmt: skip
    assert {p.company_logo for p in postings} == {
        "https://maplewood.example.test/logo.png"
    }


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("04-remote.html", "- Terraform & Kubernetes\n- Incident reviews"),
        ("08-broken-jsonld.html", "sponsor evenings. Work with venues"),
        ("08-broken-jsonld.html", "festivals &amp; sponsor"),
    ],
)
def test_extract_postings_example_descriptions_clean(name: str, expected: str) -> None:
    """Descriptions hold clean text: scripts dropped, entities decoded exactly once."""
    _, postings = _extract(name)
    description = postings[0].description or ""
    assert expected in description
    assert "alert" not in description
    assert "<" not in description


def test_extract_postings_example_pages_all_covered() -> None:
    """Every demo page yields at least one posting (the demo relies on it)."""
    names = sorted(path.name for path in PAGES.glob("*.html"))
    assert len(names) >= 6
    assert all(_extract(name)[1] for name in names)
