"""Substitute `${VAR}` placeholders in a connector file and write it owner-only.

Only upper-case names are placeholders; the connector's own lower-case templates
(`${topic}`, `${key}`) pass through untouched for the connector to expand.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path

from dotenv import dotenv_values

from jobsearch.connector.config import flatten_document, load_connector_document
from jobsearch.errors import ConfigurationError

PLACEHOLDER = re.compile(r"\$\{([A-Z][A-Z0-9_]*)\}")
DEFAULT_FILE = Path("connector/http-sink.json")
UNSAFE_CHARACTERS = frozenset("\r\n|\x00")
DEFAULT_OUT = Path("var/connector/http-sink.rendered.json")


def load_env(dotenv: Path = Path(".env")) -> dict[str, str]:
    """The process environment merged over the `.env` file, when there is one."""
    from_file = dotenv_values(dotenv) if dotenv.is_file() else {}
    values = {key: value for key, value in from_file.items() if value is not None}
    return {**values, **os.environ}


def placeholders(config: Mapping[str, str]) -> list[str]:
    """Every distinct placeholder name in the config, in order of appearance."""
    names: dict[str, None] = {}
    for value in config.values():
        names.update(dict.fromkeys(PLACEHOLDER.findall(value)))
    return list(names)


def render_connector(path: Path, env: Mapping[str, str]) -> dict[str, str]:
    """The flat config of `path` with every placeholder filled from `env`.

    Raises `ConfigurationError` naming every unresolved placeholder at once.
    """
    config = flatten_document(load_connector_document(path))
    names = placeholders(config)
    missing = [name for name in names if not env.get(name)]
    if missing:
        raise ConfigurationError(
            f"{path}: unresolved placeholders: {', '.join(missing)}"
        )
    # A line break or the header separator inside a value would smuggle in a header.
    unsafe = [name for name in names if set(env[name]) & UNSAFE_CHARACTERS]
    if unsafe:
        raise ConfigurationError(
            f"{path}: values contain a line break or '|': {', '.join(unsafe)}"
        )
    return {key: _substitute(value, env) for key, value in config.items()}


def _substitute(value: str, env: Mapping[str, str]) -> str:
    return PLACEHOLDER.sub(lambda match: env[match.group(1)], value)


def write_rendered(config: Mapping[str, str], out: Path) -> Path:
    """Write the rendered config readable by its owner only, atomically."""
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    staging.unlink(missing_ok=True)
    # Created 0600 from the first byte: chmod after writing would leave a window.
    descriptor = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(dict(config), handle, indent=2)
        handle.write("\n")
    os.replace(staging, out)
    return out
