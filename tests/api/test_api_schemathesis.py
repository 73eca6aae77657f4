"""Property-based run of every documented operation against the OpenAPI schema (bounded):
whatever the input, the API answers without a server error (no 5xx).

Runs each operation's schemathesis strategy under Hypothesis directly (the schemathesis pytest
plugin does not support this pytest version)."""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from tests.api.conftest import bearer_token

MAX_EXAMPLES = 8


@pytest.fixture()
def bearer(app):
    """Issues a fresh admin token (an operation such as ``POST /auth/logout`` revokes it)."""
    return lambda: bearer_token(app, "admin")


@pytest.mark.slow
def test_no_server_errors(app, bearer):
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    schema.config.generation.update(with_security_parameters=False)  # the token is ours
    operations = [r.ok() for r in schema.get_all_operations()]
    assert len(operations) >= 30
    failures = []
    for op in operations:
        token = bearer()

        @given(case=op.as_strategy())
        @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def run(case):
            response = case.call(headers={"Authorization": f"Bearer {token}"})  # noqa: B023
            case.validate_response(response, checks=[not_a_server_error])

        try:
            run()
        except Exception as exc:  # noqa: BLE001 - collect every operation's failure
            failures.append(f"{op.method.upper()} {op.path}: {str(exc)[:800]}")
    assert not failures, "\n\n".join(failures)
