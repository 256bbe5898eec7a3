"""The local enricher: skills, seniority and summary, without touching found fields."""

from __future__ import annotations

from typing import Any

import pytest

from jobsearch.posting import Posting
from sink_app.pipeline.enrich import (
    Enricher,
    LocalEnricher,
    experience_level,
    summarize,
)
from sink_app.pipeline.skills import MAX_TAGS, SKILLS, find_skills

DESCRIPTION = (
    "We are hiring a backend engineer to build our payments platform in Python. "
    "You will design APIs with FastAPI and PostgreSQL, e.g. ledgers and payouts. "
    "Benefits include a yearly learning budget."
)


def _posting(**fields: Any) -> Posting:
    values: dict[str, Any] = {
        "source_id": "https://jobs.example.test/p/1",
        "title": "Backend Engineer",
        "description": DESCRIPTION,
    }
    values.update(fields)
    return Posting(**values)


def test_skills_vocabulary_spellings_unique() -> None:
    """Every spelling names exactly one skill, so a match has one display name."""
    spellings = [
        spelling.lower()
        for skill in SKILLS
        for spelling in (skill.name, *skill.aliases)
    ]
    assert len(spellings) == len(set(spellings))
    assert len(SKILLS) >= 150


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Python, Django and PostgreSQL", ["Python", "Django", "PostgreSQL"]),
        ("Modern C++ and C# on .NET", ["C++", "C#", ".NET"]),
        ("ASP.NET Core services", ["ASP.NET"]),
        ("Node.js, Vue.js and TypeScript", ["Node.js", "Vue.js", "TypeScript"]),
        ("JavaScript, not Java", ["JavaScript", "Java"]),
        ("python and PYTHON and Python", ["Python"]),
        ("React and React Native", ["React", "React Native"]),
        ("react native apps", ["React Native"]),
        ("Kubernetes (k8s) on AWS/GCP", ["Kubernetes", "AWS", "GCP"]),
        ("CI/CD with GitHub Actions", ["CI/CD", "GitHub Actions"]),
        (
            "machine   learning and\nDeep Learning",
            ["Machine Learning", "Deep Learning"],
        ),
        ("Backend in Go.", ["Go"]),
        ("Go, Rust and golang", ["Go", "Rust"]),
        ("GoLang services", ["Go"]),
    ],
)
def test_find_skills_tokens_matched_on_word_boundaries(
    text: str, expected: list[str]
) -> None:
    """Skills with symbols and spaces are found, each once, in order of appearance."""
    assert find_skills(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Go to our careers page and go ahead.",
        "Our go-to-market team; Go-to-market plans.",
        "you will go further here",
        "Excel in a fast team",
        "express your interest by spring",
        "Visit jobs@python.org or python.org today",
        "We use Ember.js and Backbone.js",
        "JavaScripting, Pythonic, Rustacean, Gopher",
        "the rest of the team will react swiftly",
        "Internal tools for the ERPNext crowd",
    ],
)
def test_find_skills_ordinary_words_not_tagged(text: str) -> None:
    """Common words, verbs and parts of other words give no skill."""
    assert find_skills(text) == []


def test_find_skills_capped_at_limit() -> None:
    """At most MAX_TAGS skills come back, the first ones mentioned."""
    text = ", ".join(
        skill.aliases[0] if skill.aliases else skill.name for skill in SKILLS
    )

    found = find_skills(text)

    assert len(found) == MAX_TAGS
    assert found[0] == "Python"


@pytest.mark.parametrize(
    ("title", "level"),
    [
        ("Senior Python Developer", "Senior"),
        ("Sr. Data Engineer", "Senior"),
        ("Desarrollador Sénior", "Senior"),
        ("Старший разработчик", "Senior"),
        ("Ведущий инженер-программист", "Senior"),
        ("Junior Frontend Engineer", "Junior"),
        ("Jr Developer", "Junior"),
        ("Младший аналитик", "Junior"),
        ("Entry-level Analyst", "Junior"),
        ("Développeur débutant", "Junior"),
        ("Software Engineering Intern", "Intern"),
        ("Praktikant (m/w/d) Marketing", "Intern"),
        ("Werkstudentin Data Science", "Intern"),
        ("Stagiaire Développeur Web", "Intern"),
        ("Becario de Marketing", "Intern"),
        ("Стажёр-разработчик", "Intern"),
        ("Mid-Level Developer", "Mid-level"),
        ("Middle Python Developer", "Mid-level"),
        ("Desarrollador Semi Senior", "Mid-level"),
        ("Ingénieur confirmé", "Mid-level"),
        ("Tech Lead Backend", "Lead"),
        ("Staff Software Engineer", "Lead"),
        ("Senior Staff Engineer", "Lead"),
        ("Principal Engineer", "Lead"),
        ("Engineering Manager", "Manager"),
        ("Senior Engineering Manager", "Manager"),
        ("Head of Data", "Manager"),
        ("Director of Sales", "Manager"),
        ("Руководитель отдела разработки", "Manager"),
        ("Teamleiterin Buchhaltung", "Lead"),
        ("Senior Product Manager", "Senior"),
        ("Backend Engineer", None),
        ("Product Manager", None),
        ("Staff Accountant", None),
        ("Lead Generation Specialist", None),
        ("Internal Auditor", None),
        ("Middle East Sales Representative", None),
    ],
)
def test_experience_level_from_title(title: str, level: str | None) -> None:
    """Seniority words in several languages map to one level; none gives None."""
    assert experience_level(title) == level


