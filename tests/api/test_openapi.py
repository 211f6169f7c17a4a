"""The OpenAPI description, the validation and the answers do not drift apart.

Schemathesis generates requests for every route from /openapi.json, valid and
invalid, and runs every check it has (as `schemathesis run --checks all`) on
each answer: never a 5xx, a documented status, content type, headers and body;
invalid requests refused and valid ones accepted; other methods answered 405
with an Allow header. Its coverage phase adds each value at and just past its
bounds, missing, or of the wrong type. The requests go to the app in-process,
and, for what gunicorn answers itself (414), to a real server.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import CHECKS as REGISTERED_CHECKS
from schemathesis.checks import load_all_checks
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import Status, events, from_schema

from tests.waiting import wait_for
from webapp import create_app

load_all_checks()
# Every check Schemathesis has; the stateful and auth ones (use_after_free,
# ensure_resource_availability, ignored_auth, ...) find nothing to do here (no links
# between operations, no auth scheme) and cost nothing.
CHECKS = REGISTERED_CHECKS.get_all()

# Schemathesis' own expectations, and the two things no schema can say.
POSITIVE_OK = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]
NEGATIVE_OK = ["400", "401", "403", "404", "405", "406", "409", "415", "422", "428", "429", "5xx"]
CONFIG = {
    "seed": 1,
    "generation": {"max-examples": 20, "deterministic": True, "database": "none"},
    # gunicorn refuses a request line over LIMIT_REQUEST_LINE (414) before the app sees it.
    "checks": {"negative_data_rejection": {"expected-statuses": [*NEGATIVE_OK, "414"]}},
    "operations": [
        {
            # A picture matching the schema's data-URL pattern may still be cut
            # short (400), too large (413), not PNG/JPEG/WebP (415) or have no ink (422).
            "include-path": path,
            "checks": {
                "positive_data_acceptance": {"expected-statuses": [*POSITIVE_OK, "400", "413", "415", "422"]}
            },
        }
        for path in ("/api/predict", "/api/corrections")
    ],
}


def config(**phases: bool) -> SchemathesisConfig:
    names = ("examples", "coverage", "fuzzing", "stateful")
    return SchemathesisConfig.from_dict(
        {**CONFIG, "phases": {n: {"enabled": phases.get(n, False)} for n in names}}
    )


@pytest.fixture(scope="module")
def fuzzed_app(tmp_path_factory):
    # Short lab workloads, so a few hundred generated requests stay quick; corrections kept.
    corrections = tmp_path_factory.mktemp("corrections") / "store"
    app = create_app({"TESTING": True, "LAB_MAX_MS": 5, "CORRECTIONS": str(corrections)})
    # A worker's first tensorflow workload starts loading TensorFlow in the background
    # and is told to come back (503, documented); load it now, so the fuzzing meets the
    # workload itself rather than a 503 that Schemathesis counts as a server error.
    client = app.test_client()
    wait_for(
        lambda: client.post("/api/lab/work", json={"kind": "tensorflow", "ms": 0}).status_code,
        120,
        "TensorFlow loaded: a tensorflow workload not answered 503",
        until=lambda status: status != 503,
        every=0.1,
    )
    return app


@pytest.fixture(scope="module")
def operations(fuzzed_app):
    """Every operation of the served description, by label ("POST /api/predict")."""
    schema = schemathesis.openapi.from_wsgi("/openapi.json", fuzzed_app, config=config(fuzzing=True))
    found = [result.ok() for result in schema.get_all_operations()]
    return {op.label: op for op in found}


def served_routes(app) -> list[str]:
    """Every route the app serves, as "METHOD /path" (its static files aside)."""
    return sorted(
        f"{method} {rule.rule}"
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static"
        for method in rule.methods - {"HEAD", "OPTIONS"}
    )


# Taken from the app itself: a new route is fuzzed without anyone listing it here.
# Schemathesis leaves out the description's own route, /openapi.json.
ROUTES = [
    r for r in served_routes(create_app({"TESTING": True, "DEFER_MODEL": True})) if r != "GET /openapi.json"
]


# Routes that take input, where invalid requests can be generated too.
TAKES_INPUT = [r for r in ROUTES if r.startswith("POST") or r == "GET /api/requests"]
CASES = [(r, schemathesis.GenerationMode.POSITIVE) for r in ROUTES] + [
    (r, schemathesis.GenerationMode.NEGATIVE) for r in TAKES_INPUT
]


def fuzz(operation, mode) -> None:
    @given(case=operation.as_strategy(mode))
    @settings(
        max_examples=20,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def run(case):
        case.call_and_validate(checks=CHECKS)

    run()


@pytest.mark.parametrize(("label", "mode"), CASES, ids=[f"{r} {m.value}" for r, m in CASES])
def test_every_route_answers_as_described(operations, label, mode):
    fuzz(operations[label], mode)


def test_the_coverage_phase_finds_nothing(fuzzed_app):
    """Each parameter and property at its bounds and past them, missing, empty, of the
    wrong type; each route with the methods it does not take; every check on each answer."""
    schema = schemathesis.openapi.from_wsgi("/openapi.json", fuzzed_app, config=config(coverage=True))
    tested, failures = set(), []
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            recorder = event.recorder
            tested.add(recorder.label)
            for checks in recorder.checks.values():
                failures += [
                    f"{recorder.label}: {check.name}: {check.failure_info.failure.title}\n"
                    f"    {check.failure_info.code_sample}"
                    for check in checks
                    if check.status == Status.FAILURE and check.failure_info
                ]
        elif isinstance(event, events.NonFatalError):
            failures.append(f"{event.label}: {event.info.title}: {event.value!r}")
        elif isinstance(event, events.FatalError):
            raise event.exception
    assert not failures, "\n".join(sorted(set(failures)))
    assert tested == set(ROUTES)


@pytest.mark.parametrize("mode", list(schemathesis.GenerationMode), ids=lambda m: m.value)
def test_gunicorn_answers_the_request_log_as_described(server, mode):
    """The one route with a query string, through gunicorn, whose limits answer first."""
    schema = schemathesis.openapi.from_url(server.url + "/openapi.json", config=config(fuzzing=True))
    fuzz(schema["/api/requests"]["GET"], mode)


def test_gunicorns_414_is_described(server):
    schema = schemathesis.openapi.from_url(server.url + "/openapi.json", config=config(fuzzing=True))
    case = schema["/api/requests"]["GET"].Case(query={"since": "x" * 3000})
    response = case.call()
    assert response.status_code == 414
    case.validate_response(response, checks=CHECKS)  # documented, JSON, an Error


def test_the_spec_describes_every_route(fuzzed_app, operations):
    assert sorted(operations) == sorted(ROUTES)
    spec = fuzzed_app.test_client().get("/openapi.json").get_json()
    described = sorted(f"{method.upper()} {path}" for path, item in spec["paths"].items() for method in item)
    assert described == served_routes(fuzzed_app)


def test_the_api_page_loads_swagger_ui_from_this_server(fuzzed_app):
    html = fuzzed_app.test_client().get("/docs").get_data(as_text=True)
    assert "/static/vendor/swagger-ui-5.35.0/swagger-ui-bundle.js" in html
    assert "<script>" not in html  # no inline script: the CSP forbids it
