"""`uvicorn producer_app:app` and `uvicorn sink_app:app` find the apps."""

from __future__ import annotations

import importlib

import pytest
from starlette.applications import Starlette
from uvicorn.importer import import_from_string


@pytest.mark.parametrize("package", ["producer_app", "sink_app"])
def test_import_string_gives_the_app_even_after_submodule_imports(
    package: str, monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    """No submodule named `app` can shadow the package's lazy `app` attribute."""
    monkeypatch.chdir(str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/jobs.sqlite3")
    importlib.import_module(f"{package}.main")

    first = import_from_string(f"{package}:app")
    again = import_from_string(f"{package}:app")

    assert isinstance(first, Starlette)
    assert first is again
