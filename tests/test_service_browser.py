"""The dashboard end to end in headless Chromium (Debian's, driven by Playwright).

Sign in (a session cookie, nothing in the page's storage), read the commitments and their
follow-up, record one, filter projects, add a project and see it, run a simulation, sign
out; no Content-Security-Policy violation on the way. The screenshots land in
build/test-artifacts/. Without chromium the test skips, except in CI.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from critmin.service.db import make_engine
from critmin.service.migrate import upgrade
from critmin.service.operator import create_user
from critmin.service.seed import seed
from tests.browser_support import ARTIFACTS, CHROMIUM_ARGS, TIMEOUT_MS, chromium_path
from tests.service_support import free_port, start_server


@pytest.mark.browser
def test_dashboard_sign_in_filter_create(tmp_path: Path) -> None:
    chromium = chromium_path()
    from playwright.sync_api import expect, sync_playwright

    url = f"sqlite:///{tmp_path / 'registry.sqlite'}"
    engine = make_engine(url)
    upgrade(engine)
    seed(engine)
    token = create_user(engine, "hana", "JPN", "editor")
    engine.dispose()
    port = free_port()
    server = start_server(url, port, tmp_path / "server.log")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(TIMEOUT_MS)
            violations: list[str] = []
            page.on(
                "console",
                lambda message: violations.append(message.text)
                if "Content Security Policy" in message.text
                else None,
            )
            page.goto(f"http://127.0.0.1:{port}/")
            page.fill("#token", token)
            page.click("#login-form button")
            expect(page.locator("#who")).to_have_text("hana (JPN, editor)")
            # no token in the page's storage; the session is an HttpOnly, SameSite cookie
            assert page.evaluate("() => localStorage.length + sessionStorage.length") == 0
            assert page.input_value("#token") == ""
            (cookie,) = page.context.cookies()
            assert (cookie["httpOnly"], cookie["sameSite"]) == (True, "Strict")
            # a reload keeps the session (the cookie) and the CSRF token comes back with it
            page.reload()
            expect(page.locator("#who")).to_have_text("hana (JPN, editor)")
            # the commitments: every one of the framework, one marker per dated one; a
            # passed deadline without a recorded outcome is "no record", never "overdue"
            expect(page.locator("#commitments-table tbody tr")).to_have_count(25)
            assert page.locator("#timeline circle").count() == 5
            expect(page.locator("#commitments-table")).to_contain_text("no record")
            expect(page.locator("#commitments-table")).not_to_contain_text("overdue")
            expect(page.locator(".prompt").first).to_contain_text("no outcome is recorded")
            # record a follow-up on one of JPN's commitments (a write: needs the CSRF token)
            page.select_option("#outcome-commitment", index=0)
            page.fill("#outcome-form input[name=day]", "2026-11-30")
            page.fill("#outcome-form input[name=text]", "Browser test follow-up")
            page.fill("#outcome-form input[name=source_url]", "https://example.org/report")
            page.click("#outcome-form button")
            expect(page.locator("#outcome-result")).to_have_text("recorded")
            expect(page.locator("#commitments-table")).to_contain_text("Browser test follow-up")
            # projects: filter by country
            page.click("nav button[data-tab=projects]")
            page.fill("#project-filters input[name=country_iso3]", "AUS")
            page.click("#project-filters button")
            expect(page.locator("#projects-count")).to_have_text("2 projects")
            countries = page.locator("#projects-table tbody td:nth-child(2)").all_inner_texts()
            assert countries == ["AUS", "AUS"]
            # create a confidential project and see it in the filtered table
            form = "#project-create"
            page.fill(f"{form} input[name=name]", "Browser Test Mine")
            page.fill(f"{form} input[name=country_iso3]", "aus")
            page.fill(f"{form} input[name=stage]", "mining")
            page.fill(f"{form} input[name=commodity]", "rare_earths")
            page.select_option(f"{form} select[name=visibility]", "confidential")
            page.click(f"{form} button")
            expect(page.locator("#project-create-result")).to_contain_text("Browser Test Mine")
            expect(page.locator("#projects-count")).to_have_text("3 projects")
            expect(page.locator("#projects-table")).to_contain_text("Browser Test Mine")
            page.screenshot(path=str(ARTIFACTS / "dashboard-projects.png"), full_page=True)
            page.click("nav button[data-tab=commitments]")
            page.screenshot(path=str(ARTIFACTS / "dashboard-commitments.png"), full_page=True)
            page.click("nav button[data-tab=simulation]")
            expect(page.locator("#simulation-status")).to_contain_text("installed")
            page.select_option("#simulation-scenario", "china_ree_ban_usa_jpn")
            page.fill("#simulation-form input[name=samples]", "20")
            page.click("#simulation-form button")
            expect(page.locator("#simulation-result")).to_contain_text(
                "china_ree_ban_usa_jpn", timeout=60_000
            )
            expect(page.locator("#simulation-price .main-svg").first).to_be_visible()
            page.screenshot(path=str(ARTIFACTS / "dashboard-simulation.png"), full_page=True)
            assert violations == []
            page.click("#logout")
            expect(page.locator("#who")).to_have_text("not signed in")
            assert page.context.cookies() == []
            browser.close()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=10)
    assert (ARTIFACTS / "dashboard-projects.png").stat().st_size > 10_000
    assert (ARTIFACTS / "dashboard-simulation.png").stat().st_size > 10_000
