"""The Confluent Cloud HTTP Sink connector config: parse, render, lint and apply."""

from jobsearch.connector.config import ConnectorConfig, load_connector_document
from jobsearch.connector.lint import Finding, lint_connector, lint_document
from jobsearch.connector.render import load_env, render_connector, write_rendered

__all__ = [
    "ConnectorConfig",
    "Finding",
    "lint_connector",
    "lint_document",
    "load_connector_document",
    "load_env",
    "render_connector",
    "write_rendered",
]
