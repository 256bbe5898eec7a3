"""Extraction from small inline pages: every JobPosting shape, text, fuzzing."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from jobsearch.posting import Posting
from sink_app.pipeline.extract import Extraction, extract_postings

URL = "https://jobs.example.test/p/1"
POSTING = {"@type": "JobPosting", "title": "Backend Engineer"}


def _page(*blocks: Any, body: str = "") -> str:
    scripts = "".join(
        '<script type="application/ld+json">'
        + (block if isinstance(block, str) else json.dumps(block, ensure_ascii=False))
        + "</script>"
        for block in blocks
    )
    return f"<html><head>{scripts}</head><body>{body}</body></html>"


def _one(html: str | bytes, url: str = URL) -> Posting:
    extraction = extract_postings(html, url)
    assert len(extraction.postings) == 1, extraction
    return extraction.postings[0]


def _titles(extraction: Extraction) -> list[str]:
    return [posting.title for posting in extraction.postings]


@pytest.mark.parametrize(
    "data",
    [
        POSTING,
        [{"@type": "Organization", "name": "Example GmbH"}, POSTING],
        {"@context": "https://schema.org", "@graph": [POSTING]},
        {
            "@type": "ItemList",
            "itemListElement": [{"@type": "ListItem", "item": POSTING}],
        },
        {"@type": "WebPage", "mainEntity": POSTING},
        {**POSTING, "@type": ["JobPosting", "Thing"]},
        {**POSTING, "@type": "https://schema.org/JobPosting"},
        {**POSTING, "@type": "http://schema.org/JobPosting"},
    ],
)
def test_extract_postings_jsonld_nesting_found(data: Any) -> None:
    """A JobPosting is found at every nesting the schema.org spec allows."""
    extraction = extract_postings(_page(data), URL)
    assert extraction.method == "json-ld"
    assert _titles(extraction) == ["Backend Engineer"]


def test_extract_postings_broken_block_skipped_others_read() -> None:
    """JP-2: a broken block is skipped; CDATA, comments, `;`, raw newlines repaired."""
    repaired = (
        "\n// <![CDATA[\n"
        '{"@context":"https://schema.org","@type":"JobPosting","title":"Data Engineer",'
        '"description":"Line one\nline two",};\n// ]]>\n'
    )
    html = _page(
        {"@type": "Organization", "name": "Example GmbH"},
        '{ "@type": "BreadcrumbList", "itemListElement": [ }',
        repaired,
    )
    extraction = extract_postings(html, URL)
    assert _titles(extraction) == ["Data Engineer"]
    assert extraction.postings[0].description == "Line one\nline two"
    assert extraction.notes == ["1 broken JSON-LD block(s) skipped"]


def test_extract_postings_html_comment_wrapped_block_read() -> None:
    """A block wrapped in an HTML comment, with a trailing comma, is repaired."""
    block = (
        '<!-- {"@type": "JobPosting", "title": "QA Lead", "employmentType": [],} -->'
    )
    assert _one(_page(block)).title == "QA Lead"


@pytest.mark.parametrize(
    ("node", "expected"),
    [
        (
            {"baseSalary": "100000", "salaryCurrency": "USD"},
            (100000, 100000, "USD", None),
        ),
        ({"baseSalary": 52000.0, "salaryCurrency": "eur"}, (52000, 52000, "EUR", None)),
        (
            {
                "baseSalary": {
                    "@type": "MonetaryAmount",
                    "currency": "USD",
                    "value": {
                        "@type": "QuantitativeValue",
                        "value": 40.0,
                        "unitText": "HOUR",
                    },
                }
            },
            (40, 40, "USD", "hour"),
        ),
        (
            {
                "baseSalary": {
                    "@type": "MonetaryAmount",
                    "currency": "EUR",
                    "value": {
                        "@type": "QuantitativeValue",
                        "minValue": 3200,
                        "maxValue": 4200,
                        "unitText": "MONTH",
                    },
                }
            },
            (3200, 4200, "EUR", "month"),
        ),
        (
            {
                "baseSalary": {
                    "@type": "MonetaryAmount",
                    "currency": "USD",
                    "value": {
                        "@type": "QuantitativeValue",
                        "value": "$100,000",
                        "unitText": "YEAR",
                    },
                }
            },
            (100000, 100000, "USD", "year"),
        ),
        (
            {"baseSalary": {"currency": "GBP", "value": 450, "unitText": "DAY"}},
            (450, 450, "GBP", "day"),
        ),
        (
            {"baseSalary": {"currency": "CAD", "minValue": "900", "maxValue": "1,100"}},
            (900, 1100, "CAD", None),
        ),
        (
            {
                "estimatedSalary": [
                    {
                        "currency": "USD",
                        "value": {
                            "minValue": 1900,
                            "maxValue": 2100,
                            "unitText": "WEEK",
                        },
                    }
                ]
            },
            (1900, 2100, "USD", "week"),
        ),
        ({"baseSalary": "$150-190k"}, (150000, 190000, "USD", None)),
        ({"baseSalary": {"currency": "USD", "minValue": 90, "maxValue": 50}}, None),
        ({"baseSalary": {"currency": "USD", "value": -5}}, None),
        ({"baseSalary": {"currency": "USD", "value": True}}, None),
        ({"baseSalary": "competitive"}, None),
    ],
)
def test_extract_postings_base_salary_shapes_normalised(
    node: dict[str, Any], expected: tuple[Any, ...] | None
) -> None:
    """JP-4: each baseSalary shape gives integers, ISO currency and period, or nulls."""
    posting = _one(_page({**POSTING, **node}))
    found = (
        posting.salary_min,
        posting.salary_max,
        posting.salary_currency,
        posting.salary_period,
    )
    assert found == (expected or (None, None, None, None))


def test_extract_postings_entity_encoded_html_decoded_once() -> None:
    """JP-5: escaped HTML becomes text once; scripts go; `&amp;amp;` keeps one level."""
    node = {
        **POSTING,
        "title": "Events &amp; Marketing Coordinator",
        "description": "&lt;p&gt;Plan events &amp;amp; campaigns&lt;/p&gt;"
        "&lt;script&gt;alert(1)&lt;/script&gt;&lt;ul&gt;&lt;li&gt;Budgeting&lt;/li&gt;&lt;/ul&gt;",
    }
    posting = _one(_page(node))
    assert posting.title == "Events & Marketing Coordinator"
    assert posting.description == "Plan events & campaigns\n\n- Budgeting"


@pytest.mark.parametrize(
    ("description", "expected"),
    [
        ("<p>Tea &amp;amp; cake</p>", "Tea &amp; cake"),
        ("<p>One</p>\n\n\n<p>Two   three</p><style>p{}</style>", "One\n\nTwo three"),
        ("Plain text with\n\n\n\nbreaks", "Plain text with\n\nbreaks"),
        ("<ul><li>A</li><li>B</li></ul>", "- A\n- B"),
        ("AT&amp;T &lt; 3", "AT&T < 3"),
    ],
)
def test_extract_postings_description_clean_text(
    description: str, expected: str
) -> None:
    """Descriptions are text: tags and styles dropped, breaks kept, entities once."""
    assert _one(_page({**POSTING, "description": description})).description == expected


def test_extract_postings_description_bounded() -> None:
    """A huge description is cut to a bounded length."""
    posting = _one(_page({**POSTING, "description": "<p>" + "word " * 20_000 + "</p>"}))
    assert posting.description is not None
    assert 19_000 < len(posting.description) <= 20_002


def test_extract_postings_locations_and_remote_requirements_kept() -> None:
    """JP-6: all locations, string addresses, TELECOMMUTE and allowed countries."""
    node = {
        **POSTING,
        "jobLocation": [
            {
                "@type": "Place",
                "address": {
                    "@type": "PostalAddress",
                    "addressLocality": "Berlin",
                    "addressCountry": "DE",
                },
            },
            {"@type": "Place", "address": "Wien"},
        ],
        "jobLocationType": "TELECOMMUTE",
        "applicantLocationRequirements": [
            {"@type": "Country", "name": "DE"},
            {"@type": "Country", "name": "AT"},
        ],
    }
    posting = _one(_page(node))
    assert posting.location == "Berlin, DE; Wien"
    assert posting.remote_type == "Remote"
    assert posting.raw_data["applicant_locations"] == ["DE", "AT"]


@pytest.mark.parametrize(
    ("node", "location", "remote"),
    [
        (
            {
                "jobLocation": {
                    "address": {
                        "addressLocality": "Lyon",
                        "addressRegion": "ARA",
                        "addressCountry": {"@type": "Country", "name": "FR"},
                    }
                }
            },
            "Lyon, ARA, FR",
            None,
        ),
        ({"jobLocation": {"@type": "Place", "name": "HQ Campus"}}, "HQ Campus", None),
        (
            {"applicantLocationRequirements": {"@type": "Country", "name": "USA"}},
            "Remote (USA)",
            "Remote",
        ),
        ({"jobLocationType": ["TELECOMMUTE"]}, "Remote", "Remote"),
        (
            {"jobLocation": {"address": "Latin America (remote)"}},
            "Latin America (remote)",
            "Remote",
        ),
        ({"jobLocation": {"address": "Munich (hybrid)"}}, "Munich (hybrid)", "Hybrid"),
        (
            {"jobLocation": {"address": "Москва"}, "title": "Аналитик (удалённо)"},
            "Москва",
            "Remote",
        ),
        ({"description": "<p>We are a fully remote team.</p>"}, "Remote", "Remote"),
        ({"description": "<p>This is not a remote role.</p>"}, None, None),
    ],
)
def test_extract_postings_location_shapes_and_remote_words(
    node: dict[str, Any], location: str | None, remote: str | None
) -> None:
    """PostalAddress, Country objects, names and remote words are read sensibly."""
    posting = _one(_page({**POSTING, **node}))
    assert (posting.location, posting.remote_type) == (location, remote)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("FULL_TIME", "Full-time"),
        (["FULL_TIME", "PART_TIME"], "Full-time, Part-time"),
        ("CONTRACTOR", "Contract"),
        ("INTERN", "Internship"),
        ("Full-time", "Full-time"),
        ("Shift work", "Shift work"),
        ([], None),
    ],
)
def test_extract_postings_employment_type_readable(
    value: Any, expected: str | None
) -> None:
    """Employment types from strings or lists become readable words."""
    assert _one(_page({**POSTING, "employmentType": value})).employment_type == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-06-29", datetime(2026, 6, 29, tzinfo=UTC)),
        (
            "2026-06-19T19:36:02+03:00",
            datetime(2026, 6, 19, 19, 36, 2, tzinfo=timezone(timedelta(hours=3))),
        ),
        ("2026-09-11T07:46:06Z", datetime(2026, 9, 11, 7, 46, 6, tzinfo=UTC)),
        (
            "2026-09-11T07:46:06.765320",
            datetime(2026, 9, 11, 7, 46, 6, 765320, tzinfo=UTC),
        ),
        ("last Tuesday", None),
        (20260101, None),
    ],
)
def test_extract_postings_dates_aware_or_none(
    value: Any, expected: datetime | None
) -> None:
    """Dates become aware datetimes; date-only is midnight UTC; nonsense is None."""
    posting = _one(_page({**POSTING, "datePosted": value, "validThrough": value}))
    assert posting.posted_at == expected
    assert posting.expires_at == expected


def test_extract_postings_organization_logo_and_urls_absolute() -> None:
    """Company name and logo (ImageObject, relative) and the posting URL resolve."""
    node = {
        **POSTING,
        "hiringOrganization": {
            "@type": "Organization",
            "name": "Example GmbH",
            "logo": {"@type": "ImageObject", "contentUrl": "/logo.png"},
        },
        "url": "/jobs/42",
    }
    posting = _one(_page(node))
    assert posting.company == "Example GmbH"
    assert posting.company_logo == "https://jobs.example.test/logo.png"
    assert posting.source_id == posting.apply_url == "https://jobs.example.test/jobs/42"


@pytest.mark.parametrize(
    ("org", "company"),
    [
        ("Example GmbH", "Example GmbH"),
        ([{"@type": "Organization", "legalName": "Example AG"}], "Example AG"),
        (None, "Unknown company"),
    ],
)
def test_extract_postings_company_shapes(org: Any, company: str) -> None:
    """hiringOrganization as a string, a list or absent."""
    assert _one(_page({**POSTING, "hiringOrganization": org})).company == company


def test_extract_postings_id_reference_inlined() -> None:
    """A hiringOrganization given as an @id reference within @graph is resolved."""
    data = {
        "@graph": [
            {"@type": "Organization", "@id": "#org", "name": "Example GmbH"},
            {**POSTING, "hiringOrganization": {"@id": "#org"}},
        ]
    }
    assert _one(_page(data)).company == "Example GmbH"


def test_extract_postings_listing_source_ids_stable_and_distinct() -> None:
    """Postings without their own URL get page-URL suffixes that survive reordering."""
    nodes = [{**POSTING, "title": f"Role {n}"} for n in range(3)]
    first = extract_postings(_page({"@graph": nodes}), URL).postings
    second = extract_postings(_page({"@graph": nodes[::-1]}), URL).postings
    ids = {posting.title: posting.source_id for posting in first}
    assert len(set(ids.values())) == 3
    assert all(value.startswith(URL + "#posting-") for value in ids.values())
    assert {posting.title: posting.source_id for posting in second} == ids


def test_extract_postings_duplicate_nodes_yield_one_posting() -> None:
    """The same posting in two blocks is kept once."""
    node = {**POSTING, "url": "https://jobs.example.test/p/7"}
    extraction = extract_postings(_page(node, node), URL)
    assert [posting.source_id for posting in extraction.postings] == [node["url"]]


def test_extract_postings_untitled_node_skipped_with_note() -> None:
    """A JobPosting with neither title nor name is skipped, not invented."""
    extraction = extract_postings(_page({"@type": "JobPosting"}), URL)
    assert (extraction.postings, extraction.method) == ([], "none")
    assert "JobPosting without a title skipped" in extraction.notes


def test_extract_postings_raw_data_bounded() -> None:
    """raw_data records method, page URL and a trimmed node."""
    posting = _one(
        _page({**POSTING, "description": "x" * 50_000, "tags": list(range(99))})
    )
    raw = posting.raw_data
    assert (raw["method"], raw["page_url"]) == ("json-ld", URL)
    assert len(raw["node"]["description"]) <= 1_001
    assert len(raw["node"]["tags"]) == 30


def test_extract_postings_microdata_full_iri_types() -> None:
    """Microdata with http://schema.org IRIs is read, text not decoded twice."""
    html = (
        '<div itemscope itemtype="http://schema.org/JobPosting">'
        '<h1 itemprop="title">R&amp;amp;D Engineer</h1>'
        '<div itemprop="hiringOrganization" itemscope itemtype="http://schema.org/Organization">'
        '<span itemprop="name">Example &amp; Co</span></div>'
        '<span itemprop="jobLocationType">TELECOMMUTE</span></div>'
    )
    extraction = extract_postings(html, URL)
    posting = extraction.postings[0]
    assert extraction.method == "microdata"
    assert (posting.title, posting.company) == ("R&amp;D Engineer", "Example & Co")
    assert posting.remote_type == "Remote"


