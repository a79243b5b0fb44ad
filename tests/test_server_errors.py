"""One error form on a real server: every 4xx/5xx of every operation in the OpenAPI document is
``{"error": code, "message": 中文}`` and a status that operation lists; unknown paths, wrong
methods and unparseable bodies too.  Plus a bounded schemathesis fuzz run (slow)."""

from __future__ import annotations


import pytest
import requests

from county_server.body_limits import body_cap
from sync.protocol import API_PREFIX, PROTOCOL_HEADER, request_headers
from tests.serverproc import ServerProcess, device_token, setup_county


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    home = tmp_path_factory.mktemp("errors")
    with ServerProcess(f"sqlite:///{home / 'county.sqlite3'}", home=home) as srv:
        setup_county(srv)
        srv.token = device_token(srv)
        srv.openapi = requests.get(srv.url + API_PREFIX + "/openapi.json", timeout=30).json()
        yield srv


def operations() -> list[tuple[str, str]]:
    """(method, path) of every operation — read from the app itself, so a new route is covered."""
    from fastapi.routing import APIRoute

    from county_server.app import ROUTER_MODULES
    import importlib

    ops = []
    for name in ROUTER_MODULES:
        module = importlib.import_module(name)
        for router in (module.router, getattr(module, "public_router", None)):
            for route in (router.routes if router else []):
                if isinstance(route, APIRoute):
                    ops += [(method, API_PREFIX + route.path) for method in sorted(route.methods)]
    return ops


def assert_error_form(answer: requests.Response) -> dict:
    assert answer.status_code >= 400, answer.text
    assert answer.headers["content-type"].startswith("application/json"), answer.headers
    data = answer.json()
    assert set(data) == {"error", "message"}, data
    assert data["error"].isascii() and data["error"]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in data["message"]), data
    assert "detail" not in answer.text and "There was an error" not in answer.text
    return data


def listed(server, method: str, path: str) -> set[int]:
    return {int(s) for s in server.openapi["paths"][path][method.lower()]["responses"]}


def call(server, method: str, path: str, *, headers: dict, data: bytes | None = None) -> requests.Response:
    return requests.request(method, server.url + path, headers=headers, data=data, timeout=30)


@pytest.mark.parametrize("method,path", operations())
def test_every_error_of_every_operation_has_the_one_form(server, method, path):
    statuses = listed(server, method, path)
    assert {400, 413, 500} <= statuses and 422 not in statuses - ({422} if path.endswith("/packages") else set())
    signed_in = {**request_headers(server.token), "Content-Type": "application/json"}
    attempts = [
        dict(headers={"Content-Type": "application/json"}),  # no protocol header
        dict(headers={**request_headers("no-such-token"), "Content-Type": "application/json"}),
        dict(headers=signed_in),
    ]
    if not path.endswith("/packages"):  # (its 200 MB cap is the same middleware)
        attempts.append(dict(headers=signed_in, data=b"\x00" * (body_cap(path) + 1)))
    if method == "POST":
        attempts.append(dict(headers=signed_in, data=b'{"not json'))
        attempts.append(dict(headers=signed_in, data=b""))
    if path.endswith("/login"):
        attempts.append(dict(headers=signed_in, data=b'{"user": "cun", "password": "wrong", "device_id": "d"}'))
    queries = ["?limit=-1", "?cursor=" + "x" * 101] if path.endswith("/pull") else [""]
    seen = set()
    for attempt in attempts:
        for query in queries:
            answer = call(server, method, path + query, **attempt)
            if answer.status_code < 400:
                continue
            assert answer.status_code in statuses, (answer.status_code, statuses, answer.text)
            assert_error_form(answer)
            seen.add(answer.status_code)
    if not path.endswith("/status"):
        assert {426, 401} <= seen, seen
    if (method == "POST" and not path.endswith("/packages")) or query:  # (a village is refused 403 first)
        assert 400 in seen, seen


def test_unknown_path_wrong_method_and_empty_noop(server):
    data = assert_error_form(call(server, "GET", API_PREFIX + "/no-such-thing", headers=request_headers()))
    assert data["error"] == "not_found"
    data = assert_error_form(call(server, "GET", API_PREFIX + "/push", headers=request_headers(server.token)))
    assert data["error"] == "method_not_allowed"
    answer = call(server, "POST", API_PREFIX + "/noop", headers=request_headers(server.token), data=b"")
    assert answer.status_code == 400 and assert_error_form(answer)["error"] == "bad_request"
    for path in ("/login", "/latest", "/records"):
        answer = call(server, "POST", API_PREFIX + path, data=b"{oops",
                      headers={**request_headers(server.token), "Content-Type": "application/json"})
        assert answer.status_code == 400, answer.text
        assert "JSON" in assert_error_form(answer)["message"]


def test_openapi_lists_what_each_operation_answers(server):
    paths = server.openapi["paths"]
    assert {429, 401, 426} <= listed(server, "POST", API_PREFIX + "/login")
    assert 409 in listed(server, "POST", API_PREFIX + "/push")
    assert 403 in listed(server, "POST", API_PREFIX + "/records")
    assert 426 not in listed(server, "GET", API_PREFIX + "/status")
    assert "HTTPValidationError" not in str(paths)


# --------------------------------------------------------------------------- fuzzing


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_fuzz_finds_no_server_error_and_no_answer_off_schema(server):
    """schemathesis against the running server: every operation, bounded number of examples each.
    (Driven through hypothesis directly: schemathesis' pytest plugin does not run under pytest 9.)"""
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from schemathesis.checks import not_a_server_error, response_schema_conformance, status_code_conformance

    schema = schemathesis.openapi.from_url(server.url + API_PREFIX + "/openapi.json")
    headers = {PROTOCOL_HEADER: request_headers()[PROTOCOL_HEADER], "Authorization": f"Bearer {server.token}"}
    checks = [not_a_server_error, response_schema_conformance, status_code_conformance]
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 9

    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), database=None,
                  derandomize=True)
        def fuzz(case):
            case.call_and_validate(headers=headers, checks=checks, timeout=60)

        fuzz()
