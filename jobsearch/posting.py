"""One job posting, normalised: what extraction yields and the store writes.

The fields follow the `jobs` table that the original frontend renders; the store adds
the row's own columns (`id`, `user_id`, `search_id`, timestamps).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

RemoteType = Literal["Remote", "Hybrid", "On-site"]
SalaryPeriod = Literal["hour", "day", "week", "month", "year"]


class Posting(BaseModel):
    """A normalised job posting found on one page."""

    model_config = ConfigDict(extra="forbid")

    source_id: str = Field(min_length=1, max_length=2100)
    title: str = Field(min_length=1, max_length=300)
    company: str = Field(default="Unknown company", min_length=1, max_length=200)
    company_logo: str | None = None
    description: str | None = None
    location: str | None = None
    remote_type: RemoteType | None = None
    employment_type: str | None = None
    experience_level: str | None = None
    salary_min: int | None = Field(default=None, ge=0)
    salary_max: int | None = Field(default=None, ge=0)
    salary_currency: str | None = Field(default=None, min_length=3, max_length=3)
    salary_period: SalaryPeriod | None = None
    tags: list[str] = Field(default_factory=list)
    apply_url: str | None = None
    posted_at: datetime | None = None
    expires_at: datetime | None = None
    raw_data: dict[str, Any] = Field(default_factory=dict)