def test_extract_postings_rdfa_references_resolved() -> None:
    """RDFa nodes are compacted and their references followed."""
    html = (
        '<div vocab="http://schema.org/" typeof="JobPosting">'
        '<span property="title">Welder</span>'
        '<div property="jobLocation" typeof="Place"><div property="address" '
        'typeof="PostalAddress"><span property="addressLocality">Gdańsk</span>'
        "</div></div>"
        "</div>"
    )
    extraction = extract_postings(html, URL)
    assert extraction.method == "rdfa"
    assert (extraction.postings[0].title, extraction.postings[0].location) == (
        "Welder",
        "Gdańsk",
    )


def test_extract_postings_bytes_with_declared_encoding() -> None:
    """Bytes decode with the given encoding, a meta charset, or UTF-8."""
    html = _page({**POSTING, "title": "Ingénieur"})
    assert _one(html.encode("latin-1"), URL).title != "Ingénieur"
    latin = extract_postings(html.encode("latin-1"), URL, encoding="latin-1")
    assert latin.postings[0].title == "Ingénieur"
    meta = '<meta charset="windows-1251">' + _page({**POSTING, "title": "Инженер"})
    assert _one(meta.encode("cp1251")).title == "Инженер"


def test_extract_postings_xml_declaration_accepted() -> None:
    """A str page with an XML encoding declaration still parses."""
    html = '<?xml version="1.0" encoding="utf-8"?>' + _page(POSTING)
    assert _one(html).title == "Backend Engineer"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "<h1>Warehouse Lead</h1><p>Location: Leeds</p><p>Salary: £28,000 - £31,000"
            " per year</p><p>Responsibilities include stock control.</p>",
            ("Warehouse Lead", "Leeds", (28000, 31000, "GBP", "year")),
        ),
        (
            "<h1>Бухгалтер</h1><p>Город: Казань</p>"
            "<p>Зарплата: от 90 000 до 120 000 руб."
            " в месяц</p><p>Обязанности: учёт. Требования: опыт.</p>",
            ("Бухгалтер", "Казань", (90000, 120000, "RUB", "month")),
        ),
    ],
)
def test_extract_postings_no_markup_heuristic_posting(
    body: str, expected: tuple[Any, ...]
) -> None:
    """Without structured data, labels and prose give one heuristic posting."""
    extraction = extract_postings(_page(body=body), URL)
    posting = extraction.postings[0]
    salary = (
        posting.salary_min,
        posting.salary_max,
        posting.salary_currency,
        posting.salary_period,
    )
    assert extraction.method == "heuristic"
    assert (posting.title, posting.location, salary) == expected
    assert posting.source_id == URL


