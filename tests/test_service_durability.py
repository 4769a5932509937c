"""Durability: SIGKILL the server during a stream of writes; no acknowledged write is lost,
the database's own checks pass and the audit log's hash chain verifies."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import httpx
from sqlalchemy import Engine, text

from critmin.service.audit import verify_audit
from critmin.service.operator import create_user
from tests.service_support import free_port, start_server

WRITERS = 4
ACKS_BEFORE_KILL = 120


def _integrity_problems(engine: Engine) -> list[str]:
    """What the database's own consistency checks report (empty: consistent).

    SQLite: ``PRAGMA integrity_check`` and ``foreign_key_check``. PostgreSQL: the amcheck
    extension (heap and B-tree verification) where installed, and foreign keys.
    """
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            rows = connection.execute(text("PRAGMA integrity_check")).scalars().all()
            problems = [row for row in rows if row != "ok"]
            problems += [str(row) for row in connection.execute(text("PRAGMA foreign_key_check"))]
            return problems
        problems = []
        has_amcheck = connection.scalar(
            text("SELECT count(*) FROM pg_extension WHERE extname = 'amcheck'")
        )
        if not has_amcheck:
            if os.environ.get("CI"):
                problems.append("the amcheck extension is missing (.ci/run installs it)")
            return problems
        schema = connection.scalar(
            text(
                "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n"
                " ON n.oid = e.extnamespace WHERE e.extname = 'amcheck'"
            )
        )
        heap_errors = connection.execute(
            text(
                f"SELECT c.relname, v.msg FROM pg_class c JOIN pg_namespace n ON n.oid ="
                f" c.relnamespace, LATERAL {schema}.verify_heapam(c.oid) v"
                " WHERE n.nspname = 'public' AND c.relkind = 'r'"
            )
        ).all()
        problems += [f"{table}: {msg}" for table, msg in heap_errors]
        # raises on a corrupt B-tree index (heapallindexed: every row is in its indexes)
        connection.execute(
            text(
                f"SELECT {schema}.bt_index_check(c.oid, true) FROM pg_index i"
                " JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n"
                " ON n.oid = c.relnamespace WHERE n.nspname = 'public'"
            )
        ).all()
        orphans = connection.execute(
            text(
                "SELECT count(*) FROM stockpile_holdings s"
                " LEFT JOIN parties p ON p.code = s.party_code WHERE p.code IS NULL"
            )
        ).scalar_one()
        if orphans:
            problems.append(f"{orphans} stockpile rows without their party")
        return problems


def test_acknowledged_writes_survive_sigkill(engine: Engine, tmp_path: Path) -> None:
    url = engine.url.render_as_string(hide_password=False)
    token = create_user(engine, "durable", "USA", "editor")
    headers = {"Authorization": f"Bearer {token}"}
    port = free_port()
    log = tmp_path / "server.log"
    server = start_server(url, port, log)
    acknowledged: dict[int, float] = {}
    lock = threading.Lock()
    stop = threading.Event()

    def write_stream(writer: int) -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers) as client:
            sequence = 0
            while not stop.is_set():
                sequence += 1
                tonnes = writer * 1_000_000 + sequence
                payload = {
                    "party_code": "USA",
                    "material": "gallium",
                    "tonnes": tonnes,
                    "as_of": "2026-01-01",
                }
                try:
                    response = client.post("/api/stockpiles", json=payload, timeout=5.0)
                except httpx.TransportError:
                    return  # the server died mid-request: not acknowledged
                if response.status_code == 201:
                    with lock:
                        acknowledged[response.json()["id"]] = float(tonnes)

    threads = [threading.Thread(target=write_stream, args=(w,)) for w in range(WRITERS)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 60
    while len(acknowledged) < ACKS_BEFORE_KILL and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(server.pid, signal.SIGKILL)  # while the writers are still sending
    server.wait()
    stop.set()
    for thread in threads:
        thread.join(timeout=10)
    assert len(acknowledged) >= ACKS_BEFORE_KILL, log.read_text()[-2000:]

    engine.dispose()
    assert _integrity_problems(engine) == []
    assert verify_audit(engine).problems == []  # the hash chain survived the kill
    server = start_server(url, port, log)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers) as client:
            stored = {}
            offset = 0
            while True:
                page = client.get("/api/stockpiles", params={"limit": 500, "offset": offset})
                items = page.json()["items"]
                stored.update({item["id"]: item["tonnes"] for item in items})
                offset += len(items)
                if not items:
                    break
            audited = client.get(
                "/api/audit", params={"entity": "stockpile_holdings", "limit": 1}
            ).json()["total"]
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=10)
    lost = {i: t for i, t in acknowledged.items() if stored.get(i) != t}
    assert lost == {}, f"{len(lost)} acknowledged writes lost"
    assert audited == len(stored), "every stored write has its audit entry and no more"