def test_summarize_first_two_sentences_skips_headings() -> None:
    """Headings are skipped, abbreviations do not end a sentence, two sentences kept."""
    text = f"About the role\n\n{DESCRIPTION}"

    assert summarize(text) == (
        "We are hiring a backend engineer to build our payments platform in Python. "
        "You will design APIs with FastAPI and PostgreSQL, e.g. ledgers and payouts."
    )


def test_summarize_long_sentence_cut_on_word_boundary() -> None:
    """A sentence over the limit is cut between words and marked with an ellipsis."""
    text = "Build " + "reliable systems " * 40 + "today."

    summary = summarize(text, limit=100)

    assert summary is not None
    assert len(summary) <= 100
    assert summary.endswith("systems…")


def test_summarize_second_sentence_dropped_when_too_long() -> None:
    """The second sentence is added only while the summary stays within the limit."""
    text = "Short first one. " + "A second sentence " * 30 + "ends here."

    assert summarize(text, limit=120) == "Short first one."


@pytest.mark.parametrize("text", ["", "   \n  "])
def test_summarize_empty_text_gives_none(text: str) -> None:
    """No text, no summary."""
    assert summarize(text) is None


async def test_local_enricher_fills_empty_fields() -> None:
    """Tags, seniority and a summary are added to a bare posting."""
    posting = _posting(title="Senior Backend Engineer (Go)")

    enriched = await LocalEnricher().enrich(posting, page_text=None)

    assert enriched.tags == ["Go", "Python", "FastAPI", "PostgreSQL"]
    assert enriched.experience_level == "Senior"
    assert enriched.raw_data["summary"].startswith("We are hiring a backend engineer")
    assert enriched is not posting
    assert posting.tags == []
    assert posting.raw_data == {}


async def test_local_enricher_keeps_extracted_fields_and_merges_tags() -> None:
    """Found level and summary stay; tags keep theirs first and add new ones once."""
    posting = _posting(
        title="Senior Backend Engineer",
        experience_level="Mid-Senior",
        tags=["python", "Payments"],
        raw_data={"summary": "From the page.", "source": "json-ld"},
    )

    enriched = await LocalEnricher().enrich(posting, page_text=None)

    assert enriched.experience_level == "Mid-Senior"
    assert enriched.raw_data == {"summary": "From the page.", "source": "json-ld"}
    assert enriched.tags == ["python", "Payments", "FastAPI", "PostgreSQL"]


async def test_local_enricher_tags_capped_but_existing_kept() -> None:
    """Merging never drops extracted tags and never grows past MAX_TAGS."""
    existing = [f"tag{index}" for index in range(14)]
    posting = _posting(tags=existing)

    enriched = await LocalEnricher().enrich(posting, page_text=None)

    assert enriched.tags == [*existing, "Python"]


async def test_local_enricher_uses_page_text_without_description() -> None:
    """With no description, the page text feeds tags and summary."""
    posting = _posting(description=None, title="Data Engineer")

    enriched = await LocalEnricher().enrich(
        posting, page_text="You will run Airflow and dbt on Snowflake."
    )

    assert enriched.tags == ["Airflow", "dbt", "Snowflake"]
    assert enriched.raw_data["summary"] == "You will run Airflow and dbt on Snowflake."
    assert enriched.experience_level is None


async def test_local_enricher_is_deterministic_and_idempotent() -> None:
    """Enriching twice gives the same posting as enriching once."""
    enricher = LocalEnricher()
    once = await enricher.enrich(_posting(), page_text=None)

    twice = await enricher.enrich(once, page_text=None)

    assert twice == once


def test_local_enricher_satisfies_protocol() -> None:
    """LocalEnricher is an Enricher named "local"."""
    enricher: Enricher = LocalEnricher()

    assert enricher.name == "local"
