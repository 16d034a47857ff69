"""Fuzzing the HTTP service: generated requests from its own OpenAPI schema, and raw bodies.

1. Schemathesis loads /openapi.json from the real app and runs every operation through its
   examples, coverage (boundary and invalid values, wrong methods, missing headers) and fuzzing
   phases, in positive and negative mode, with all of its checks: no 5xx, documented status codes
   and content types, responses matching their schemas, invalid input refused, valid input
   accepted, auth enforced. Once over the app as the seed index serves it (no API key) and once
   with QA_API_KEY set, so that authentication is exercised too.
2. Hypothesis property tests send what no schema describes: arbitrary bytes and arbitrary JSON
   as the POST /ask body, arbitrary (and non-UTF-8) query strings to GET /ask. Never a 5xx;
   every error is the service's JSON error envelope.

Generation is derandomized with a fixed seed and no example database, so CI runs the same cases
every time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote_to_bytes

import httpx
import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import event, example, given, settings
from hypothesis import strategies as st
from schemathesis.specs.openapi.schemas import OpenApiSchema

from qa.engine import Engine
from service.app import create_app
from tests.service.conftest import service_settings

FUZZ_API_KEY = "fuzz-key-0123456789abcdef"

#: Every operation of the API: a route added without a fuzzing budget here fails
#: test_every_operation_is_fuzzed.
MAX_EXAMPLES = {
    "POST /ask": 75,
    "GET /ask": 75,
    "POST /ask/stream": 40,
    "GET /sources": 10,
    "GET /sources/{name}": 40,
    "GET /healthz": 5,
    "GET /readyz": 5,
    "GET /metrics": 5,
    "GET /v1/models": 5,
    "GET /v1/models/{model}": 10,
    "POST /v1/chat/completions": 60,
    "POST /feedback": 40,
}


def _schemathesis_config(**extra: Any) -> schemathesis.Config:
    """What a schemathesis.toml would say, for both apps."""
    return schemathesis.Config.from_dict(
        {
            "seed": 20_240_601,
            "generation": {
                "mode": "all",  # positive and negative (schema-violating) data
                "deterministic": True,
                "database": "none",
                "max-examples": 10,
            },
            "phases": {"stateful": {"enabled": False}},  # no links: every operation is a read
            "checks": {
                # Schema-valid requests the service refuses with a documented 422 on purpose:
                # a blank question ("" and "   " are strings), mode=generative on a server
                # without an LLM, start/end past the last line of the file. JSON Schema cannot
                # say any of these, so 422 is accepted; a 400/413/415 for valid data still fails.
                "positive_data_acceptance": {
                    "expected-statuses": ["2xx", "401", "403", "404", "409", "422", "5xx"]
                },
            },
            "operations": [
                {"include-name": name, "generation": {"max-examples": count}}
                for name, count in MAX_EXAMPLES.items()
            ],
            **extra,
        }
    )


@pytest.fixture(scope="module")
def open_api_schema(seed_app: FastAPI) -> OpenApiSchema:
    """The schema the seed app serves, bound to that app (no API key)."""
    return schemathesis.openapi.from_asgi("/openapi.json", seed_app, config=_schemathesis_config())


@pytest.fixture(scope="module")
def keyed_app(seed_engine: Engine) -> FastAPI:
    settings = service_settings(seed_engine.settings, api_key=FUZZ_API_KEY)
    return create_app(settings, engine=seed_engine)


@pytest.fixture(scope="module")
def keyed_api_schema(keyed_app: FastAPI) -> OpenApiSchema:
    """The same app with QA_API_KEY set; schemathesis sends the key where the schema asks for
    it, and checks that requests without it, or with a wrong one, are refused."""
    config = _schemathesis_config(auth={"openapi": {"HTTPBearer": {"bearer": FUZZ_API_KEY}}})
    return schemathesis.openapi.from_asgi(
        "/openapi.json",
        keyed_app,
        config=config,
        headers={"Authorization": f"Bearer {FUZZ_API_KEY}"},
    )


open_schema = schemathesis.pytest.from_fixture("open_api_schema")
keyed_schema = schemathesis.pytest.from_fixture("keyed_api_schema")


def test_every_operation_is_fuzzed(open_api_schema: OpenApiSchema) -> None:
    operations = {result.ok().label for result in open_api_schema.get_all_operations()}
    assert operations == set(MAX_EXAMPLES)


@pytest.mark.slow
@open_schema.parametrize()
def test_schema_conformance(case: schemathesis.Case) -> None:
    """The seed app as it runs without QA_API_KEY: every check, on every operation. Among them:
    no 5xx, only documented statuses, bodies matching their schemas, and a served schema that
    does not demand credentials the server never asks for."""
    case.call_and_validate()


@pytest.mark.slow
@keyed_schema.parametrize()
def test_schema_conformance_with_api_key(case: schemathesis.Case) -> None:
    """The same with QA_API_KEY set: also that a missing or wrong key is refused with the
    documented 401."""
    case.call_and_validate()


# --- Raw bodies and query strings ---------------------------------------------------------------

ERROR_FIELDS = {"code", "message", "hint", "field", "details", "request_id"}

#: Any code point, lone surrogates and NUL included (st.characters() leaves surrogates out).
any_char = st.one_of(
    st.characters(codec=None),
    st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF),
    st.just("\x00"),
)
any_text = st.text(alphabet=any_char, max_size=40)


@dataclass(frozen=True)
class RawJson:
    """A JSON token written as is: numbers Python's json module would not write."""

    text: str


