"""schemathesis against the registry's OpenAPI schema, with every check it has.

Every check schemathesis registers (no server error, status codes, content types, headers
and bodies conforming to the schema, negative data rejected, positive data accepted,
authentication not ignored, missing headers, unsupported methods, use after free, resource
availability) on every operation, on SQLite and PostgreSQL, with valid (positive) and
invalid (negative) generated inputs. The number of generated
examples per operation is :data:`MAX_EXAMPLES` (small, to keep CI short) unless
``CRITMIN_SCHEMATHESIS_EXAMPLES`` sets it: the acceptance run is

    CRITMIN_SCHEMATHESIS_EXAMPLES=500 pytest tests/test_service_schemathesis.py -s

which prints its figures (operations, cases, answers by status class, seconds). The CSV
import takes ``text/csv``, which schemathesis cannot generate meaningfully;
test_service_api and test_service_security test it.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import CHECKS, is_check_class, load_all_checks
from schemathesis.core.parameters import ParameterLocation

from critmin.service.app import create_app
from critmin.service.db import make_engine
from critmin.service.migrate import upgrade
from critmin.service.operator import create_user
from critmin.service.seed import seed
from tests.service_support import BACKENDS, TEST_SETTINGS, fresh_url

MAX_EXAMPLES = int(os.environ.get("CRITMIN_SCHEMATHESIS_EXAMPLES", "15"))
STATE: dict[str, str] = {}


def _app(url: str) -> FastAPI:
    engine = make_engine(url)
    upgrade(engine)
    seed(engine)
    STATE["token"] = create_user(engine, "fuzzer", "JPN", "framework")
    return create_app(engine=engine, settings=TEST_SETTINGS)


@pytest.fixture(params=BACKENDS)
def fuzz_app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[FastAPI]:
    app = _app(fresh_url(str(request.param), tmp_path))
    yield app
    app.state.engine.dispose()


def _operations(app: FastAPI) -> list[schemathesis.APIOperation]:
    loaded = schemathesis.openapi.from_asgi("/openapi.json", app)
    selected = loaded.exclude(path_regex=r"/import\.csv$")
    return [result.ok() for result in selected.get_all_operations()]


def _all_checks() -> list[schemathesis.checks.CheckFunction]:
    """Every function check schemathesis registers (its class-based ones always run)."""
    load_all_checks()
    return [check for check in CHECKS.get_all() if not is_check_class(check)]


#: where an invalid value reaches the server as generated; a query or header value is not
#: always carried (an object in a query string is serialised as its own keys or as nothing,
#: and the Authorization header is replaced by a valid bearer token below)
CARRIED = (ParameterLocation.BODY, ParameterLocation.PATH)
UNCARRIED = (ParameterLocation.QUERY, ParameterLocation.HEADER, ParameterLocation.COOKIE)


def _checks_for(
    case: schemathesis.Case, checks: list[schemathesis.checks.CheckFunction]
) -> list[schemathesis.checks.CheckFunction]:
    """Every check, except "invalid data is rejected" for a case whose invalid parts lie only
    where they may not reach the server as generated (queries, headers, cookies); those cases
    still run every other check (no server error above all). Invalid queries and headers
    that do reach the server have their own tests (test_service_security, attack 9)."""
    meta = case.meta
    if meta is None or any(meta.is_negative_at(where) for where in CARRIED):
        return checks
    if not any(meta.is_negative_at(where) for where in UNCARRIED):
        return checks
    return [check for check in checks if check.__name__ != "negative_data_rejection"]


def test_api_conforms_to_its_schema(fuzz_app: FastAPI) -> None:
    checks = _all_checks()
    assert len(checks) >= 10
    operations = _operations(fuzz_app)
    assert len(operations) >= 35
    failures = []
    statuses: Counter[int] = Counter()
    started = time.perf_counter()
    for operation in operations:

        # valid and invalid inputs alike: a client's mistake must get a 4xx, never a 5xx
        @given(case=st.one_of(*(operation.as_strategy(mode) for mode in GenerationMode)))
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def exercise(case: schemathesis.Case) -> None:
            headers = {"Authorization": f"Bearer {STATE['token']}"}
            response = case.call_and_validate(headers=headers, checks=_checks_for(case, checks))
            statuses[response.status_code] += 1
            if case.operation.path == "/api/tokens/rotate" and response.status_code == 201:
                STATE["token"] = response.json()["token"]  # the old one is revoked

        try:
            exercise()
        except (Exception, BaseExceptionGroup) as exc:  # every operation's failure, not one
            failures.append(f"{operation.label}: {exc}")
    backend = fuzz_app.state.engine.dialect.name
    classes: Counter[str] = Counter()
    for code, n in statuses.items():
        classes[f"{code // 100}xx"] += n
    print(
        f"\nschemathesis on {backend}: {len(operations)} operations, {len(checks)} checks, "
        f"{MAX_EXAMPLES} examples per operation, {sum(statuses.values())} calls "
        f"({dict(sorted(classes.items()))}; by status {dict(sorted(statuses.items()))}), "
        f"{time.perf_counter() - started:.0f} s, {len(failures)} failing operations"
    )
    assert classes["5xx"] == 0
    assert failures == [], "\n\n".join(failures)
