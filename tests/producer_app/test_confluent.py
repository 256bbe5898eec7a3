"""The produce body against the official REST v3 OpenAPI document."""

from __future__ import annotations

import base64
import copy
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from jobsearch.message import SearchMessage
from producer_app.confluent import build_produce_body

SPEC = (
    Path(__file__).resolve().parents[3]
    / "shared"
    / "data"
    / "real"
    / "confluent-kafka-rest-v3-openapi.yaml"
)
needs_spec = pytest.mark.skipif(
    not SPEC.is_file(), reason="../shared/data/real REST v3 OpenAPI spec is absent"
)


def _jsonschema_from_openapi(node: Any) -> Any:
    """OpenAPI 3.0's `nullable` as JSON Schema's type union."""
    if isinstance(node, list):
        return [_jsonschema_from_openapi(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _jsonschema_from_openapi(value) for key, value in node.items()}
    if node.pop("nullable", False) and "type" in node:
        node["type"] = [node["type"], "null"]
    return node


def produce_request_validator() -> jsonschema.Draft202012Validator:
    spec = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    components = _jsonschema_from_openapi(copy.deepcopy(spec["components"]))
    # Confluent rejects unknown fields, so the check does too.
    components["schemas"]["ProduceRequest"]["additionalProperties"] = False
    schema = {"$ref": "#/components/schemas/ProduceRequest", "components": components}
    return jsonschema.Draft202012Validator(schema)


def message(**overrides: Any) -> SearchMessage:
    values: dict[str, Any] = {
        "search_id": uuid.uuid4(),
        "query": "data engineer",
        "requested_at": datetime(2026, 12, 4, 10, 0, tzinfo=UTC),
        "trace_id": "0af7651916cd43dd8448eb211c80319c",
    }
    values.update(overrides)
    return SearchMessage(**values)


@needs_spec
@pytest.mark.parametrize(
    "search",
    [
        message(),
        message(user_id=uuid.uuid4(), location="Zürich", remote=True, limit=5),
        message(urls=["https://jobs.example.test/a?b=c"]),
    ],
    ids=["anonymous", "user", "urls"],
)
def test_produce_body_conforms_to_official_spec(search: SearchMessage) -> None:
    """The produce body validates against the spec's `ProduceRequest`."""
    body = build_produce_body(search)

    produce_request_validator().validate(body)
    for header in body["headers"]:
        assert base64.b64decode(header["value"], validate=True)
    assert body["key"]["type"] == "STRING"
    assert body["value"]["type"] == "JSON"


@needs_spec
def test_spec_check_rejects_a_v2_style_body() -> None:
    """The check itself can fail: a REST v2 `records` array is refused."""
    with pytest.raises(jsonschema.ValidationError):
        produce_request_validator().validate({"records": [{"value": {}}]})


def test_record_key_is_user_else_search_id() -> None:
    """One user's searches share a key; anonymous searches key on their own id."""
    user = uuid.uuid4()
    anonymous = message()

    assert build_produce_body(message(user_id=user))["key"]["data"] == str(user)
    assert build_produce_body(anonymous)["key"]["data"] == str(anonymous.search_id)
