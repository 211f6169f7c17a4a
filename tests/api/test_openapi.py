"""The OpenAPI description, the validation and the answers do not drift apart.

Schemathesis generates requests for every route from /openapi.json, valid and
invalid, and checks each answer: never a 5xx, a documented status and content
type, and a body that matches the described schema.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from webapp import create_app

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def fuzzed_app():
    # Short lab workloads, so a few hundred generated requests stay quick.
    return create_app({"TESTING": True, "LAB_MAX_MS": 5})


@pytest.fixture(scope="module")
def operations(fuzzed_app):
    """Every operation of the served description, by label ("POST /api/predict")."""
    schema = schemathesis.openapi.from_wsgi("/openapi.json", fuzzed_app)
    found = [result.ok() for result in schema.get_all_operations()]
    return {op.label: op for op in found}


ROUTES = [
    "POST /api/predict",
    "POST /inference",
    "GET /api/workers",
    "GET /api/requests",
    "POST /api/lab/work",
    "POST /api/lab/workers",
    "GET /healthz",
    "GET /readyz",
    "GET /metrics",
    "GET /docs",
]  # Schemathesis leaves out the description's own route, /openapi.json


# Routes that take input, where invalid requests can be generated too.
TAKES_INPUT = [r for r in ROUTES if r.startswith("POST") or r == "GET /api/requests"]
CASES = [(r, schemathesis.GenerationMode.POSITIVE) for r in ROUTES] + [
    (r, schemathesis.GenerationMode.NEGATIVE) for r in TAKES_INPUT
]


@pytest.mark.parametrize(("label", "mode"), CASES, ids=[f"{r} {m.value}" for r, m in CASES])
def test_every_route_answers_as_described(operations, label, mode):
    @given(case=operations[label].as_strategy(mode))
    @settings(
        max_examples=20,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def fuzz(case):
        case.call_and_validate(checks=CHECKS)

    fuzz()


def test_the_spec_describes_every_route(fuzzed_app, operations):
    assert sorted(operations) == sorted(ROUTES)
    described = set(fuzzed_app.test_client().get("/openapi.json").get_json()["paths"])
    routes = {r.rule for r in fuzzed_app.url_map.iter_rules() if not r.rule.startswith("/static")} - {"/"}
    assert routes == described


def test_the_api_page_loads_swagger_ui_from_this_server(fuzzed_app):
    html = fuzzed_app.test_client().get("/docs").get_data(as_text=True)
    assert "/static/vendor/swagger-ui-5.35.0/swagger-ui-bundle.js" in html
    assert "<script>" not in html  # no inline script: the CSP forbids it