huge_numbers = st.sampled_from(
    ["1e999", "-1e999", "1e-999", "123456789012345678901234567890", "-0", "0.0", "1E+2", "2.5"]
).map(RawJson)

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(10**60), max_value=10**60),
    st.floats(allow_nan=False, allow_infinity=False),
    huge_numbers,
    any_text,
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(any_text, children, max_size=4),
    ),
    max_leaves=12,
)
#: Objects shaped like a question, so that generation reaches past "body must be an object".
ask_like_bodies = st.fixed_dictionaries(
    {"question": st.one_of(st.text(max_size=80), any_text, json_values)},
    optional={
        "top_k": st.one_of(st.integers(min_value=-3, max_value=60), json_values),
        "mode": st.one_of(st.sampled_from(["extractive", "generative", "EXTRACTIVE"]), json_values),
        "extra": json_values,
    },
)


def to_json(value: object, *, ascii_only: bool = True) -> str:
    """JSON text for ``value``; lone surrogates come out as \\udXXX escapes when ascii_only."""
    if isinstance(value, RawJson):
        return value.text
    if isinstance(value, dict):
        members = (
            f"{json.dumps(key, ensure_ascii=ascii_only)}: {to_json(item, ascii_only=ascii_only)}"
            for key, item in value.items()
        )
        return "{" + ", ".join(members) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(to_json(item, ascii_only=ascii_only) for item in value) + "]"
    return json.dumps(value, ensure_ascii=ascii_only)


@st.composite
def json_bodies(draw: st.DrawFn) -> bytes:
    """Valid JSON text (of any value) as bytes: ASCII with escapes, or raw UTF-8 where a lone
    surrogate becomes bytes that are not UTF-8."""
    value = draw(st.one_of(ask_like_bodies, json_values))
    ascii_only = draw(st.booleans())
    return to_json(value, ascii_only=ascii_only).encode("utf-8", "surrogatepass")


@st.composite
def damaged_bodies(draw: st.DrawFn) -> bytes:
    """JSON cut short, re-encoded (UTF-16/32, Latin-1) or with a byte overwritten."""
    body = draw(json_bodies())
    how = draw(st.sampled_from(["truncate", "utf-16", "utf-32", "latin-1", "overwrite"]))
    if how == "truncate":
        return body[: draw(st.integers(min_value=0, max_value=len(body)))]
    if how == "overwrite" and body:
        at = draw(st.integers(min_value=0, max_value=len(body) - 1))
        return body[:at] + bytes([draw(st.integers(0, 255))]) + body[at + 1 :]
    if how == "overwrite":
        return body
    text = body.decode("utf-8", "surrogatepass")
    return text.encode(how, "surrogatepass" if how.startswith("utf") else "replace")


def assert_error_envelope(response: httpx.Response) -> dict[str, Any]:
    """The service's JSON error: {"error": {code, message, hint, field, details, request_id}}."""
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body = response.json()
    assert isinstance(body, dict) and set(body) == {"error"}, body
    error = body["error"]
    assert isinstance(error, dict) and set(error) == ERROR_FIELDS, error
    assert isinstance(error["code"], str) and error["code"], error
    assert isinstance(error["message"], str) and error["message"], error
    assert isinstance(error["hint"], str) and error["hint"], error
    assert error["field"] is None or isinstance(error["field"], str), error
    assert isinstance(error["details"], list), error
    for detail in error["details"]:
        assert set(detail) == {"field", "problem"}, detail
        assert all(isinstance(part, str) for part in detail.values()), detail
    assert error["request_id"] == response.headers["x-request-id"], error
    return error


