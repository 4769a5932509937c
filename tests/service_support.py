"""Fixtures of the registry tests: a migrated, seeded database on SQLite and on PostgreSQL.

PostgreSQL tests read ``CRITMIN_TEST_POSTGRES_URL`` (the migration role, which owns the
tables) and ``CRITMIN_TEST_POSTGRES_APP_URL`` (the application role, which may only insert
into the audit log); `.ci/run` starts a server, creates both roles and sets both. Without
them the tests skip saying why, and in CI (``CI`` set) that is a failure.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, make_url, text

from critmin.service.app import create_app
from critmin.service.db import make_engine
from critmin.service.migrate import upgrade
from critmin.service.operator import create_user
from critmin.service.seed import seed
from critmin.service.settings import Settings

BACKENDS = ("sqlite", "postgresql")
# the API tests make many requests in a row with one token: generous rate limits, so that
# only the security tests, which set their own, meet them
TEST_SETTINGS = Settings(
    token_rate=1e4,
    token_burst=1e4,
    address_rate=1e4,
    address_burst=1e4,
    auth_failure_rate=1e4,
    auth_failure_burst=1e4,
    max_inflight=1000,
    max_write_queue=1000,
)
STARTUP_TIMEOUT_S = 30.0
USERS = {
    "usa_admin": ("USA", "admin"),
    "usa_editor": ("USA", "editor"),
    "usa_viewer": ("USA", "viewer"),
    "jpn_admin": ("JPN", "admin"),
    "jpn_editor": ("JPN", "editor"),
    "jpn_viewer": ("JPN", "viewer"),
}


def postgres_url(variable: str = "CRITMIN_TEST_POSTGRES_URL") -> str:
    """The test server's URL (``variable``); skip (fail in CI) when there is none."""
    url = os.environ.get(variable)
    if not url:
        reason = f"{variable} is not set (no PostgreSQL server or role for the tests)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}: .ci/run must start one")
        pytest.skip(f"{reason}; .ci/run starts one")
    return url


def postgres_app_url() -> str:
    """URL of the application role on the test database (``critmin db upgrade --app-role``
    grants it its privileges)."""
    return postgres_url("CRITMIN_TEST_POSTGRES_APP_URL")


def app_role(app_url: str) -> str:
    """The role name in an application URL."""
    return str(make_url(app_url).username)


def reset_postgres(url: str) -> None:
    """Drop every table of the test database (its public schema)."""
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def fresh_url(backend: str, folder: Path) -> str:
    """An empty database of ``backend``."""
    if backend == "sqlite":
        return f"sqlite:///{folder / 'registry.sqlite'}"
    url = postgres_url()
    reset_postgres(url)
    return url


@pytest.fixture(params=BACKENDS)
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """URL of an empty database, on each backend."""
    return fresh_url(str(request.param), tmp_path)


@pytest.fixture
def engine(empty_url: str) -> Iterator[Engine]:
    """A migrated and seeded registry database."""
    engine = make_engine(empty_url)
    upgrade(engine)
    seed(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def tokens(engine: Engine) -> dict[str, dict[str, str]]:
    """Authorization headers of an admin, editor and viewer of USA and of JPN."""
    return {
        name: {"Authorization": f"Bearer {create_user(engine, name, party, role)}"}
        for name, (party, role) in USERS.items()
    }


@pytest.fixture
def client(engine: Engine) -> Iterator[TestClient]:
    """The app on the seeded database (generous rate limits: :data:`TEST_SETTINGS`)."""
    with TestClient(create_app(engine=engine, settings=TEST_SETTINGS)) as test_client:
        yield test_client


def free_port() -> int:
    """A TCP port free on the loopback interface."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(url: str, port: int, log: Path, *options: str) -> subprocess.Popen[bytes]:
    """``critmin serve`` in a subprocess (the URL in ``CRITMIN_DATABASE_URL``, as a
    deployment passes it), once it answers."""
    process = subprocess.Popen(
        [sys.executable, "-m", "critmin", "serve", "--port", str(port), *options],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        env={**os.environ, "CRITMIN_DATABASE_URL": url},
    )
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=1.0)
            return process
        except httpx.TransportError:
            if process.poll() is not None:
                break
            time.sleep(0.2)
    process.kill()
    pytest.fail(f"server did not start: {log.read_text()[-2000:]}")