@pytest.mark.parametrize(
    ("title", "body", "expected"),
    [
        (
            "Fernarbeit: Buchhalter (m/w/d)",
            "<p>Aufgaben und Anforderungen</p>",
            "Remote",
        ),
        ("Support agent, удаленно", "<p>Обязанности и требования</p>", "Remote"),
        ("Nurse (on-site)", "<p>Responsibilities and requirements</p>", "On-site"),
    ],
)
def test_extract_postings_heuristic_remote_words(
    title: str, body: str, expected: str
) -> None:
    """Remote words in several languages set the remote flag."""
    head = f"<head><title>{title} | Example Jobs</title></head>"
    html = f"<html>{head}<body>{body}</body></html>"
    assert _one(html).remote_type == expected


def test_extract_postings_heuristic_title_suffix_and_company() -> None:
    """A "Title at Company | Board" page title gives the title and the company."""
    html = (
        '<head><meta property="og:title" '
        'content="Data Analyst at Example Foods | Jobs Board">'
        "</head><body><p>Requirements: SQL.</p><p>Benefits: lunch.</p></body>"
    )
    posting = _one(html)
    assert (posting.title, posting.company) == ("Data Analyst", "Example Foods")


@pytest.mark.parametrize(
    "html",
    [
        "<html><head><title>About us</title></head><body><p>We love tea.</p></body>",
        "<html><body><p>No title anywhere, only requirements and benefits.</p></body>",
        "",
        b"",
        b"\x00\xff\xfe garbage",
        "<html",
        "{}",
        _page({"@type": "Article", "headline": "Hiring news"}),
    ],
)
def test_extract_postings_not_a_posting_yields_none(html: str | bytes) -> None:
    """Pages that do not look like one posting give zero postings, method none."""
    extraction = extract_postings(html, URL)
    assert (extraction.postings, extraction.method) == ([], "none")


