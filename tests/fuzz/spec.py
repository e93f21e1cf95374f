"""Requests generated in bulk from the written description of the sidecar (actions/web/openapi.yaml).

schemathesis generates from the same file, faithfully, but draws 8 to 50 requests a second per
operation on this machine (its JSON Schema machinery, not the sidecar, is the bound): 10,000 per route
would be hours. Here each operation's parameters and body schema (the subset of JSON Schema that
openapi.yaml uses) become plain hypothesis strategies, drawn straight from a seeded random source
(`draw`), without hypothesis' test engine (no shrinking, no example database, no de-duplication):
about a thousand requests a second.

A value is either one the description allows ("conforming") or a hostile one: text of any kind, NUL,
lone surrogates, percent-escapes, numbers past every integer type, long strings; a JSON body is a
conforming document, one with a hostile value in it, or a documented provider payload made hostile
(tests/fuzz/bodies.py).
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote_from_bytes

import yaml
from hypothesis import strategies as st
from hypothesis.control import BuildContext
from hypothesis.errors import StopTest, UnsatisfiedAssumption
from hypothesis.internal.conjecture.data import ConjectureData

from tests.fuzz.bodies import CONTENT_TYPES, hostile_bodies, hostile_json

SPEC_PATH = Path(__file__).resolve().parents[2] / "actions/web/openapi.yaml"
SPEC = yaml.safe_load(SPEC_PATH.read_text())
FORM = "application/x-www-form-urlencoded"


def draw(strategy: st.SearchStrategy, seed: int) -> Any:
    """One value of the strategy, the same for the same seed: hypothesis' own drawing, without its engine."""
    for attempt in range(100):
        data = ConjectureData(random=random.Random(seed * 101 + attempt))
        try:
            with BuildContext(data, is_final=False, wrapped_test=None):
                return data.draw(strategy)
        except (StopTest, UnsatisfiedAssumption):
            continue  # a filter rejected the draw (or it ran out of choices): the next seed
    raise RuntimeError(f"no value drawn from {strategy!r} in 100 tries")


def resolve(node: dict) -> dict:
    while isinstance(node, dict) and "$ref" in node:
        target: Any = SPEC
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


def conforming(schema: dict) -> st.SearchStrategy:
    """Values the schema allows (the subset of JSON Schema openapi.yaml uses)."""
    schema = resolve(schema)
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if "oneOf" in schema or "anyOf" in schema:
        return st.one_of([conforming(s) for s in schema.get("oneOf") or schema["anyOf"]])
    kind = schema.get("type")
    if kind == "object":
        properties = schema.get("properties", {})
        required = set(schema.get("required", []))
        return st.fixed_dictionaries(
            {k: conforming(v) for k, v in properties.items() if k in required},
            optional={k: conforming(v) for k, v in properties.items() if k not in required},
        )
    if kind == "array":
        return st.lists(conforming(schema.get("items", {})), max_size=4)
    if kind == "string":
        if "pattern" in schema:
            return st.from_regex(schema["pattern"], fullmatch=True)
        if schema.get("format") == "date":
            return st.dates().map(str)
        return st.text(min_size=schema.get("minLength", 0), max_size=schema.get("maxLength", 40))
    if kind == "integer":
        return st.integers(schema.get("minimum"), schema.get("maximum"))
    if kind == "number":
        return st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    if kind == "boolean":
        return st.booleans()
    return json_values


HOSTILE_TEXT = st.one_of(
    st.text(max_size=40),
    st.binary(max_size=40).map(lambda b: b.decode("latin-1")),
    st.integers(-(2**70), 2**70).map(str),
    st.sampled_from(
        ["", " ", "\x00", "\ud800", "a\udfffb", "%00", "%ED%A0%80", "%FF", "%", "..", "../..", "-1", "0", "1e999",
         str(2**63), str(2**64), "9" * 5000, "x" * 5000, "٣", "²", "null", "[]", "{}", "<script>", "' OR 1=1 --",
         "2026-02-30", "0000-00-00", "NaN", "true", "1.5", " 1", "１"]
    ),
)  # fmt: skip


def as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else json.dumps(value)


def text_values(schema: dict, known: list[str] = ()) -> st.SearchStrategy[str]:
    """A parameter's or form field's text: allowed, known to the test's world, or hostile."""
    known_values = [st.sampled_from(list(known))] if known else []
    return st.one_of(conforming(schema).map(as_text), HOSTILE_TEXT, *known_values)


