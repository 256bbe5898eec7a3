"""Values the producer tests share: the produce URL and one signed-in user."""

from __future__ import annotations

import time
from typing import Any

PRODUCE_URL = (
    "http://rest.example.test/kafka/v3/clusters/lkc-test"
    "/topics/job-search-requests/records"
)
USER_ID = "8a3c1f1e-6f0b-4b6e-9d0e-1f2a3b4c5d6e"


def user_claims(**overrides: Any) -> dict[str, Any]:
    """Claims of a valid signed-in user's token; an override of None drops a claim."""
    values = {
        "sub": USER_ID,
        "aud": "authenticated",
        "role": "authenticated",
        "exp": int(time.time()) + 600,
        **overrides,
    }
    return {key: value for key, value in values.items() if value is not None}