def test_extract_postings_deep_nesting_bounded() -> None:
    """Deeply nested JSON-LD neither recurses forever nor raises."""
    deep = "[" * 50_000 + "]" * 50_000
    nested: dict[str, Any] = POSTING
    for _ in range(40):
        nested = {"@type": "WebPage", "mainEntity": nested}
    extraction = extract_postings(_page(deep, nested), URL)
    assert extraction.postings == []


def test_extract_postings_many_blocks_capped() -> None:
    """Only the first blocks of a page full of JSON-LD are read."""
    blocks = [{**POSTING, "title": f"Role {n}"} for n in range(80)]
    assert len(extract_postings(_page(*blocks), URL).postings) == 50


def test_extract_postings_random_and_truncated_input_never_raises() -> None:
    """Seeded fuzzing: random bytes and cut pages never make an exception escape."""
    rng = random.Random(20261204)
    seed = _page(
        {
            "@graph": [
                {
                    **POSTING,
                    "baseSalary": {"currency": "USD", "minValue": 1, "maxValue": 2},
                },
                {"@type": "ItemList", "itemListElement": [{"item": POSTING}]},
            ]
        },
        body='<div itemscope itemtype="https://schema.org/JobPosting">'
        '<span itemprop="title">T</span></div><div vocab="https://schema.org/" '
        'typeof="JobPosting"><span property="title">R</span></div>'
        "<h1>Role</h1><p>Salary: $150-190k</p>",
    )
    alphabet = '<>{}[]":,/&;#x' + "абв€$k0123456789 \n"
    for _ in range(300):
        kind = rng.randrange(3)
        if kind == 0:
            data: str | bytes = rng.randbytes(rng.randrange(0, 400))
        elif kind == 1:
            data = seed[: rng.randrange(len(seed))]
        else:
            cut = list(seed)
            for _ in range(rng.randrange(1, 20)):
                cut[rng.randrange(len(cut))] = rng.choice(alphabet)
            data = "".join(cut)
        extraction = extract_postings(data, URL)
        assert extraction.method in (
            "json-ld",
            "microdata",
            "rdfa",
            "heuristic",
            "none",
        )
