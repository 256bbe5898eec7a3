"""Enrichment stage: skills, seniority and a summary added to an extracted posting.

`LocalEnricher` is the keyless default: deterministic, no network, and it only fills
what extraction left empty (tags are merged). A model-backed enricher plugs in behind
the same `Enricher` protocol.
"""

from __future__ import annotations

import re
from typing import Protocol

from jobsearch.posting import Posting
from sink_app.pipeline.skills import MAX_TAGS, find_skills

SUMMARY_LIMIT = 300


class Enricher(Protocol):
    """Adds derived fields to a posting; never removes what extraction found."""

    name: str

    async def enrich(self, posting: Posting, *, page_text: str | None) -> Posting:
        """A new posting with derived fields filled in."""
        ...


INTERN, JUNIOR, MID, SENIOR, LEAD, MANAGER = (
    "Intern",
    "Junior",
    "Mid-level",
    "Senior",
    "Lead",
    "Manager",
)

# Checked in this order: the first level whose words appear in the title wins, so
# "Senior Engineering Manager" is a manager and "Senior Staff Engineer" a lead.
_LEVEL_WORDS: tuple[tuple[str, str], ...] = (
    (
        INTERN,
        r"intern|internship|trainee|apprentice|working student|werkstudent(?:in)?"
        r"|praktikant(?:in)?|praktikum|stagiaire|alternant(?:e)?|alternance"
        r"|becari[oa]|pr[aá]cticas|practicante|стаж[её]р|стажировка",
    ),
    (
        MANAGER,
        r"head of|head|director|directora?|directeur|directrice|vp|vice president"
        r"|chief|cto|cio|leiter(?:in)?|leitung|abteilungsleiter(?:in)?|gerente"
        r"|jef[ea]|responsable|руководитель|начальник|директор"
        r"|(?<!product )(?<!project )(?<!program )(?<!account )(?<!office )"
        r"(?<!community )(?<!content )(?<!success )manager",
    ),
    (
        LEAD,
        r"lead(?!\s+gen)|tech lead|team lead|teamlead|teamleiter(?:in)?|principal"
        r"|staff(?=\s+(?:\w+\s+){0,2}(?:engineer|developer|scientist|architect))"
        r"|l[ií]der|тимлид",
    ),
    (
        SENIOR,
        r"(?<!semi )(?<!semi-)(?<!mid )(?<!mid-)s[eé]nior|sr|старший|ведущий"
        r"|erfahrene[rn]?",
    ),
    (
        MID,
        r"mid[\s-]?level|mid[\s-]?senior|middle(?!\s+(?:east|school|office))"
        r"|intermediate|semi[\s-]?senior|confirm[eé]e?",
    ),
    (
        JUNIOR,
        r"junior|jr|entry[\s-]?level|graduate|berufseinsteiger(?:in)?|einsteiger"
        r"|d[eé]butant(?:e)?|младший|начинающий",
    ),
)
_LEVEL_PATTERNS = tuple(
    (level, re.compile(rf"(?<!\w)(?:{words})(?!\w)", re.IGNORECASE))
    for level, words in _LEVEL_WORDS
)


def experience_level(title: str) -> str | None:
    """The seniority a job title states, or None when it states none."""
    for level, pattern in _LEVEL_PATTERNS:
        if pattern.search(title):
            return level
    return None


_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+(?=[\"“(\[]?[\w])")
_BULLET = re.compile(r"^[-*•·–]\s*")
_ABBREVIATIONS = frozenset(
    {"e.g.", "i.e.", "z.b.", "etc.", "inc.", "dr.", "mr.", "ms."}
)


def summarize(text: str, limit: int = SUMMARY_LIMIT) -> str | None:
    """The first one or two sentences of `text`, at most `limit` characters."""
    sentences = _sentences(_prose(text))
    if not sentences:
        return None
    summary = sentences[0]
    if len(sentences) > 1 and len(summary) + 1 + len(sentences[1]) <= limit:
        summary = f"{summary} {sentences[1]}"
    return _cut(summary, limit)


def _prose(text: str) -> str:
    lines = [_BULLET.sub("", line).strip() for line in text.splitlines()]
    lines = [line for line in lines if line]
    prose = [line for line in lines if not _looks_like_heading(line)]
    return " ".join(" ".join(prose or lines).split())


def _looks_like_heading(line: str) -> bool:
    return len(line.split()) <= 6 and not line.endswith((".", "!", "?", "…", ":"))


def _sentences(text: str) -> list[str]:
    sentences: list[str] = []
    for piece in _SENTENCE_END.split(text):
        last_word = sentences[-1].rsplit(" ", 1)[-1].lower() if sentences else ""
        if last_word in _ABBREVIATIONS:
            sentences[-1] = f"{sentences[-1]} {piece}"
        elif piece:
            sentences.append(piece)
        if len(sentences) > 2:
            break
    return sentences


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    head = text[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,;:-")
    return f"{head}…"


class LocalEnricher:
    """Skills from a vocabulary, seniority from the title, a summary from the text."""

    name = "local"

    async def enrich(self, posting: Posting, *, page_text: str | None) -> Posting:
        """A copy of `posting` with tags merged and empty fields filled in."""
        text = posting.description or page_text or ""
        update: dict[str, object] = {
            "tags": _merge_tags(posting.tags, find_skills(f"{posting.title}\n{text}"))
        }
        if posting.experience_level is None:
            update["experience_level"] = experience_level(posting.title)
        summary = summarize(text)
        if summary and not posting.raw_data.get("summary"):
            update["raw_data"] = {**posting.raw_data, "summary": summary}
        return posting.model_copy(update=update)


def _merge_tags(existing: list[str], found: list[str]) -> list[str]:
    merged = list(existing)
    seen = {tag.casefold() for tag in existing}
    for tag in found:
        if len(merged) >= MAX_TAGS:
            break
        if tag.casefold() not in seen:
            merged.append(tag)
            seen.add(tag.casefold())
    return merged
