"""The registry API: validation, pagination, filters, roles, audit, CSV import, status."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import DBAPIError

from critmin.service.models import AuditEntry, StockpileHolding
from critmin.service.status import STATUSES, commitment_status

Headers = dict[str, dict[str, str]]
HOLDING = {"party_code": "USA", "material": "gallium", "tonnes": 40.0, "as_of": "2026-03-01"}


@pytest.mark.parametrize(
    ("deadline", "met_on", "missed_on", "expected"),
    [
        (dt.date(2026, 4, 28), None, None, ("open", 27)),  # today 1 Apr 2026
        (dt.date(2026, 3, 28), None, None, ("no_record", -4)),
        (dt.date(2026, 3, 28), None, dt.date(2026, 3, 30), ("missed", -4)),
        (dt.date(2026, 4, 28), dt.date(2026, 4, 20), None, ("met", 8)),
        (dt.date(2026, 4, 28), dt.date(2026, 5, 1), None, ("late", -3)),
        (dt.date(2026, 4, 1), None, None, ("open", 0)),
        (None, None, None, ("open", None)),
        (None, dt.date(2026, 1, 1), None, ("met", None)),
        (None, None, dt.date(2026, 1, 1), ("missed", None)),
    ],
)
def test_commitment_status(
    deadline: dt.date | None,
    met_on: dt.date | None,
    missed_on: dt.date | None,
    expected: tuple[str, int | None],
) -> None:
    assert commitment_status(deadline, met_on, missed_on, dt.date(2026, 4, 1)) == expected


@pytest.mark.parametrize("status", STATUSES)
def test_status_filter_agrees_with_the_computed_status(
    client: TestClient, tokens: Headers, status: str
) -> None:
    editor = tokens["usa_editor"]
    today = dt.datetime.now(dt.UTC).date()
    cases = [
        {"deadline": str(today + dt.timedelta(days=3))},
        {"deadline": str(today - dt.timedelta(days=3))},
        {"deadline": str(today)},
        {},
        {"deadline": str(today - dt.timedelta(days=3)), "met_on": str(today)},
        {"deadline": str(today), "met_on": str(today - dt.timedelta(days=1))},
        {"deadline": str(today - dt.timedelta(days=3)), "missed_on": str(today)},
    ]
    for index, case in enumerate(cases):
        payload = {"text": f"status case {index}", **case}
        assert client.post("/api/commitments", json=payload, headers=editor).status_code == 201
    listed = client.get(
        "/api/commitments", params={"q": "status case", "limit": 500}, headers=editor
    ).json()["items"]
    filtered = client.get(
        "/api/commitments",
        params={"q": "status case", "status": status, "limit": 500},
        headers=editor,
    ).json()["items"]
    assert {c["id"] for c in filtered} == {c["id"] for c in listed if c["status"] == status}


def test_seed_holds_the_framework_commitments_with_their_sources(
    client: TestClient, tokens: Headers
) -> None:
    items = client.get(
        "/api/commitments", params={"limit": 500}, headers=tokens["usa_viewer"]
    ).json()["items"]
    assert all(c["source_title"] and c["source_url"].startswith("https://") for c in items)
    by_party = {party: [c for c in items if c["party_code"] == party] for party in ("USA", "JPN")}
    for party, commitments in by_party.items():
        texts = " | ".join(c["text"] for c in commitments)
        for phrase in (
            "within six months",
            "Mining, Minerals and Metals Investment Ministerial within 180 days",
            "Rapid Response Group",
            "asset",
            "permitting",
            "geological mapping",
            "complementary stockpiling arrangement",
        ):
            assert phrase in texts, (party, phrase)
        deadlines = {c["deadline"] for c in commitments}
        assert {"2026-04-28", "2026-04-26"} <= deadlines, party
    pledge = [c for c in by_party["JPN"] if "550 billion" in c["text"]]
    assert [c["deadline"] for c in pledge] == ["2029-01-19"]
    events = client.get(
        "/api/commitment-events", params={"limit": 500}, headers=tokens["usa_viewer"]
    ).json()["items"]
    assert events
    assert all(e["source_url"].startswith("https://") and e["occurred_on"] for e in events)
    assert {e["commitment_id"] for e in events} <= {c["id"] for c in items}


def test_a_passed_deadline_without_outcome_is_no_record_not_overdue(
    client: TestClient, tokens: Headers
) -> None:
    items = client.get(
        "/api/commitments", params={"limit": 500}, headers=tokens["jpn_viewer"]
    ).json()["items"]
    today = dt.datetime.now(dt.UTC).date()
    for commitment in items:
        passed = commitment["deadline"] is not None and commitment["deadline"] < str(today)
        unresolved = commitment["met_on"] is None and commitment["missed_on"] is None
        if passed and unresolved:
            assert commitment["status"] == "no_record"
        assert commitment["status"] != "overdue"


def test_missing_token_is_401_and_viewer_cannot_write(client: TestClient, tokens: Headers) -> None:
    assert client.get("/api/projects").status_code == 401
    wrong = {"Authorization": "Bearer not-a-token"}
    assert client.get("/api/projects", headers=wrong).status_code == 401
    response = client.post("/api/stockpiles", json=HOLDING, headers=tokens["usa_viewer"])
    assert response.status_code == 403
    assert "viewer" in response.json()["detail"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"tonnes": -1}, "tonnes"),
        ({"party_code": "usa"}, "party_code"),
        ({"as_of": "2026-02-30"}, "as_of"),
        ({"visibility": "secret"}, "visibility"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_invalid_payload_is_422_naming_the_field(
    client: TestClient, tokens: Headers, engine: Engine, change: dict[str, object], field: str
) -> None:
    response = client.post(
        "/api/stockpiles", json={**HOLDING, **change}, headers=tokens["usa_editor"]
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][-1] == field
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(StockpileHolding)) == 0


def test_another_partys_code_is_refused_naming_the_field(
    client: TestClient, tokens: Headers, engine: Engine
) -> None:
    for code, status in (("ZZZ", 403), ("JPN", 403)):
        response = client.post(
            "/api/stockpiles", json={**HOLDING, "party_code": code}, headers=tokens["usa_editor"]
        )
        assert response.status_code == status
        assert response.json()["detail"].startswith("party_code: you enter records for USA")
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(StockpileHolding)) == 0


def test_recording_one_outcome_clears_the_other(client: TestClient, tokens: Headers) -> None:
    editor = tokens["usa_editor"]
    created = client.post(
        "/api/commitments", json={"text": "t", "deadline": "2026-01-01"}, headers=editor
    ).json()
    path = f"/api/commitments/{created['id']}"
    missed = client.patch(path, json={"missed_on": "2026-02-01"}, headers=editor).json()
    assert (missed["status"], missed["met_on"]) == ("missed", None)
    met = client.patch(path, json={"met_on": "2026-03-01"}, headers=editor).json()
    assert (met["status"], met["missed_on"]) == ("late", None)
    both = client.patch(
        path, json={"met_on": "2026-03-01", "missed_on": "2026-03-02"}, headers=editor
    )
    assert both.status_code == 422
    payload = {"text": "t", "met_on": "2026-01-01", "missed_on": "2026-01-02"}
    assert client.post("/api/commitments", json=payload, headers=editor).status_code == 422


def test_patch_validates_the_merged_record(client: TestClient, tokens: Headers) -> None:
    editor = tokens["usa_editor"]
    record = client.post("/api/stockpiles", json=HOLDING, headers=editor).json()
    bad = client.patch(f"/api/stockpiles/{record['id']}", json={"tonnes": None}, headers=editor)
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["body", "tonnes"]
    good = client.patch(f"/api/stockpiles/{record['id']}", json={"tonnes": 55}, headers=editor)
    assert good.status_code == 200
    assert good.json()["tonnes"] == 55


def test_pagination_and_filters(client: TestClient, tokens: Headers) -> None:
    editor = tokens["usa_editor"]
    for tonnes in range(7):
        material = "gallium" if tonnes % 2 else "germanium"
        payload = {**HOLDING, "material": material, "tonnes": tonnes}
        assert client.post("/api/stockpiles", json=payload, headers=editor).status_code == 201
    page = client.get("/api/stockpiles", params={"limit": 3, "offset": 3}, headers=editor).json()
    assert (page["total"], page["limit"], page["offset"]) == (7, 3, 3)
    assert [item["tonnes"] for item in page["items"]] == [3, 4, 5]
    gallium = client.get("/api/stockpiles", params={"material": "gallium"}, headers=editor).json()
    assert sorted(item["tonnes"] for item in gallium["items"]) == [1, 3, 5]
    search = client.get("/api/stockpiles", params={"q": "GERMAN"}, headers=editor).json()
    assert search["total"] == 4
    assert client.get("/api/stockpiles", params={"limit": 0}, headers=editor).status_code == 422


def test_projects_filter_by_country_and_link_to_the_curated_list(
    client: TestClient, tokens: Headers
) -> None:
    response = client.get(
        "/api/projects", params={"country_iso3": "AUS"}, headers=tokens["usa_viewer"]
    )
    items = response.json()["items"]
    assert items
    assert all(item["country_iso3"] == "AUS" and item["curated_name"] for item in items)


def test_every_write_is_audited_with_before_and_after(
    client: TestClient, tokens: Headers, engine: Engine
) -> None:
    editor = tokens["usa_editor"]
    record = client.post("/api/stockpiles", json=HOLDING, headers=editor).json()
    client.patch(f"/api/stockpiles/{record['id']}", json={"tonnes": 41}, headers=editor)
    assert client.delete(f"/api/stockpiles/{record['id']}", headers=editor).status_code == 204
    log = client.get(
        "/api/audit",
        params={"entity": "stockpile_holdings", "entity_id": str(record["id"])},
        headers=tokens["usa_viewer"],
    ).json()["items"]
    assert [entry["action"] for entry in log] == ["delete", "update", "create"]
    delete, update, create = log
    assert create["before"] is None
    assert json.loads(create["after"])["tonnes"] == 40
    assert json.loads(update["before"])["tonnes"] == 40
    assert json.loads(update["after"])["tonnes"] == 41
    assert delete["after"] is None
    assert delete["user_name"] == "usa_editor"


def test_audit_log_is_append_only_in_the_database(engine: Engine) -> None:
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(AuditEntry))
    for statement in ("UPDATE audit_log SET user_name = 'x'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
            connection.execute(text(statement))


def test_csv_import_is_all_or_nothing(client: TestClient, tokens: Headers, engine: Engine) -> None:
    editor = {**tokens["usa_editor"], "Content-Type": "text/csv"}
    good = "party_code,material,tonnes,as_of\nUSA,gallium,1,2026-01-01\nUSA,cobalt,2,2026-01-02\n"
    bad = good + "USA,tungsten,-5,2026-01-03\n"
    response = client.post("/api/stockpiles/import.csv", content=bad, headers=editor)
    assert response.status_code == 422
    detail = response.json()["detail"][0]
    assert detail["loc"] == ["body", "row 3"]
    assert "tonnes" in detail["msg"]
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(StockpileHolding)) == 0
    response = client.post("/api/stockpiles/import.csv", content=good, headers=editor)
    assert response.status_code == 201
    assert [row["material"] for row in response.json()] == ["gallium", "cobalt"]


def test_csv_export_import_round_trip(client: TestClient, tokens: Headers) -> None:
    editor = tokens["jpn_editor"]
    for index, visibility in enumerate(("shared", "confidential", "shared")):
        payload = {
            "party_code": "JPN",
            "text": f'pledge, "{index}"\nline two',
            "deadline": "2027-01-0" + str(index + 1),
            "visibility": visibility,
        }
        assert client.post("/api/commitments", json=payload, headers=editor).status_code == 201
    exported = client.get(
        "/api/commitments/export.csv", params={"owner_party": "JPN"}, headers=editor
    ).text
    before = client.get("/api/commitments", params={"owner_party": "JPN"}, headers=editor).json()
    upload = {**editor, "Content-Type": "text/csv"}
    created = client.post("/api/commitments/import.csv", content=exported, headers=upload)
    assert created.status_code == 201, created.text
    fields = (
        "party_code",
        "text",
        "deadline",
        "met_on",
        "source_url",
        "source_title",
        "visibility",
    )
    originals = [{f: item[f] for f in fields} for item in before["items"]]
    copies = [{f: item[f] for f in fields} for item in created.json()]
    assert copies == originals


def test_curated_name_must_name_a_curated_project(client: TestClient, tokens: Headers) -> None:
    editor = tokens["usa_editor"]
    project = {"name": "Pass", "country_iso3": "USA", "stage": "mining", "commodity": "rare_earths"}
    linked = client.post(
        "/api/projects", json={**project, "curated_name": "Mountain Pass"}, headers=editor
    )
    assert linked.status_code == 201
    unknown = client.post(
        "/api/projects", json={**project, "curated_name": "Atlantis Pass"}, headers=editor
    )
    assert unknown.status_code == 404
    assert unknown.json()["detail"].startswith("curated_name: no project 'Atlantis Pass'")


def test_deleting_a_referenced_project_is_409_and_changes_nothing(
    client: TestClient, tokens: Headers
) -> None:
    editor = tokens["usa_editor"]
    project = {"name": "Mill", "country_iso3": "USA", "stage": "refining", "commodity": "x"}
    project_id = client.post("/api/projects", json=project, headers=editor).json()["id"]
    milestone = {"project_id": project_id, "title": "commissioning", "planned_on": "2027-03-01"}
    assert client.post("/api/milestones", json=milestone, headers=editor).status_code == 201
    response = client.delete(f"/api/projects/{project_id}", headers=editor)
    assert response.status_code == 409
    assert "milestones" not in response.json()["detail"]
    assert client.get(f"/api/projects/{project_id}", headers=editor).status_code == 200
    log = client.get(
        "/api/audit", params={"entity": "projects", "entity_id": str(project_id)}, headers=editor
    ).json()["items"]
    assert [entry["action"] for entry in log] == ["create"]


def test_odd_query_values_are_200_or_422(client: TestClient, tokens: Headers) -> None:
    for query in ("q=%ED%A0%80", "material=%ED%A0%80", "q=%00", "owner_party=%FF"):
        response = client.get(f"/api/stockpiles?{query}", headers=tokens["usa_viewer"])
        assert response.status_code in (200, 422), (query, response.text)


@pytest.mark.parametrize(
    "upload",
    [
        'material,tonnes,as_of\n"unclosed,1,2026-01-01\n',
        "material,tonnes,as_of\nDy\x00,1,2026-01-01\n",
    ],
)
def test_malformed_csv_is_a_short_422(client: TestClient, tokens: Headers, upload: str) -> None:
    response = client.post(
        "/api/stockpiles/import.csv",
        content=upload.encode(),
        headers={**tokens["usa_editor"], "Content-Type": "text/csv"},
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][1].startswith("row ")
