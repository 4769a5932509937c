"""Fixtures of the registry tests: a migrated, seeded database on SQLite and on PostgreSQL.

PostgreSQL tests read ``CRITMIN_TEST_POSTGRES_URL`` (`.ci/run` starts a server and sets it);
without it they skip saying why, and in CI (``CI`` set) that is a failure.
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
from sqlalchemy import Engine, create_engine, text

from critmin.service.app import create_app
from critmin.service.db import make_engine
from critmin.service.migrate import upgrade
from critmin.service.seed import create_user, seed

BACKENDS = ("sqlite", "postgresql")
STARTUP_TIMEOUT_S = 30.0
USERS = {
    "usa_admin": ("USA", "admin"),
    "usa_editor": ("USA", "editor"),
    "usa_viewer": ("USA", "viewer"),
    "jpn_admin": ("JPN", "admin"),
    "jpn_editor": ("JPN", "editor"),
    "jpn_viewer": ("JPN", "viewer"),
}


def postgres_url() -> str:
    """The test server's URL; skip (fail in CI) when there is none."""
    url = os.environ.get("CRITMIN_TEST_POSTGRES_URL")
    if not url:
        reason = "CRITMIN_TEST_POSTGRES_URL is not set (no PostgreSQL server for the tests)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}: .ci/run must start one")
        pytest.skip(f"{reason}; .ci/run starts one")
    return url


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
    """The app on the seeded database."""
    with TestClient(create_app(engine=engine)) as test_client:
        yield test_client


def free_port() -> int:
    """A TCP port free on the loopback interface."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(url: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    """``critmin serve`` in a subprocess, once it answers."""
    process = subprocess.Popen(
        [sys.executable, "-m", "critmin", "serve", "--db", url, "--port", str(port)],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/docs", timeout=1.0)
            return process
        except httpx.TransportError:
            if process.poll() is not None:
                break
            time.sleep(0.2)
    process.kill()
    pytest.fail(f"server did not start: {log.read_text()[-2000:]}")