def assert_answer_or_error(response: httpx.Response, schema: OpenApiSchema, label: str) -> None:
    """A 200 answer or a 4xx error envelope, with a status and a body the OpenAPI schema
    documents for ``label``."""
    event(f"{label} -> {response.status_code}")
    assert response.status_code < 500, (response.status_code, response.text)
    operation = schema.find_operation_by_label(label)
    assert operation is not None
    documented = set(operation.definition.raw["responses"])
    assert str(response.status_code) in documented, (response.status_code, documented)
    if response.status_code == 200:
        answer = response.json()
        assert isinstance(answer["answer"], str)
        assert isinstance(answer["answered"], bool)
    else:
        assert 400 <= response.status_code < 500, response.status_code
        assert_error_envelope(response)
    # Raises when the body does not match the schema documented for its status.
    operation.validate_response(response)


PROPERTY_SETTINGS = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
)
JSON_HEADERS = {"content-type": "application/json"}


@PROPERTY_SETTINGS
@given(body=st.one_of(st.binary(max_size=200), json_bodies(), damaged_bodies()))
@example(body=b"")
@example(body=b"\xff\xfe\x00")
@example(body=b"[" * 70_000)  # over QA_MAX_BODY_BYTES: 413, before anything is parsed
@example(body=b'{"question": "\\ud800"}')
@example(body=b'{"question": "a\\u0000b"}')
@example(body=b'{"question": "\xed\xa0\x80"}')  # a surrogate encoded as UTF-8 bytes
@example(body=b'{"question": "Who directs Challenge?", "top_k": 1e999}')
@example(body=b'{"question": "Who directs Challenge?"}')
def test_ask_body_bytes(client: TestClient, open_api_schema: OpenApiSchema, body: bytes) -> None:
    response = client.post("/ask", content=body, headers=JSON_HEADERS)
    assert response.status_code in {200, 400, 413, 422}, (response.status_code, response.text)
    assert_answer_or_error(response, open_api_schema, "POST /ask")


@PROPERTY_SETTINGS
@given(value=st.one_of(ask_like_bodies, json_values), ascii_only=st.booleans())
@example(value={"question": "\ud800"}, ascii_only=True)
@example(value={"question": "\udfff\x00", "top_k": RawJson("1e999")}, ascii_only=True)
@example(
    value={"question": "Who?", "top_k": RawJson("123456789012345678901234567890")}, ascii_only=True
)
@example(value={"question": {"nested": [{"deeper": None}]}}, ascii_only=True)
@example(value={"\ud800": 1, "question": "Who?"}, ascii_only=True)
def test_ask_json_values(
    client: TestClient, open_api_schema: OpenApiSchema, value: object, ascii_only: bool
) -> None:
    body = to_json(value, ascii_only=ascii_only).encode("utf-8", "surrogatepass")
    response = client.post("/ask", content=body, headers=JSON_HEADERS)
    # Escaped (ASCII) JSON text is always readable, so never a 400; raw bytes of a lone
    # surrogate may be refused as unreadable (400) or as an invalid question (422).
    assert response.status_code in {200, 400, 422}, (response.status_code, response.text)
    if ascii_only:
        assert response.status_code != 400, response.text
    assert_answer_or_error(response, open_api_schema, "POST /ask")


#: A query value as sent on the wire: percent-encoded text (lone surrogates become bytes that
#: are not UTF-8), percent-encoded arbitrary bytes, or printable ASCII left unencoded.
query_values = st.one_of(
    any_text.map(lambda text: quote(text.encode("utf-8", "surrogatepass"), safe="")),
    st.binary(max_size=30).map(lambda raw: quote(raw, safe="")),
    st.text(
        alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E).filter(lambda c: c != "#"),
        max_size=30,
    ),
)


@st.composite
def ask_query_strings(draw: st.DrawFn) -> str:
    pairs = [f"q={draw(query_values)}"]
    for name in draw(st.lists(st.sampled_from(["top_k", "mode", "q", "other"]), max_size=2)):
        pairs.append(f"{name}={draw(query_values)}")
    return "&".join(pairs)


@PROPERTY_SETTINGS
@given(query=ask_query_strings())
@example(query="q=%FF")
@example(query="q=Who+directs%ED%A0%80")  # a UTF-8-encoded lone surrogate
@example(query="q=%C3")  # a multi-byte character cut short
@example(query="q=Who+directs+Challenge%3F&top_k=%FF")
@example(query="q=%00")
@example(query="q=%25%")
@example(query="q=Who+directs+Challenge%3F&top_k=99999999999999999999999")
def test_ask_query_strings(client: TestClient, open_api_schema: OpenApiSchema, query: str) -> None:
    response = client.get(f"/ask?{query}")
    assert response.status_code in {200, 400, 422}, (response.status_code, response.text)
    assert_answer_or_error(response, open_api_schema, "GET /ask")
    try:
        unquote_to_bytes(query).decode("utf-8")
    except UnicodeDecodeError:
        utf8 = False
    else:
        utf8 = True
    if not utf8:
        assert response.status_code == 400
        assert assert_error_envelope(response)["code"] == "malformed_query"
    else:
        assert response.status_code != 400, response.text
