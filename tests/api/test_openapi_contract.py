"""The OpenAPI document tells the truth (issue #20 item 8): every operation, called by
schemathesis as a supervisor (bearer token) and as an agent (session cookie and CSRF token)
with valid and with invalid input, answers without a server error, with a documented status
code, in a documented content type, with a body that matches the documented schema (errors
included: ``ErrorPublic`` / ``ValidationErrorPublic``).

Bounded and deterministic: ``MAX_EXAMPLES`` cases per operation and generation mode,
derandomized, without shrinking; every operation's failure is collected, so one run names
them all."""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (content_type_conformance, not_a_server_error,
                                 response_schema_conformance, status_code_conformance)
from schemathesis.core.failures import FailureGroup  # a BaseExceptionGroup
from tests.api.conftest import bearer_token, session_cookie

MAX_EXAMPLES = 10
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
#: Who calls, and how they sign in: API clients use tokens, people the browser's cookie.
CALLERS = pytest.mark.parametrize("username", ["sup", "a1"], ids=["supervisor", "agent"])


def load_schema(app):
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    # the caller's credentials are ours (signed_in): none generated for the security schemes
    schema.config.generation.update(with_security_parameters=False)
    return schema


def signed_in(app, username: str) -> dict:
    """``call()`` keyword arguments for a fresh sign-in of ``username`` (a fresh one for each
    operation: ``POST /auth/logout`` ends the session it is sent with, ``?all=true`` all)."""
    if username == "sup":
        return {"headers": {"Authorization": f"Bearer {bearer_token(app, username)}"}}
    from api.security import CSRF_HEADER, SESSION_COOKIE
    cookie, csrf = session_cookie(app, username)
    return {"headers": {CSRF_HEADER: csrf}, "cookies": {SESSION_COOKIE: cookie}}


def test_every_error_answer_is_documented_as_sent(app):
    doc = app.openapi()
    assert doc == app.openapi()  # post-processing the cached document again changes nothing
    assert not {"HTTPValidationError", "ValidationError"} & set(doc["components"]["schemas"])
    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            answers = op["responses"]
            if op.get("security"):
                assert "401" in answers, (method, path)
            for status, answer in answers.items():
                if status.startswith("4"):
                    ref = answer["content"]["application/json"]["schema"]["$ref"]
                    model = "ValidationErrorPublic" if status == "422" else "ErrorPublic"
                    assert ref.endswith(f"/{model}"), (method, path, status)


@pytest.mark.slow
@CALLERS
def test_responses_match_the_openapi_document(app, username):
    schema = load_schema(app)
    operations = [r.ok() for r in schema.get_all_operations()]
    assert len(operations) >= 30
    failures, cases = [], 0
    for op in operations:
        for mode in GenerationMode:
            auth = signed_in(app, username)

            @given(case=op.as_strategy(generation_mode=mode))
            @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=True,
                      phases=[Phase.explicit, Phase.generate],
                      suppress_health_check=list(HealthCheck))
            def run(case):
                nonlocal cases
                cases += 1
                case.call_and_validate(checks=CHECKS, **auth)  # noqa: B023 - run in the loop

            try:
                run()
            except Unsatisfiable:  # nothing to make invalid (no parameters, no body)
                assert mode is GenerationMode.NEGATIVE
            except (Exception, FailureGroup) as exc:  # noqa: BLE001 - collect every operation's
                failures.append(f"{op.method.upper()} {op.path} ({mode.value}): {str(exc)[:1500]}")
    assert not failures, f"{len(failures)} of {len(operations) * 2} runs failed:\n\n" + \
        "\n\n".join(failures)
    assert cases > 10 * len(operations)


#: Requests the generated ones hardly ever make: resources that exist in the seeded database
#: (pub-001 is A1001's, the agent a1's, with its recording), whatever the caller may see of them.
KNOWN = [("GET", "/calls/{call_id}", {"path_parameters": {"call_id": "pub-001"}}),
         ("GET", "/calls/{call_id}", {"path_parameters": {"call_id": "pub-002"}}),
         ("GET", "/calls/{call_id}/audio", {"path_parameters": {"call_id": "pub-001"}}),
         ("GET", "/calls/{call_id}/audio", {"path_parameters": {"call_id": "pub-001"},
                                            "headers": {"Range": "bytes=0-99"}}),
         ("GET", "/calls/{call_id}/audio", {"path_parameters": {"call_id": "pub-001"},
                                            "headers": {"Range": "bytes=99999999-"}}),
         ("GET", "/calls", {"query": {"agent_id": "A1001", "date_from": "2026-11-01"}}),
         ("GET", "/findings/{finding_id}", {"path_parameters": {"finding_id": 1}}),
         ("GET", "/assessments", {"query": {"month": "2026-11"}}),
         ("GET", "/assessments/{agent_id}/{month}",
          {"path_parameters": {"agent_id": "A1001", "month": "2026-11"}}),
         ("GET", "/review-queue", {}),
         *[("GET", "/reports/{kind}", {"path_parameters": {"kind": kind},
                                       "query": {"format": fmt, **period}})
           for kind, period in (("monthly", {"month": "2026-11"}), ("weekly", {"week": "2026-W46"}),
                                ("complaints", {"month": "2026-11"}))
           for fmt in ("xlsx", "csv", "json")],
         ("GET", "/reports/{kind}", {"path_parameters": {"kind": "monthly"}}),  # no month: 422
         ("POST", "/calls/{call_id}/reanalyze", {"path_parameters": {"call_id": "pub-001"}})]


@CALLERS
def test_known_resources_match_the_openapi_document(app, username):
    schema = load_schema(app)
    auth = signed_in(app, username)
    statuses, failures = set(), []
    for method, path, parts in KNOWN:
        case = schema[f"/api/v1{path}"][method].Case(**parts)
        try:
            statuses.add(case.call_and_validate(checks=CHECKS, **auth).status_code)
        except (Exception, FailureGroup) as exc:  # noqa: BLE001 - collect every request's
            failures.append(f"{method} {path} {parts}: {str(exc)[:1500]}")
    assert not failures, "\n\n".join(failures)
    assert {200, 206, 416} <= statuses
