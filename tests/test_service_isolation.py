"""Party isolation: a Japan-confidential record is invisible to US users on every route."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from fastapi.testclient import TestClient

Headers = dict[str, dict[str, str]]
MARK = "Zephyrite"  # a word no seed record contains, to search for


def _payloads(project_id: int) -> dict[str, dict[str, Any]]:
    """A confidential payload per entity (financing and milestones on a confidential project)."""
    return {
        "projects": {
            "name": f"{MARK} mine",
            "country_iso3": "JPN",
            "stage": "mining",
            "commodity": "rare_earths",
            "visibility": "confidential",
        },
        "financing": {
            "project_id": project_id,
            "party_code": "JPN",
            "instrument": "equity",
            "amount": 7.5e7,
            "currency": "JPY",
            "decided_on": "2026-02-01",
            "visibility": "confidential",
        },
        "milestones": {
            "project_id": project_id,
            "title": f"{MARK} permit",
            "planned_on": "2026-06-30",
            "visibility": "confidential",
        },
        "commitments": {
            "party_code": "JPN",
            "text": f"{MARK} offtake",
            "deadline": "2027-01-01",
            "visibility": "confidential",
        },
        "stockpiles": {
            "party_code": "JPN",
            "material": f"{MARK} dysprosium",
            "tonnes": 12.5,
            "as_of": "2026-01-01",
            "visibility": "confidential",
        },
    }


@pytest.fixture
def secret(client: TestClient, tokens: Headers) -> dict[str, int]:
    """One JPN-confidential record of every entity: entity -> id."""
    project = client.post(
        "/api/projects", json=_payloads(0)["projects"], headers=tokens["jpn_editor"]
    )
    assert project.status_code == 201, project.text
    ids = {"projects": project.json()["id"]}
    for entity, payload in _payloads(ids["projects"]).items():
        if entity == "projects":
            continue
        response = client.post(f"/api/{entity}", json=payload, headers=tokens["jpn_editor"])
        assert response.status_code == 201, response.text
        ids[entity] = response.json()["id"]
    return ids


ENTITIES = ("projects", "financing", "milestones", "commitments", "stockpiles")


@pytest.mark.parametrize("entity", ENTITIES)
def test_confidential_record_is_invisible_to_the_other_party(
    client: TestClient, tokens: Headers, secret: dict[str, int], entity: str
) -> None:
    record_id = secret[entity]
    us = tokens["usa_viewer"]
    jp = tokens["jpn_viewer"]
    # by id
    assert client.get(f"/api/{entity}/{record_id}", headers=us).status_code == 404
    assert client.get(f"/api/{entity}/{record_id}", headers=jp).status_code == 200
    # lists, counts and search
    us_list = client.get(f"/api/{entity}", params={"limit": 500}, headers=us).json()
    jp_list = client.get(f"/api/{entity}", params={"limit": 500}, headers=jp).json()
    assert record_id not in {item["id"] for item in us_list["items"]}
    assert record_id in {item["id"] for item in jp_list["items"]}
    assert jp_list["total"] == us_list["total"] + 1
    assert client.get(f"/api/{entity}", params={"q": MARK}, headers=us).json()["total"] == 0
    filtered = client.get(f"/api/{entity}", params={"owner_party": "JPN"}, headers=us).json()
    assert record_id not in {item["id"] for item in filtered["items"]}
    # exports
    us_csv = list(
        csv.DictReader(io.StringIO(client.get(f"/api/{entity}/export.csv", headers=us).text))
    )
    jp_csv = list(
        csv.DictReader(io.StringIO(client.get(f"/api/{entity}/export.csv", headers=jp).text))
    )
    assert str(record_id) not in {row["id"] for row in us_csv}
    assert str(record_id) in {row["id"] for row in jp_csv}
    assert MARK not in client.get(f"/api/{entity}/export.csv", headers=us).text
    # the audit log
    us_audit = client.get(
        "/api/audit", params={"entity": _table(entity), "limit": 500}, headers=us
    ).json()
    assert not any(
        e["owner_party"] == "JPN" and e["visibility"] == "confidential" for e in us_audit["items"]
    )
    assert all(MARK not in f"{e['before']}{e['after']}" for e in us_audit["items"])
    jp_audit = client.get(
        "/api/audit", params={"entity": _table(entity), "limit": 500}, headers=jp
    ).json()
    assert any(
        MARK in (e["after"] or "") or e["entity_id"] == str(record_id) for e in jp_audit["items"]
    )
    # writes by the other party's editor and admin answer 404 too
    for name in ("usa_editor", "usa_admin"):
        headers = tokens[name]
        assert (
            client.patch(f"/api/{entity}/{record_id}", json={}, headers=headers).status_code == 404
        )
        assert client.delete(f"/api/{entity}/{record_id}", headers=headers).status_code == 404


def _table(entity: str) -> str:
    return {"financing": "financing_decisions", "stockpiles": "stockpile_holdings"}.get(
        entity, entity
    )


def test_other_party_cannot_reference_a_confidential_project(
    client: TestClient, tokens: Headers, secret: dict[str, int]
) -> None:
    payload = {
        "project_id": secret["projects"],
        "title": "probe",
        "planned_on": "2026-01-01",
        "visibility": "confidential",
    }
    response = client.post("/api/milestones", json=payload, headers=tokens["usa_editor"])
    assert response.status_code == 404
    assert response.json()["detail"] == f"project_id: no project {secret['projects']}"


def test_shared_record_cannot_hang_on_a_confidential_project(
    client: TestClient, tokens: Headers, secret: dict[str, int]
) -> None:
    payload = {
        "project_id": secret["projects"],
        "title": "leak",
        "planned_on": "2026-01-01",
        "visibility": "shared",
    }
    response = client.post("/api/milestones", json=payload, headers=tokens["jpn_editor"])
    assert response.status_code == 409
    assert response.json()["detail"].startswith("visibility: project")


def test_financing_totals_leave_out_the_other_partys_confidential_amounts(
    client: TestClient, tokens: Headers, secret: dict[str, int]
) -> None:
    us = client.get("/api/financing-totals", headers=tokens["usa_viewer"]).json()
    jp = client.get("/api/financing-totals", headers=tokens["jpn_viewer"]).json()
    assert all(row["currency"] != "JPY" for row in us)
    assert {
        "party_code": "JPN",
        "instrument": "equity",
        "currency": "JPY",
        "amount": 7.5e7,
        "decisions": 1,
    } in jp


def test_commitment_status_filter_does_not_leak(
    client: TestClient, tokens: Headers, secret: dict[str, int]
) -> None:
    us = client.get(
        "/api/commitments",
        params={"status": "open", "limit": 500},
        headers=tokens["usa_viewer"],
    ).json()
    jp = client.get(
        "/api/commitments",
        params={"status": "open", "limit": 500},
        headers=tokens["jpn_viewer"],
    ).json()
    assert jp["total"] == us["total"] + 1


def test_users_of_another_party_are_not_listed_nor_given_tokens(
    client: TestClient, tokens: Headers
) -> None:
    us_users = client.get("/api/users", headers=tokens["usa_admin"]).json()
    assert {u["party_code"] for u in us_users} == {"USA"}
    jp_ids = [u["id"] for u in client.get("/api/users", headers=tokens["jpn_admin"]).json()]
    response = client.post(f"/api/users/{jp_ids[0]}/tokens", headers=tokens["usa_admin"])
    assert response.status_code == 404


def test_shared_record_of_another_party_is_read_only(client: TestClient, tokens: Headers) -> None:
    created = client.post(
        "/api/stockpiles",
        json={"party_code": "JPN", "material": "Dy", "tonnes": 3, "as_of": "2026-01-01"},
        headers=tokens["jpn_editor"],
    )
    record_id = created.json()["id"]
    assert (
        client.get(f"/api/stockpiles/{record_id}", headers=tokens["usa_viewer"]).status_code == 200
    )
    response = client.patch(
        f"/api/stockpiles/{record_id}", json={"tonnes": 0}, headers=tokens["usa_editor"]
    )
    assert response.status_code == 403


def test_project_with_shared_records_cannot_turn_confidential(
    client: TestClient, tokens: Headers
) -> None:
    editor = tokens["usa_editor"]
    project = {"name": "Open pit", "country_iso3": "USA", "stage": "mining", "commodity": "x"}
    project_id = client.post("/api/projects", json=project, headers=editor).json()["id"]
    milestone = {"project_id": project_id, "title": "permit", "planned_on": "2026-09-01"}
    assert client.post("/api/milestones", json=milestone, headers=editor).status_code == 201
    response = client.patch(
        f"/api/projects/{project_id}", json={"visibility": "confidential"}, headers=editor
    )
    assert response.status_code == 409
    assert response.json()["detail"].startswith("visibility: projects")
