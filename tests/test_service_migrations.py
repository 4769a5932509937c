"""Schema migrations, and whole-database export -> import without loss."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from critmin.cli.app import app as cli
from critmin.errors import CritminError, DataError
from critmin.service.app import create_app
from critmin.service.db import default_url, make_engine
from critmin.service.dump import export_database, import_database
from critmin.service.migrate import current_revision, head_revision, upgrade
from critmin.service.models import Base
from tests.service_support import fresh_url

Headers = dict[str, dict[str, str]]


def test_upgrade_an_empty_database(empty_url: str) -> None:
    engine = make_engine(empty_url)
    assert current_revision(engine) is None
    upgrade(engine)
    assert current_revision(engine) == head_revision() == "0002"
    assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_upgrade_a_database_at_the_previous_revision(empty_url: str) -> None:
    engine = make_engine(empty_url)
    upgrade(engine, "0001")
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO parties VALUES ('USA', 'United States', 'framework')"))
        connection.execute(
            text(
                "INSERT INTO commitments (party_code, text, deadline, source_url, source_title,"
                " owner_party, visibility) VALUES ('USA', 'fund projects', '2026-04-28', '', '',"
                " 'USA', 'shared')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO audit_log (at, user_name, actor_party, action, entity, entity_id,"
                " owner_party, visibility) VALUES (CURRENT_TIMESTAMP, 'a', 'USA', 'create',"
                " 'commitments', '1', 'USA', 'shared')"
            )
        )
        connection.execute(text("UPDATE audit_log SET user_name = 'b'"))  # allowed at 0001
    upgrade(engine)
    assert current_revision(engine) == "0002"
    with engine.connect() as connection:
        assert (
            connection.execute(text("SELECT text FROM commitments")).scalar_one() == "fund projects"
        )
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
        connection.execute(text("UPDATE audit_log SET user_name = 'c'"))
    engine.dispose()


def test_export_import_round_trips_every_table(
    client: TestClient,
    tokens: Headers,
    engine: Engine,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    jp = tokens["jpn_editor"]
    project = client.post(
        "/api/projects",
        json={
            "name": "Ōita magnets",
            "country_iso3": "JPN",
            "stage": "magnet",
            "commodity": "rare_earths",
            "visibility": "confidential",
        },
        headers=jp,
    ).json()
    client.post(
        "/api/financing",
        json={
            "project_id": project["id"],
            "party_code": "JPN",
            "instrument": "loan",
            "amount": 1.25e8,
            "currency": "USD",
            "decided_on": "2026-04-01",
            "visibility": "confidential",
        },
        headers=jp,
    )
    client.post(
        "/api/milestones",
        json={
            "project_id": project["id"],
            "title": "FID",
            "planned_on": "2026-05-01",
            "actual_on": "2026-05-03",
            "visibility": "confidential",
        },
        headers=jp,
    )
    first = tmp_path / "first.json"
    counts = export_database(engine, first)
    assert counts["financing_decisions"] == 1
    assert counts["audit_log"] > 10
    backend = "postgresql" if engine.dialect.name == "postgresql" else "sqlite"
    target_dir = tmp_path / "target"
    target_dir.mkdir()
    engine.dispose()
    target = make_engine(fresh_url(backend, target_dir))
    upgrade(target)
    assert import_database(target, first) == counts
    second = tmp_path / "second.json"
    export_database(target, second)
    assert json.loads(second.read_text()) == json.loads(first.read_text())
    with pytest.raises(DataError, match="not empty"):
        import_database(target, first)
    with TestClient(create_app(engine=target)) as restored:  # new ids follow the imported ones
        response = restored.post(
            "/api/milestones",
            json={
                "project_id": project["id"],
                "title": "first ore",
                "planned_on": "2027-01-01",
                "visibility": "confidential",
            },
            headers=jp,
        )
        assert response.status_code == 201, response.text
    target.dispose()


def test_cli_upgrade_seed_user_export_import(tmp_path: Path) -> None:
    runner = CliRunner()
    source = f"sqlite:///{tmp_path / 'a.sqlite'}"
    copy = f"sqlite:///{tmp_path / 'b.sqlite'}"
    dump = tmp_path / "dump.json"
    steps = [
        ["db", "upgrade", "--db", source],
        ["db", "seed", "--db", source],
        ["db", "create-user", "kenji", "--party", "JPN", "--role", "editor", "--db", source],
        ["db", "export", str(dump), "--db", source],
        ["db", "import", str(dump), "--db", copy],
    ]
    outputs = []
    for args in steps:
        result = runner.invoke(cli, args)
        assert result.exit_code == 0, result.output
        outputs.append(result.output)
    assert "revision 0002" in outputs[0]
    token = outputs[2].strip()
    assert len(token) >= 40
    stored = json.loads(dump.read_text())["tables"]["api_tokens"]
    assert token not in json.dumps(stored)  # only its SHA-256 is stored
    with TestClient(create_app(copy)) as client:
        me = client.get("/api/me", headers={"Authorization": f"Bearer {token}"})
        assert me.json()["party_code"] == "JPN"
    failed = runner.invoke(cli, ["db", "create-user", "x", "--party", "ZZZ", "--db", source])
    assert failed.exit_code != 0
    assert "ZZZ" in str(failed.exception)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://user@host/db", "not supported"),
        ("sqlite:////nonexistent-folder/registry.sqlite", "cannot connect"),
    ],
)
def test_cli_names_a_bad_database_url(url: str, message: str) -> None:
    result = CliRunner().invoke(cli, ["db", "upgrade", "--db", url])
    assert isinstance(result.exception, CritminError)
    assert message in str(result.exception)


@pytest.mark.skipif(sys.platform != "linux", reason="XDG_DATA_HOME is the data dir on Linux")
def test_default_database_is_a_file_in_the_user_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    url = default_url()
    assert url == f"sqlite:///{tmp_path / 'critmin' / 'registry.sqlite'}"
    engine = make_engine(url)
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()
