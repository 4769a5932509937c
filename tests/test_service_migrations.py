"""Schema migrations, and whole-database export -> import without loss."""

from __future__ import annotations

import csv
import datetime as dt
import json
import sys
import uuid
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from fastapi.testclient import TestClient
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from critmin.cli.app import app as cli
from critmin.errors import CritminError, DataError
from critmin.service.app import create_app
from critmin.service.audit import verify_audit
from critmin.service.auth import token_digest
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
    assert current_revision(engine) == head_revision() == "0003"
    assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_the_migrations_build_exactly_the_models_schema(empty_url: str) -> None:
    """Alembic's autogenerate finds nothing to change between the migrated database and
    the ORM models (tables, columns, types, nullability, indexes, unique constraints)."""
    engine = make_engine(empty_url)
    upgrade(engine)
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": False}
        )
        diff = compare_metadata(context, Base.metadata)
    assert diff == []
    engine.dispose()


def _state(**values: object) -> str:
    return json.dumps(values, sort_keys=True)


OLD_PROJECT = {
    "id": 2,
    "name": "Mill",
    "country_iso3": "USA",
    "stage": "refining",
    "commodity": "rare_earths",
    "status": "",
    "curated_name": None,
    "owner_party": "USA",
    "visibility": "shared",
}
OLD_FINANCING = {
    "id": 1,
    "project_id": 2,
    "party_code": "USA",
    "instrument": "loan",
    "amount": 1.5e8,
    "currency": "USD",
    "decided_on": "2026-03-31",
    "owner_party": "USA",
    "visibility": "confidential",
}
OLD_COMMITMENT = {
    "id": 1,
    "party_code": "USA",
    "text": "fund projects",
    "deadline": "2026-04-28",
    "met_on": None,
    "source_url": "",
    "source_title": "",
    "owner_party": "USA",
    "visibility": "shared",
}


def _database_at_0002(engine: Engine) -> str:
    """A registry at revision 0002 as the old code left it (integer ids, one project
    deleted so id 1 is a gap, audit states in the old format); its API token."""
    upgrade(engine, "0002")
    token = "old-token-" + "x" * 40
    audit = [
        (
            "parties",
            "USA",
            None,
            _state(
                code="USA",
                name="United States",
                role_in_framework="framework",
                owner_party="USA",
                visibility="shared",
            ),
        ),
        (
            "users",
            "1",
            None,
            _state(
                id=1,
                name="ann",
                party_code="USA",
                role="editor",
                owner_party="USA",
                visibility="confidential",
            ),
        ),
        ("projects", "1", None, _state(**{**OLD_PROJECT, "id": 1, "name": "Gone"})),
        ("projects", "1", _state(**{**OLD_PROJECT, "id": 1, "name": "Gone"}), None),
        ("projects", "2", None, _state(**OLD_PROJECT)),
        ("financing_decisions", "1", None, _state(**OLD_FINANCING)),
        ("commitments", "1", None, _state(**OLD_COMMITMENT)),
    ]
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO parties VALUES ('USA', 'United States', 'framework')"))
        connection.execute(text("INSERT INTO users VALUES (1, 'ann', 'USA', 'editor')"))
        connection.execute(
            text("INSERT INTO api_tokens VALUES (1, 1, :digest, CURRENT_TIMESTAMP)"),
            {"digest": token_digest(token)},
        )
        project = {k: v for k, v in OLD_PROJECT.items()}
        connection.execute(
            text(
                "INSERT INTO projects VALUES (:id, :name, :country_iso3, :stage, :commodity,"
                " :status, :curated_name, :owner_party, :visibility)"
            ),
            project,
        )
        connection.execute(
            text(
                "INSERT INTO financing_decisions VALUES (:id, :project_id, :party_code,"
                " :instrument, :amount, :currency, :decided_on, :owner_party, :visibility)"
            ),
            {**OLD_FINANCING, "decided_on": dt.date(2026, 3, 31)},
        )
        connection.execute(
            text(
                "INSERT INTO commitments VALUES (:id, :party_code, :text, :deadline, :met_on,"
                " :source_url, :source_title, :owner_party, :visibility)"
            ),
            {**OLD_COMMITMENT, "deadline": dt.date(2026, 4, 28)},
        )
        for entity, entity_id, before, after in audit:
            connection.execute(
                text(
                    "INSERT INTO audit_log (at, user_name, actor_party, action, entity,"
                    " entity_id, owner_party, visibility, before, after) VALUES"
                    " (CURRENT_TIMESTAMP, 'ann', 'USA', :action, :entity, :entity_id, 'USA',"
                    " :visibility, :before, :after)"
                ),
                {
                    "action": "create" if before is None else "delete",
                    "entity": entity,
                    "entity_id": entity_id,
                    "visibility": "confidential"
                    if entity in ("users", "financing_decisions")
                    else "shared",
                    "before": before,
                    "after": after,
                },
            )
    return token


