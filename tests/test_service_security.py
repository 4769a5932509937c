"""The registry under attack: one test per attack of issue 17, on SQLite and PostgreSQL.

Numbered as in the issue: (1) writing in another party's name, (2) tokens and sessions,
(3) input that used to answer 500, (4) detecting or blocking through references, (5) races,
(6) resource limits, (7) ids that leak, (8) rewriting the audit log, (9) smaller leaks,
(10) overload. Each test failed on the registry before the hardening.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import socket
import stat
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from typer.testing import CliRunner

from critmin.cli.app import app as cli
from critmin.service.app import create_app
from critmin.service.db import make_engine
from critmin.service.migrate import upgrade
from critmin.service.operator import create_user
from critmin.service.settings import Settings
from tests.service_support import (
    TEST_SETTINGS,
    app_role,
    free_port,
    postgres_app_url,
    start_server,
)

Headers = dict[str, dict[str, str]]
HOLDING = {"material": "gallium", "tonnes": 40.0, "as_of": "2026-03-01"}
PROJECT = {"name": "Mill", "country_iso3": "USA", "stage": "refining", "commodity": "x"}


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _count(engine: Engine, table: str, where: str = "1=1") -> int:
    with engine.connect() as connection:
        return int(connection.execute(text(f"SELECT count(*) FROM {table} WHERE {where}")).scalar())


@pytest.fixture
def framework(engine: Engine) -> dict[str, str]:
    """Headers of a framework administrator (a USA user acting for the framework)."""
    return _bearer(create_user(engine, "fw_admin", "USA", "framework"))


# (1) any party could write records in another party's name ------------------------------


@pytest.mark.parametrize(
    ("entity", "payload"),
    [
        (
            "financing",
            {"instrument": "equity", "amount": 5e12, "currency": "USD", "decided_on": "2026-01-01"},
        ),
        ("stockpiles", {"material": "Dy", "tonnes": 99_999, "as_of": "2026-01-01"}),
        ("commitments", {"text": "Japan withdraws from the framework"}),
    ],
)
def test_attack_1_a_party_cannot_write_in_another_partys_name(
    client: TestClient, tokens: Headers, engine: Engine, entity: str, payload: dict[str, Any]
) -> None:
    table = {"financing": "financing_decisions", "stockpiles": "stockpile_holdings"}.get(
        entity, entity
    )
    before = _count(engine, table, "party_code = 'JPN'")
    for name in ("usa_editor", "usa_admin"):
        response = client.post(
            f"/api/{entity}", json={**payload, "party_code": "JPN"}, headers=tokens[name]
        )
        assert response.status_code == 403, response.text
        assert response.json()["detail"].startswith("party_code: you enter records for USA")
    upload = (
        "party_code," + ",".join(payload) + "\nJPN," + ",".join(str(v) for v in payload.values())
    )
    response = client.post(
        f"/api/{entity}/import.csv",
        content=upload,
        headers={**tokens["usa_editor"], "Content-Type": "text/csv"},
    )
    assert response.status_code == 403
    assert response.json()["detail"].startswith("row 1: party_code")
    assert _count(engine, table, "party_code = 'JPN'") == before


def test_attack_1_owner_shown_and_the_framework_role_is_separate_and_audited(
    client: TestClient, tokens: Headers, framework: dict[str, str]
) -> None:
    mine = client.post("/api/stockpiles", json=HOLDING, headers=tokens["usa_editor"]).json()
    assert (mine["party_code"], mine["owner_party"], mine["entered_by"]) == ("USA", "USA", "USA")
    # a framework administrator enters a shared record for JPN: JPN's, marked and audited
    entered = client.post(
        "/api/stockpiles", json={**HOLDING, "party_code": "JPN"}, headers=framework
    )
    assert entered.status_code == 201, entered.text
    record = entered.json()
    assert (record["owner_party"], record["entered_by"]) == ("JPN", "framework")
    log = client.get(
        "/api/audit", params={"entity_id": record["id"]}, headers=tokens["jpn_viewer"]
    ).json()["items"]
    assert [(e["actor_party"], e["actor_role"]) for e in log] == [("USA", "framework")]
    # ... which JPN, its owner, may change and delete
    changed = client.patch(
        f"/api/stockpiles/{record['id']}", json={"tonnes": 1}, headers=tokens["jpn_editor"]
    )
    assert changed.status_code == 200
    assert (
        client.delete(f"/api/stockpiles/{record['id']}", headers=tokens["jpn_editor"]).status_code
        == 204
    )
    # but never a confidential one, and a party's own admin is not a framework administrator
    secret = {**HOLDING, "party_code": "JPN", "visibility": "confidential"}
    assert client.post("/api/stockpiles", json=secret, headers=framework).status_code == 403
    party = {"code": "KOR", "name": "Republic of Korea"}
    assert client.post("/api/parties", json=party, headers=tokens["usa_admin"]).status_code == 403
    assert client.post("/api/parties", json=party, headers=framework).status_code == 201
    grant = {"name": "deputy", "role": "framework"}
    assert client.post("/api/users", json=grant, headers=tokens["usa_admin"]).status_code == 403


# (2) tokens never expired and could not be revoked; no rate limit ------------------------


def test_attack_2_an_expired_token_is_refused(
    client: TestClient, tokens: Headers, engine: Engine
) -> None:
    headers = tokens["usa_viewer"]
    assert client.get("/api/me", headers=headers).status_code == 200
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE api_tokens SET expires_at = :past"),
            {"past": dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)},
        )
    assert client.get("/api/me", headers=headers).status_code == 401


def test_attack_2_a_revoked_or_deleted_token_fails_at_once_in_every_process(
    engine: Engine, tokens: Headers
) -> None:
    other_engine = make_engine(engine.url.render_as_string(hide_password=False))
    first = TestClient(create_app(engine=engine, settings=TEST_SETTINGS))
    second = TestClient(create_app(engine=other_engine, settings=TEST_SETTINGS))
    admin, viewer, editor = tokens["usa_admin"], tokens["usa_viewer"], tokens["usa_editor"]
    with first, second:
        for app in (first, second):  # both "processes" have used the tokens
            assert app.get("/api/me", headers=viewer).status_code == 200
            assert app.get("/api/me", headers=editor).status_code == 200
        users = first.get("/api/users", headers=admin).json()
        viewer_id = next(u["id"] for u in users if u["name"] == "usa_viewer")
        listed = first.get(f"/api/users/{viewer_id}/tokens", headers=admin).json()
        assert first.delete(f"/api/tokens/{listed[0]['id']}", headers=admin).status_code == 204
        assert second.get("/api/me", headers=viewer).status_code == 401
        assert first.get("/api/me", headers=viewer).status_code == 401
        # a token deleted in the database behind the app's back: refused at once too
        with engine.begin() as connection:
            connection.execute(
                text(
                    "DELETE FROM api_tokens WHERE user_id IN"
                    " (SELECT id FROM users WHERE name = 'usa_editor')"
                )
            )
        assert second.get("/api/me", headers=editor).status_code == 401
    other_engine.dispose()


def test_attack_2_cli_revoke_token_and_disable_user_hold_at_once(
    client: TestClient, tokens: Headers, engine: Engine
) -> None:
    url = engine.url.render_as_string(hide_password=False)
    runner = CliRunner()
    assert client.get("/api/me", headers=tokens["jpn_viewer"]).status_code == 200
    result = runner.invoke(
        cli, ["db", "revoke-token", "--user", "jpn_viewer", "--party", "JPN", "--db", url]
    )
    assert result.exit_code == 0, result.output
    assert "revoked 1" in result.output
    assert client.get("/api/me", headers=tokens["jpn_viewer"]).status_code == 401
    # by value, read from stdin (for a leaked token whose id nobody knows)
    leaked = tokens["jpn_editor"]["Authorization"].removeprefix("Bearer ")
    result = runner.invoke(cli, ["db", "revoke-token", "--stdin", "--db", url], input=leaked)
    assert result.exit_code == 0, result.output
    assert client.get("/api/me", headers=tokens["jpn_editor"]).status_code == 401
    assert client.get("/api/me", headers=tokens["usa_editor"]).status_code == 200
    result = runner.invoke(cli, ["db", "disable-user", "usa_editor", "--party", "USA", "--db", url])
    assert result.exit_code == 0, result.output
    assert client.get("/api/me", headers=tokens["usa_editor"]).status_code == 401
    # and through the API: an admin disables a user of the party
    users = client.get("/api/users", headers=tokens["jpn_admin"]).json()
    admin_id = next(u["id"] for u in users if u["name"] == "jpn_admin")
    usa = client.post(f"/api/users/{admin_id}/disable", headers=tokens["usa_admin"])
    assert usa.status_code == 404  # another party's user
    done = client.post(f"/api/users/{admin_id}/disable", headers=tokens["jpn_admin"])
    assert done.status_code == 200
    assert done.json()["disabled_at"] is not None
    assert client.get("/api/me", headers=tokens["jpn_admin"]).status_code == 401


def test_attack_2_guessing_tokens_is_rate_limited(engine: Engine, tokens: Headers) -> None:
    settings = Settings(auth_failure_burst=10, auth_failure_rate=0.5)
    with TestClient(create_app(engine=engine, settings=settings)) as client:
        statuses = [
            client.get("/api/me", headers=_bearer(f"guess-{n}")).status_code for n in range(40)
        ]
        assert statuses[:10] == [401] * 10
        assert set(statuses[10:]) == {429}
        refused = client.get("/api/me", headers=_bearer("guess-x"))
        assert int(refused.headers["Retry-After"]) >= 1
        signin = client.post("/api/session", json={"token": "guess-y"})
        assert signin.status_code == 429


def test_attack_2_one_token_is_rate_limited(engine: Engine, tokens: Headers) -> None:
    settings = Settings(token_rate=2.0, token_burst=10.0)
    with TestClient(create_app(engine=engine, settings=settings)) as client:
        statuses = [
            client.get("/api/me", headers=tokens["usa_viewer"]).status_code for _ in range(30)
        ]
        assert statuses[:10] == [200] * 10
        assert statuses.count(429) >= 15
        assert client.get("/api/me", headers=tokens["jpn_viewer"]).status_code == 200


def test_attack_2_tokens_are_capped_expire_and_rotate(client: TestClient, tokens: Headers) -> None:
    admin = tokens["usa_admin"]
    users = client.get("/api/users", headers=admin).json()
    viewer_id = next(u["id"] for u in users if u["name"] == "usa_viewer")
    issued = []
    for _ in range(Settings().max_tokens_per_user + 3):
        response = client.post(f"/api/users/{viewer_id}/tokens", headers=admin)
        assert response.status_code == 201
        assert response.headers["cache-control"] == "no-store"
        issued.append(response.json())
    horizon = dt.datetime.now(dt.UTC) + dt.timedelta(days=Settings().api_token_days, minutes=1)
    assert all(dt.datetime.fromisoformat(t["expires_at"]) < horizon for t in issued)
    live = [
        t
        for t in client.get(f"/api/users/{viewer_id}/tokens", headers=admin).json()
        if t["revoked_at"] is None
    ]
    assert len(live) == Settings().max_tokens_per_user
    oldest, newest = _bearer(issued[0]["token"]), _bearer(issued[-1]["token"])
    assert client.get("/api/me", headers=oldest).status_code == 401
    rotated = client.post("/api/tokens/rotate", headers=newest)
    assert rotated.status_code == 201
    assert client.get("/api/me", headers=newest).status_code == 401
    assert client.get("/api/me", headers=_bearer(rotated.json()["token"])).status_code == 200


def test_attack_2_dashboard_signs_in_with_an_httponly_samesite_cookie_and_csrf(
    client: TestClient, tokens: Headers
) -> None:
    token = tokens["usa_editor"]["Authorization"].removeprefix("Bearer ")
    signed = client.post("/api/session", json={"token": token})
    assert signed.status_code == 201
    cookie = signed.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=strict" in cookie
    assert token not in signed.text
    csrf = signed.json()["csrf_token"]
    assert client.get("/api/me").json()["name"] == "usa_editor"  # the cookie alone reads
    assert client.post("/api/stockpiles", json=HOLDING).status_code == 403  # no CSRF token
    forged = client.post("/api/stockpiles", json=HOLDING, headers={"X-CSRF-Token": "0" * 64})
    assert forged.status_code == 403
    written = client.post("/api/stockpiles", json=HOLDING, headers={"X-CSRF-Token": csrf})
    assert written.status_code == 201
    assert client.get("/api/session").json()["csrf_token"] == csrf
    assert client.delete("/api/session", headers={"X-CSRF-Token": csrf}).status_code == 204
    assert client.get("/api/me").status_code == 401
    script = (Path(create_app.__code__.co_filename).parent / "dashboard/static/app.js").read_text()
    assert "localStorage" not in script
    assert "sessionStorage" not in script


# (3) bad input answered 500 ------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b'{"material": "Dy", "tonnes": NaN, "as_of": "2026-01-01"}',
        b'{"material": "Dy", "tonnes": Infinity, "as_of": "2026-01-01"}',
        b'{"material": "Dy", "tonnes": -Infinity, "as_of": "2026-01-01"}',
        b'{"material": "Dy", "tonnes": 1e309, "as_of": "2026-01-01"}',
        b'{"material": "\\ud800", "tonnes": 1, "as_of": "2026-01-01"}',
        b'{"material": "Dy", "tonnes": 1, "as_of": "2026-01-01", "\\ud800": NaN}',
        b'{"material": "Dy", "tonnes": 1, "as_of": "2026-01-01", "colour": 1e309}',
    ],
)
def test_attack_3_non_finite_numbers_and_lone_surrogates_are_422(
    client: TestClient, tokens: Headers, engine: Engine, body: bytes
) -> None:
    response = client.post(
        "/api/stockpiles",
        content=body,
        headers={**tokens["usa_editor"], "Content-Type": "application/json"},
    )
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail[0]["loc"][0] == "body"
    assert "\n" not in detail[0]["msg"]
    assert _count(engine, "stockpile_holdings") == 0


@pytest.mark.parametrize(
    ("upload", "expected"),
    [
        ("material,tonnes,as_of\n" + "x" * 140_000 + ",1,2026-01-01\n", 422),
        ("material,tonnes,as_of\r" + "gallium,1,2026-01-01\r" + "cobalt,2,2026-01-02\r", 201),
    ],
)
def test_attack_3_huge_fields_and_odd_line_ends_in_csv_are_not_500(
    client: TestClient, tokens: Headers, upload: str, expected: int
) -> None:
    response = client.post(
        "/api/stockpiles/import.csv",
        content=upload.encode(),
        headers={**tokens["usa_editor"], "Content-Type": "text/csv"},
    )
    assert response.status_code == expected, response.text
    if expected == 201:
        assert [row["material"] for row in response.json()] == ["gallium", "cobalt"]
    else:
        assert len(response.text) < 1000


def test_attack_3_api_text_limits_are_the_database_columns(
    client: TestClient, tokens: Headers
) -> None:
    from critmin.service.models import Base
    from critmin.service.routes.entities import SPECS

    for spec in SPECS:
        table = Base.metadata.tables[spec.label]
        for name, info in spec.create.model_fields.items():
            limit = next((m.max_length for m in info.metadata if hasattr(m, "max_length")), None)
            column = table.columns.get(name)
            if limit is not None and column is not None:
                assert limit == getattr(column.type, "length", None), (spec.path, name)
    editor = tokens["usa_editor"]
    for field, width in (("commodity", 100), ("stage", 100), ("name", 200)):
        fits = client.post("/api/projects", json={**PROJECT, field: "w" * width}, headers=editor)
        assert fits.status_code == 201, fits.text
        over = client.post(
            "/api/projects", json={**PROJECT, field: "w" * (width + 1)}, headers=editor
        )
        assert over.status_code == 422
    material = client.post(
        "/api/stockpiles", json={**HOLDING, "material": "m" * 101}, headers=editor
    )
    assert material.status_code == 422


# (4) another party's confidential records could be detected, and could block --------------


@pytest.fixture
def shared_projects(client: TestClient, tokens: Headers) -> tuple[str, str, str]:
    """Two shared USA projects; JPN holds a confidential milestone on the second only.
    (the bare project's id, the held one's, the milestone's)"""
    us, jp = tokens["usa_editor"], tokens["jpn_editor"]
    bare = client.post("/api/projects", json=PROJECT, headers=us).json()["id"]
    held = client.post("/api/projects", json=PROJECT, headers=us).json()["id"]
    hidden = {"project_id": held, "title": "x", "planned_on": "2026-01-01"}
    milestone = client.post(
        "/api/milestones", json={**hidden, "visibility": "confidential"}, headers=jp
    )
    assert milestone.status_code == 201
    return bare, held, milestone.json()["id"]


def _answers_alike(answers: list[httpx.Response], ids: tuple[str, str]) -> bool:
    """Same status and same detail, but for the record's own id."""
    details = [a.json()["detail"].replace(i, "ID") for a, i in zip(answers, ids, strict=True)]
    return answers[0].status_code == answers[1].status_code and details[0] == details[1]


def test_attack_4_deleting_a_shared_project_answers_alike_with_or_without_hidden_records(
    client: TestClient, tokens: Headers, shared_projects: tuple[str, str, str]
) -> None:
    bare, held, _ = shared_projects
    us = tokens["usa_editor"]
    answers = [client.delete(f"/api/projects/{pid}", headers=us) for pid in (bare, held)]
    assert [a.status_code for a in answers] == [409, 409]
    assert _answers_alike(answers, (bare, held))


def test_attack_4_a_party_cannot_strand_another_partys_records(
    client: TestClient, tokens: Headers, shared_projects: tuple[str, str, str]
) -> None:
    bare, held, milestone = shared_projects
    us, jp = tokens["usa_editor"], tokens["jpn_editor"]
    hide = {"visibility": "confidential"}
    answers = [client.patch(f"/api/projects/{pid}", json=hide, headers=us) for pid in (bare, held)]
    assert [a.status_code for a in answers] == [409, 409]
    assert _answers_alike(answers, (bare, held))
    edited = client.patch(f"/api/milestones/{milestone}", json={"title": "permit"}, headers=jp)
    assert edited.status_code == 200, edited.text


# (5) races gave 500 on PostgreSQL ------------------------------------------------------


def test_attack_5_concurrent_identical_creates_are_one_201_and_409s(
    engine: Engine, framework: dict[str, str], tokens: Headers
) -> None:
    app = create_app(engine=engine, settings=TEST_SETTINGS)

    async def burst(path: str, payload: dict[str, str], headers: dict[str, str]) -> list[int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            calls = [client.post(path, json=payload, headers=headers) for _ in range(24)]
            return [r.status_code for r in await asyncio.gather(*calls)]

    async def both() -> tuple[list[int], list[int]]:  # one event loop, as in a server
        parties = await burst("/api/parties", {"code": "KOR", "name": "Korea"}, framework)
        users = await burst("/api/users", {"name": "twin"}, tokens["usa_admin"])
        return parties, users

    parties, users = asyncio.run(both())
    for statuses in (parties, users):
        assert statuses.count(201) == 1, statuses
        assert set(statuses) <= {201, 409, 422}, statuses


# (6) no resource limits -----------------------------------------------------------------


def test_attack_6_large_bodies_are_refused_before_parsing_and_never_echoed(
    client: TestClient, tokens: Headers
) -> None:
    editor = {**tokens["usa_editor"], "Content-Type": "application/json"}
    huge = b'{"material": "' + b"x" * (Settings().max_body_bytes + 1) + b'"}'
    response = client.post("/api/stockpiles", content=huge, headers=editor)
    assert response.status_code == 413
    declared = client.post(
        "/api/stockpiles", content=b"{}", headers={**editor, "Content-Length": "104857600"}
    )
    assert declared.status_code in (400, 413)
    big = {**HOLDING, "material": "y" * 200_000}
    echoed = client.post("/api/stockpiles", content=json.dumps(big)[:250_000], headers=editor)
    assert echoed.status_code == 422
    assert len(echoed.content) < 2_000
    csv_limit = Settings().max_csv_bytes
    upload = b"material,tonnes,as_of\n" + b"g,1,2026-01-01\n" * (csv_limit // 15 + 1)
    response = client.post(
        "/api/stockpiles/import.csv",
        content=upload,
        headers={**tokens["usa_editor"], "Content-Type": "text/csv"},
    )
    assert response.status_code == 413


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[int]:
    """``critmin serve`` on a fresh SQLite registry; its port."""
    url = f"sqlite:///{tmp_path / 'registry.sqlite'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    port = free_port()
    server = start_server(url, port, tmp_path / "server.log")
    yield port
    server.terminate()
    server.wait(timeout=10)


def _raw_request(port: int, head: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        with contextlib.suppress(OSError):  # the server may close while a head is being sent
            connection.sendall(head)
        chunks = []
        while True:
            try:
                chunk = connection.recv(65536)
            except OSError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)


def test_attack_6_huge_headers_are_refused_and_the_server_stays_up(live_server: int) -> None:
    start = time.perf_counter()
    head = b"GET /api/me HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 8_000_000 + b"\r\n\r\n"
    answer = _raw_request(live_server, head)
    assert answer.startswith(b"HTTP/1.1 431"), answer[:100]
    assert time.perf_counter() - start < 10
    response = httpx.get(f"http://127.0.0.1:{live_server}/api/me", timeout=5)
    assert response.status_code == 401
    assert "server" not in response.headers


def _held_compute(name: str, samples: int, seed: int) -> dict[str, Any]:
    RELEASE.wait(10)
    CALLS.append((name, samples, seed))
    return {"scenario": name, "samples": samples, "seed": seed}


RELEASE = threading.Event()
CALLS: list[tuple[str, int, int]] = []


def test_attack_6_simulations_are_bounded_per_party_and_cached() -> None:
    from fastapi import HTTPException

    from critmin.service.routes.simulation import SimulationQueue

    queue = SimulationQueue(
        workers=2, capacity=2, compute=_held_compute, make_executor=ThreadPoolExecutor
    )
    RELEASE.clear()
    CALLS.clear()
    refused: list[int] = []

    async def scenario() -> list[dict[str, Any]]:
        first = asyncio.create_task(queue.run("USA", ("a", 500, 1)))
        await asyncio.sleep(0.05)
        for party, key in (("USA", ("a", 500, 2)), ("JPN", ("a", 500, 3))):
            try:
                await asyncio.wait_for(queue.run(party, key), timeout=0.05)
            except HTTPException as exc:
                refused.append(exc.status_code)
            except TimeoutError:
                refused.append(0)  # accepted and running (the wait was cancelled, not the run)
        try:
            await queue.run("AUS", ("a", 500, 4))
        except HTTPException as exc:
            refused.append(exc.status_code)
        joined = asyncio.create_task(queue.run("THA", ("a", 500, 1)))  # the same run
        RELEASE.set()
        results = [await first, await joined]
        await asyncio.sleep(0.05)
        results.append(await queue.run("MYS", ("a", 500, 1)))  # from the cache
        return results

    results = asyncio.run(scenario())
    queue.close()
    assert results == [{"scenario": "a", "samples": 500, "seed": 1}] * 3
    assert refused == [429, 0, 503]  # USA has a run; JPN's fits; then the queue is full
    assert sorted(CALLS) == [("a", 500, 1), ("a", 500, 3)]  # joined and cached: no work


# (7) ids leaked other parties' activity ---------------------------------------------------


def test_attack_7_ids_reveal_nothing_and_are_never_reused(
    client: TestClient, tokens: Headers
) -> None:
    us, jp = tokens["usa_editor"], tokens["jpn_editor"]
    first = client.post("/api/stockpiles", json=HOLDING, headers=us).json()["id"]
    for _ in range(3):
        client.post("/api/stockpiles", json={**HOLDING, "visibility": "confidential"}, headers=jp)
    second = client.post("/api/stockpiles", json=HOLDING, headers=us).json()["id"]
    for record_id in (first, second):
        assert uuid.UUID(record_id).version == 7
    assert client.delete(f"/api/stockpiles/{second}", headers=us).status_code == 204
    third = client.post("/api/stockpiles", json=HOLDING, headers=us).json()["id"]
    assert third not in (first, second)
    trail = client.get("/api/audit", params={"entity_id": third}, headers=us).json()["items"]
    assert [e["action"] for e in trail] == ["create"]
    entries = client.get("/api/audit", params={"limit": 5}, headers=us).json()["items"]
    for entry in entries:
        assert uuid.UUID(entry["id"]).version == 7
        assert {"seq", "hash", "prev_hash"}.isdisjoint(entry)


# (8) the audit log could be rewritten -------------------------------------------------------


def test_attack_8_the_app_role_can_only_add_to_the_audit_log(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("roles are PostgreSQL's")
    from critmin.service.migrate import grant_app_role

    app_url = postgres_app_url()
    grant_app_role(engine, app_role(app_url))
    app_engine = make_engine(app_url)
    token = create_user(engine, "app_role_user", "USA", "editor")
    with TestClient(create_app(engine=app_engine, settings=TEST_SETTINGS)) as client:
        created = client.post("/api/stockpiles", json=HOLDING, headers=_bearer(token))
        assert created.status_code == 201, created.text
    for statement in (
        "UPDATE audit_log SET user_name = 'x'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
        "ALTER TABLE audit_log DISABLE TRIGGER ALL",
        "DROP TRIGGER audit_log_no_change ON audit_log",
        "DROP TABLE audit_log",
    ):
        with (
            pytest.raises(DBAPIError, match=r"permission denied|must be owner"),
            app_engine.begin() as connection,
        ):
            connection.execute(text(statement))
    app_engine.dispose()


def _tamper(engine: Engine, statement: str) -> None:
    """Run ``statement`` as someone with the database file or the owner role would."""
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            connection.execute(text("DROP TRIGGER IF EXISTS audit_log_no_update"))
            connection.execute(text("DROP TRIGGER IF EXISTS audit_log_no_delete"))
        else:
            connection.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
        connection.execute(text(statement))


@pytest.mark.parametrize(
    ("statement", "finding"),
    [
        ("UPDATE audit_log SET after = replace(after, '40.0', '4.0') WHERE seq = {seq}", "changed"),
        ("DELETE FROM audit_log WHERE seq = 2", "missing"),
        ("DELETE FROM audit_log WHERE seq >= {seq}", "no audit entry"),
        ("UPDATE stockpile_holdings SET tonnes = 4", "differs from its last audited state"),
        ("DELETE FROM stockpile_holdings", "audited but missing"),
    ],
)
def test_attack_8_verify_audit_detects_rows_changed_or_deleted_behind_the_app(
    client: TestClient, tokens: Headers, engine: Engine, statement: str, finding: str
) -> None:
    client.post(
        "/api/stockpiles", json={**HOLDING, "party_code": "USA"}, headers=tokens["usa_editor"]
    )
    url = engine.url.render_as_string(hide_password=False)
    runner = CliRunner()
    clean = runner.invoke(cli, ["db", "verify-audit", "--db", url])
    assert clean.exit_code == 0, clean.output
    assert "intact" in clean.output
    anchor = clean.output.split("head ", 1)[1].split()[0]
    assert (
        runner.invoke(cli, ["db", "verify-audit", "--anchor", anchor, "--db", url]).exit_code == 0
    )
    forged = anchor.split(":")[0] + ":" + "0" * 64
    refused = runner.invoke(cli, ["db", "verify-audit", "--anchor", forged, "--db", url])
    assert refused.exit_code == 1
    assert "not in the chain" in refused.output
    with engine.connect() as connection:
        seq = connection.execute(
            text("SELECT seq FROM audit_log WHERE entity = 'stockpile_holdings'")
        ).scalar_one()
    _tamper(engine, statement.format(seq=seq))
    result = runner.invoke(cli, ["db", "verify-audit", "--db", url])
    assert result.exit_code == 1
    assert finding in result.output


# (9) smaller leaks --------------------------------------------------------------------------


def test_attack_9_user_names_of_other_parties_cannot_be_enumerated(
    client: TestClient, tokens: Headers
) -> None:
    taken_elsewhere = client.post(
        "/api/users", json={"name": "jpn_editor"}, headers=tokens["usa_admin"]
    )
    assert taken_elsewhere.status_code == 201
    record = client.post(
        "/api/stockpiles", json={**HOLDING, "party_code": "JPN"}, headers=tokens["jpn_editor"]
    ).json()
    seen_by_us = client.get(
        "/api/audit", params={"entity_id": record["id"]}, headers=tokens["usa_viewer"]
    ).json()["items"]
    assert [(e["user_name"], e["actor_party"]) for e in seen_by_us] == [(None, "JPN")]
    seen_by_jp = client.get(
        "/api/audit", params={"entity_id": record["id"]}, headers=tokens["jpn_viewer"]
    ).json()["items"]
    assert seen_by_jp[0]["user_name"] == "jpn_editor"


def test_attack_9_csv_exports_escape_formulas_and_round_trip(
    client: TestClient, tokens: Headers
) -> None:
    editor = tokens["usa_editor"]
    for material in ('=HYPERLINK("http://evil","x")', "+1", "-1", "@SUM(A1)", "'=quoted"):
        client.post("/api/stockpiles", json={**HOLDING, "material": material}, headers=editor)
    exported = client.get("/api/stockpiles/export.csv", headers=editor).text
    cells = [line.split(",")[0] for line in exported.splitlines()[1:]]
    assert not any(cell.lstrip('"')[:1] in "=+-@" for cell in cells)
    reimported = client.post(
        "/api/stockpiles/import.csv",
        content=exported,
        headers={**editor, "Content-Type": "text/csv"},
    ).json()
    assert sorted(row["material"] for row in reimported) == sorted(
        ['=HYPERLINK("http://evil","x")', "+1", "-1", "@SUM(A1)", "'=quoted"]
    )


def test_attack_9_security_headers_no_cdn_and_no_store(client: TestClient, tokens: Headers) -> None:
    assert client.get("/docs").status_code == 404
    assert client.get("/redoc").status_code == 404
    assert client.get("/openapi.json").status_code == 200
    page = client.get("/dashboard/")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "http" not in csp
    assert "frame-ancestors 'none'" in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    assert "http" not in page.text.split("<body", 1)[0].replace("http-equiv", "")
    me = client.get("/api/me", headers=tokens["usa_viewer"])
    assert me.headers["cache-control"] == "no-store"


def test_attack_9_database_url_from_the_environment_and_private_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    os.umask(0o022)
    url = f"sqlite:///{tmp_path / 'env.sqlite'}"
    monkeypatch.setenv("CRITMIN_DATABASE_URL", url)
    runner = CliRunner()
    assert runner.invoke(cli, ["db", "seed"]).exit_code == 0
    dump = tmp_path / "dump.json"
    dump.write_text("old, world-readable")
    assert runner.invoke(cli, ["db", "export", str(dump)]).exit_code == 0
    for path in (tmp_path / "env.sqlite", tmp_path / "env.sqlite-wal", dump):
        if path.exists():
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_attack_9_database_errors_carry_no_record_contents(engine: Engine) -> None:
    marker = "Zephyrite-secret-material"
    with pytest.raises(IntegrityError) as caught, engine.begin() as connection:
        connection.execute(
            text("INSERT INTO parties (code, name, role_in_framework) VALUES ('USA', :n, 'x')"),
            {"n": marker},
        )
    assert marker not in str(caught.value)


# (10) overload: refuse quickly instead of queueing without bound ---------------------------


def test_attack_10_overload_answers_503_at_once_and_recovers() -> None:
    from critmin.service.guard import Guard, Limits

    release = asyncio.Event()

    async def slow_app(scope: Any, receive: Any, send: Any) -> None:
        await release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    settings = Settings(max_inflight=4, address_rate=1e4, address_burst=1e4)
    guard = Guard(slow_app, Limits(settings))

    async def scenario() -> tuple[list[int], float, int]:
        transport = httpx.ASGITransport(app=guard)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            held = [asyncio.create_task(client.get("/api/x")) for _ in range(4)]
            await asyncio.sleep(0.05)
            start = time.perf_counter()
            refused = await asyncio.gather(*(client.get("/api/x") for _ in range(20)))
            elapsed = time.perf_counter() - start
            release.set()
            served = [r.status_code for r in await asyncio.gather(*held)]
            after = (await client.get("/api/x")).status_code
            return [r.status_code for r in refused] + served, elapsed, after

    statuses, elapsed, after = asyncio.run(scenario())
    assert statuses[:20] == [503] * 20
    assert statuses[20:] == [200] * 4
    assert elapsed < 1.0
    assert after == 200


# (9) a schema-violating request accepted (schemathesis' negative data) ----------------------


def test_attack_9_numbers_are_numbers_and_parameters_come_once(
    client: TestClient, tokens: Headers
) -> None:
    """``amount: false`` is not 0 and ``"5"`` is not 5 in a JSON body; a query parameter
    given twice is refused, not read as its last value (CSV imports still parse numbers:
    test_service_api)."""
    us = tokens["usa_editor"]
    for amount in (False, True, "5"):
        body = {"party_code": "USA", "instrument": "loan", "amount": amount, "currency": "USD",
                "decided_on": "2026-01-15", "visibility": "shared"}  # fmt: skip
        answer = client.post("/api/financing", json=body, headers=us)
        assert answer.status_code == 422, (amount, answer.text)
        assert answer.json()["detail"][0]["loc"] == ["body", "amount"]
    body = {"party_code": "USA", "instrument": "loan", "amount": 5.0, "currency": "USD",
            "decided_on": 0, "visibility": "shared"}  # fmt: skip
    answer = client.post("/api/financing", json=body, headers=us)  # 0 is not 1970-01-01
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"][0]["loc"] == ["body", "decided_on"]
    for query in ("entity=", "q="):  # an empty filter is a mistake, not "match ''"
        where = "/api/audit" if query.startswith("entity") else "/api/projects"
        assert client.get(f"{where}?{query}", headers=us).status_code == 422, query
    answer = client.get("/api/projects?stage=mining&stage=refining", headers=us)
    assert answer.status_code == 422
    assert answer.json()["detail"] == [
        {"type": "repeated_parameter", "loc": ["query", "stage"],
         "msg": "given 2 times; give it once", "input": None}
    ]  # fmt: skip
    assert client.get("/api/projects?stage=mining", headers=us).status_code == 200