def encode(value: str) -> str:
    """For a URL: percent-escapes sent as they are (raw %00, %FF, half escapes), anything else escaped."""
    if re.fullmatch(r"[%0-9A-Za-z]+", value):
        return value
    return quote_from_bytes(value.encode("utf-8", "surrogatepass"), safe="")


# What an HTTP client can put in a header: latin-1 without control characters.
# No leading white space: HTTP clients refuse to send it (requests: "Invalid leading whitespace"), so the
# server never sees it either.
header_values = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=60
).map(str.lstrip)


def header_text(value: Any) -> str:
    """A value as an HTTP client can send it in a header: its UTF-8 bytes as latin-1, no control characters."""
    return re.sub("[\x00-\x1f\x7f]", "", as_text(value).encode("utf-8", "surrogatepass").decode("latin-1"))


@dataclass
class Request:
    method: str
    path: str  # with the query string
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None


@dataclass
class Operation:
    method: str
    path: str
    spec: dict

    @property
    def route(self) -> str:
        return f"{self.method} {self.path}"

    def parameters(self, where: str) -> list[dict]:
        return [p for p in map(resolve, self.spec.get("parameters", [])) if p["in"] == where]

    @property
    def body_schema(self) -> tuple[str, dict] | None:
        body = self.spec.get("requestBody")
        if not body:
            return None
        [(media, content)] = resolve(body)["content"].items()
        return media, content.get("schema", {})

    @property
    def security(self) -> str | None:
        schemes = [name for requirement in self.spec.get("security", []) for name in requirement]
        return schemes[0] if schemes else None


def operations() -> list[Operation]:
    return [
        Operation(method.upper(), path, spec)
        for path, item in SPEC["paths"].items()
        for method, spec in item.items()
        if method in ("get", "post", "put", "patch", "delete")
    ]


def form_body(fields: dict[str, str]) -> bytes:
    return "&".join(encode(k) + "=" + encode(v) for k, v in fields.items()).encode()


def requests_for(operation: Operation, known: dict[str, list[str]], documented: Any = None) -> st.SearchStrategy:
    """Requests to the operation: each parameter allowed, known or hostile, optional ones sometimes left
    out and sometimes one more added; a body as described, with a hostile value in it, or not one at all.
    `known`: values of the test's world by parameter name (an order number, a payment id)."""
    values = {
        (p["in"], p["name"]): text_values(p["schema"], known.get(p["name"], []))
        for p in map(resolve, operation.spec.get("parameters", []))
    }
    header_strategies = {
        p["name"]: st.one_of(conforming(p["schema"]).map(header_text), header_values)
        for p in operation.parameters("header")
    }
    body = operation.body_schema
    media, bodies = None, None
    if body is not None:
        media, schema = body
        if media == FORM:
            names = list(resolve(schema).get("properties", {})) or ["x"]
            fields = st.dictionaries(st.sampled_from(names), text_values({"type": "string"}), max_size=5)
            bodies = st.one_of(fields.map(form_body), st.binary(max_size=200), st.just(b"\xff\x00=\xed\xa0\x80"))
        else:
            documents = conforming(schema)
            hostile = [documents.flatmap(hostile_json)] + ([hostile_bodies(documented)] if documented else [])
            bodies = st.one_of(documents.map(lambda d: json.dumps(d).encode()), *hostile)
    content_types = st.one_of(st.just(media), st.sampled_from(CONTENT_TYPES))

    @st.composite
    def requests(draw_) -> Request:
        path = operation.path
        for p in operation.parameters("path"):
            path = path.replace("{" + p["name"] + "}", encode(draw_(values["path", p["name"]])))
        query = [
            (p["name"], draw_(values["query", p["name"]]))
            for p in operation.parameters("query")
            if draw_(st.booleans())
        ]
        if draw_(st.integers(0, 7)) == 0:
            query.append((draw_(HOSTILE_TEXT), draw_(HOSTILE_TEXT)))
        if query:
            path += "?" + "&".join(encode(k) + "=" + encode(v) for k, v in query)
        headers = {name: draw_(texts) for name, texts in header_strategies.items() if draw_(st.booleans())}
        cookies = [
            f"{p['name']}={encode(draw_(values['cookie', p['name']]))}"
            for p in operation.parameters("cookie")
            if draw_(st.booleans())
        ]
        if cookies:
            headers["Cookie"] = "; ".join(cookies)
        if bodies is None:
            return Request(operation.method, path, headers)
        headers["Content-Type"] = draw_(st.sampled_from([media, media, media, None])) or draw_(content_types)
        return Request(operation.method, path, headers, draw_(bodies))

    return requests()
