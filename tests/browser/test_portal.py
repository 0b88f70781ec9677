"""The portal in a real Chromium: sign in, search with a purpose and case reference, results and timeline (masked
for a role without the police category), a refused search with its reasons, the alert lifecycle, the watch list,
and the DPO's audit screen showing the searches just made. Screenshots go to docs/screenshots/."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import DemoSite, shot

pytestmark = pytest.mark.browser

Page = Any


def sign_in(page: Page, site: DemoSite, user_id: str) -> None:
    page.goto(site.portal + "/signin")
    page.check(f"input[name=demo_user][value='{user_id}']")
    page.click("#demo-signin")
    page.wait_for_selector("text=Signed in as")


def search(page: Page, site: DemoSite, *, purpose: str, case: str, screenshot: str | None = None) -> None:
    person = site.known
    page.goto(site.portal + "/search")
    page.select_option("#purpose", purpose)
    page.fill("#case_reference", case)
    page.fill("#first_name", person["first_name"])
    page.fill("#last_name", person["last_name"])
    page.fill("#date_of_birth", person["date_of_birth"])
    if screenshot:
        shot(page, screenshot)
    page.click("#search-button")


def police_candidate(page: Page) -> Any:
    """The candidate the police reported activity about (the search used the police record's details)."""
    police = page.locator("tr", has=page.locator("th", has_text="West Midlands Police"))
    candidate = page.locator("section.person").filter(has=police.filter(has_not_text="No activity reported")).first
    assert candidate.count() == 1
    return candidate


def test_sign_in_search_results_and_timeline(page: Page, site: DemoSite) -> None:
    sign_in(page, site, "mash.officer")
    search(page, site, purpose="mash_screening", case="MASH-2026-0001", screenshot="search")
    page.wait_for_selector("h1:has-text('Search results')")
    text = page.inner_text("main")
    assert "West Midlands Police" in text
    assert "No activity reported" in text or "every partner" in text
    assert "match" in text  # the confidence band, never a score
    shot(page, "results")
    police_candidate(page).locator("text=View timeline").click()
    page.wait_for_selector("#timeline")
    timeline = page.inner_text("#timeline")
    assert "West Midlands Police" in timeline
    assert "POLICE_" in timeline
    assert "Hidden by policy" not in timeline
    shot(page, "timeline")


def test_role_without_police_sees_activity_but_not_the_flag(page: Page, site: DemoSite) -> None:
    sign_in(page, site, "practitioner")
    search(page, site, purpose="early_help_triage", case="EH-2026-0002")
    page.wait_for_selector("h1:has-text('Search results')")
    candidate = police_candidate(page)
    row = candidate.locator("tr", has=page.locator("th", has_text="West Midlands Police")).inner_text()
    assert "Hidden by policy" in row
    assert "POLICE_" not in row
    candidate.locator("text=View timeline").click()
    timeline = page.inner_text("#timeline")
    assert "West Midlands Police" in timeline
    assert "POLICE_" not in timeline
    assert "Hidden by policy" in timeline
    shot(page, "timeline-masked")


def test_refused_search_shows_the_policy_reasons(page: Page, site: DemoSite) -> None:
    sign_in(page, site, "practitioner")
    search(page, site, purpose="section_47_enquiry", case="S47-2026-0003")
    page.wait_for_selector("h1:has-text('Access refused')")
    text = page.inner_text("main")
    assert "section_47_enquiry" in text or "purpose" in text.lower()
    assert "What to do" in text
    assert "Traceback" not in page.content()


def test_missing_case_reference_is_a_clear_error(page: Page, site: DemoSite) -> None:
    sign_in(page, site, "mash.officer")
    search(page, site, purpose="mash_screening", case="")
    page.wait_for_selector(".error-summary")
    assert "Enter the case reference" in page.inner_text(".error-summary")


def test_alert_acknowledge_and_close_with_outcome(page: Page, site: DemoSite) -> None:
    sign_in(page, site, "safeguarding.lead")
    page.goto(site.portal + "/alerts")
    page.wait_for_selector("#alerts")
    shot(page, "alerts")
    page.locator("#alerts a").first.click()
    page.wait_for_selector("#evidence")
    page.click("#acknowledge")
    page.wait_for_selector("text=Alert acknowledged.")
    assert page.inner_text("#alert-status").lower() == "acknowledged"
    shot(page, "alert")
    page.select_option("#outcome", "early_help_offered")
    page.fill("#note", "Family seen by the early help team; support plan agreed.")
    page.click("#close")
    page.wait_for_selector("text=Alert closed.")
    assert page.inner_text("#alert-status").lower() == "closed"


def test_watch_list_add(page: Page, site: DemoSite) -> None:
    sign_in(page, site, "safeguarding.lead")
    page.goto(site.portal + "/alerts")
    person = page.locator("#alerts tbody tr td").nth(1).inner_text().split()[-1]
    page.goto(site.portal + "/watchlist")
    page.fill("#person_id", person)
    page.fill("#reason", "Repeated contacts with three services in a month; review with the family's lead worker.")
    page.click("#watch-add button[type=submit]")
    page.wait_for_selector("#watchlist")
    assert f"AIM person {person}" in page.inner_text("#watchlist")
    shot(page, "watchlist")


def test_dpo_audit_screen_shows_the_searches(page: Page, site: DemoSite) -> None:
    sign_in(page, site, "dpo")
    page.goto(site.portal + "/audit?action=search")
    page.wait_for_selector("#audit")
    assert "Chain verified" in page.inner_text("#verification")
    audit = page.inner_text("#audit")
    assert "MASH-2026-0001" in audit
    assert "EH-2026-0002" in audit
    assert "denied" in audit.lower()  # the refused search is there too
    shot(page, "audit")
    page.goto(site.portal + "/break-glass")
    page.wait_for_selector("h1:has-text('Break-glass reviews')")


def test_data_steward_review_queue_accept_and_undo(page: Page, site: DemoSite) -> None:
    sign_in(page, site, "data.steward")
    assert page.locator("nav a", has_text="Review queue").count() == 1
    assert page.locator("nav a", has_text="Transparency report").count() == 0
    page.click("nav >> text=Review queue")
    page.wait_for_selector("section.pair")
    first = page.locator("section.pair").first
    text = first.inner_text()
    assert "confidence" in text
    assert "First name" in text
    shot(page, "review", full_page=False)
    # A pair whose records are in two persons: accepting merges them, and the merge can be undone.
    pair = page.locator("section.pair", has=page.locator("button[value=reject]")).first
    pair_id = pair.get_attribute("id").removeprefix("pair-")  # type: ignore[union-attr]
    page.focus(f"#note-{pair_id}")
    page.keyboard.type("Same NHS number and date of birth; the surname differs by one letter.")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == f"accept-{pair_id}"
    page.keyboard.press("Enter")
    page.wait_for_selector(f"text=Pair {pair_id} accepted")
    undo = page.locator("#changes button", has_text="Undo").first
    undo.click()
    page.wait_for_selector("text=Merge undone")
    assert page.locator(f"#pair-{pair_id}").count() == 0, "a decided pair leaves the queue"


def test_dpo_transparency_report(page: Page, site: DemoSite) -> None:
    sign_in(page, site, "mash.officer")
    for number in range(4, 9):  # five searches: a count the report shows as it is, drawn to scale
        search(page, site, purpose="mash_screening", case=f"MASH-2026-{number:04d}")
        page.wait_for_selector("h1:has-text('Search results')")
    sign_in(page, site, "dpo")
    page.click("nav >> text=Transparency report")
    page.wait_for_selector("#report-period")
    text = page.inner_text("main")
    for title in ("Searches by purpose and role", "Requests refused, by action", "Alerts by rule and outcome"):
        assert title in text
    chart = page.locator("svg#chart-searches")
    assert chart.count() == 1
    assert chart.get_attribute("role") == "img"
    assert "Searches by purpose and role" in chart.locator("title").text_content()  # type: ignore[operator]
    assert chart.locator("rect.chart-bar").count() >= 1
    shot(page, "transparency")
    page.fill("#from", "2026-10-05")
    page.fill("#to", "2026-10-01")
    page.click("#show-period")
    page.wait_for_selector(".error-summary")
    assert "The last day must be the same as or after the first day" in page.inner_text(".error-summary")
