"""schemathesis against the registry's OpenAPI schema: no 5xx, no response off the schema.

Bounded: a fixed number of generated examples per operation, on SQLite and PostgreSQL
(where NUL characters or huge integers would be server errors). The CSV import takes
``text/csv``, which schemathesis cannot generate meaningfully; test_service_api tests it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
)

from critmin.service.app import create_app
from critmin.service.db import make_engine
from critmin.service.migrate import upgrade
from critmin.service.operator import create_user
from critmin.service.seed import seed
from tests.service_support import BACKENDS, fresh_url

MAX_EXAMPLES = 15
STATE: dict[str, str] = {}


def _app(url: str) -> FastAPI:
    engine = make_engine(url)
    upgrade(engine)
    seed(engine)
    STATE["token"] = create_user(engine, "fuzzer", "JPN", "admin")
    return create_app(engine=engine)


@pytest.fixture(params=BACKENDS)
def fuzz_app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[FastAPI]:
    app = _app(fresh_url(str(request.param), tmp_path))
    yield app
    app.state.engine.dispose()


def _operations(app: FastAPI) -> list[schemathesis.APIOperation]:
    loaded = schemathesis.openapi.from_asgi("/openapi.json", app)
    selected = loaded.exclude(path_regex=r"/import\.csv$")
    return [result.ok() for result in selected.get_all_operations()]


def test_api_conforms_to_its_schema(fuzz_app: FastAPI) -> None:
    headers = {"Authorization": f"Bearer {STATE['token']}"}
    checks = [not_a_server_error, response_schema_conformance, content_type_conformance]
    operations = _operations(fuzz_app)
    assert len(operations) >= 25
    failures = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def exercise(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=headers, checks=checks)

        try:
            exercise()
        except Exception as exc:  # collect every operation's failure, not just the first
            failures.append(f"{operation.label}: {exc}")
    assert failures == [], "\n\n".join(failures)