def test_upgrade_from_0002_keeps_every_record_with_opaque_ids(empty_url: str) -> None:
    engine = make_engine(empty_url)
    token = _database_at_0002(engine)
    upgrade(engine)
    assert current_revision(engine) == "0003"
    with engine.connect() as connection:
        project = connection.execute(text("SELECT id, name, entered_by FROM projects")).one()
        financing = connection.execute(text("SELECT project_id FROM financing_decisions")).one()
        commitment = connection.execute(text("SELECT text, missed_on FROM commitments")).one()
    project_id = uuid.UUID(str(project.id))
    assert project_id.version == 7
    assert (project.name, project.entered_by) == ("Mill", "USA")
    assert uuid.UUID(str(financing.project_id)) == project_id
    assert tuple(commitment) == ("fund projects", None)
    # the audit log: ids rewritten, chain computed, tables consistent with it
    report = verify_audit(engine)
    assert report.problems == []
    assert report.entries == 7
    with TestClient(create_app(engine=engine)) as client:
        headers = {"Authorization": f"Bearer {token}"}
        assert client.get("/api/me", headers=headers).json()["name"] == "ann"
        log = client.get(
            "/api/audit", params={"entity_id": str(project_id)}, headers=headers
        ).json()["items"]
        assert [entry["action"] for entry in log] == ["create"]
        assert json.loads(log[0]["after"])["id"] == str(project_id)
        deleted = client.get("/api/audit", params={"entity": "projects"}, headers=headers)
        gone = {e["entity_id"] for e in deleted.json()["items"]} - {str(project_id)}
        assert len(gone) == 1  # the deleted project
        assert uuid.UUID(gone.pop()).version == 7
        created = client.post(
            "/api/milestones",
            json={"project_id": str(project_id), "title": "FID", "planned_on": "2027-01-01"},
            headers=headers,
        )
        assert created.status_code == 201, created.text
    assert verify_audit(engine).problems == []
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
    assert "revision 0003" in outputs[0]
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


def test_seed_brings_an_earlier_seed_up_to_date(empty_url: str) -> None:
    """A commitment the seed of an earlier critmin wrote (its old text) is updated in place
    and audited, not duplicated; seeding twice adds nothing."""
    from critmin.service.access import Actor
    from critmin.service.audit import record_write
    from critmin.service.db import write_transaction
    from critmin.service.models import Commitment, Party, as_dict
    from critmin.service.seed import SEED_DIR, seed

    old_text = next(
        row["previous_text"]
        for row in csv.DictReader((SEED_DIR / "commitments.csv").open(encoding="utf-8"))
        if row["previous_text"] and row["party_code"] == "JPN"
    )
    engine = make_engine(empty_url)
    upgrade(engine)
    with write_transaction(engine) as session:
        actor = Actor(user_id=None, name="critmin-seed", party="JPN", role="framework")
        party = Party(code="JPN", name="Japan", role_in_framework="framework")
        session.add(party)
        session.flush()
        state = {**as_dict(party), "visibility": "shared", "owner_party": "JPN"}
        record_write(session, actor, "parties", "JPN", None, state)
        old = Commitment(
            party_code="JPN",
            text=old_text,
            owner_party="JPN",
            visibility="shared",
            entered_by="framework",
            source_url="",
            source_title="old",
        )
        session.add(old)
        session.flush()
        record_write(session, actor, "commitments", old.id, None, as_dict(old))
        old_id = old.id
    seed(engine)
    assert seed(engine)["commitments"] == 0
    with engine.connect() as connection:
        texts = connection.execute(
            text("SELECT id, text, source_url FROM commitments WHERE party_code = 'JPN'")
        ).all()
    assert old_text not in {row.text for row in texts}
    updated = next(row for row in texts if uuid.UUID(str(row.id)) == old_id)
    assert updated.source_url.startswith("https://")
    assert verify_audit(engine).problems == []
    engine.dispose()
