"""The app in a real browser (Debian's headless Chromium) on a simulated, reconciled store: every
page renders without an exception box, and an analyst's path from a finding to a confirmed case
ends in ClickHouse. Screenshots of every page go to tests/artifacts/screenshots/."""
from __future__ import annotations

import re

import pytest

from assurance.cases import case_events, load_case
from dashboards.navigation import PAGES
from tests.fixtures.browser import SCREENSHOTS, rendered


def opened(tab, seeded_app, url_path: str):
    """The page at its address (the first page is the app's root)."""
    tab.goto(f"{seeded_app.url}/{'' if url_path == PAGES[0].url_path else url_path}")
    rendered(tab)
    assert tab.get_by_text("Page not found").count() == 0
    return tab


def shot(tab, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


@pytest.mark.parametrize("entry", PAGES, ids=[entry.url_path for entry in PAGES])
def test_every_page_renders_without_an_exception(tab, seeded_app, entry):
    opened(tab, seeded_app, entry.url_path)
    shot(tab, entry.url_path)
    assert tab.locator("[data-testid='stException']").count() == 0
    assert tab.locator("h1").first.inner_text().strip()


def click_table_row(tab, table: int, row: int) -> None:
    """Tick a row's selection box in the page's `table`-th dataframe (a canvas: clicked by position)."""
    grid = tab.get_by_test_id("stDataFrame").nth(table)
    grid.wait_for()
    box = grid.bounding_box()
    header, height = 35, 35
    tab.mouse.click(box["x"] + 16, box["y"] + header + height * row + height / 2)
    rendered(tab)


def choose(tab, label: str, option: str) -> None:
    """Pick an option of the selectbox labelled `label`."""
    tab.get_by_test_id("stSelectbox").filter(has_text=label).first.click()
    tab.get_by_role("option", name=re.compile(re.escape(option))).first.click()
    rendered(tab)


def test_an_analyst_goes_from_a_finding_to_a_confirmed_case_stored_in_clickhouse(tab, seeded_app):
    opened(tab, seeded_app, "findings")
    tab.get_by_test_id("stMultiSelect").filter(has_text="Kind").first.click()
    tab.get_by_role("option", name="misrated", exact=True).click()
    tab.keyboard.press("Escape")
    rendered(tab)
    click_table_row(tab, 0, 0)  # the findings list is the first table
    for heading in ("Network record", "Shadow rating"):
        tab.get_by_text(heading, exact=True).wait_for()
    tab.get_by_text(re.compile(r"^Bills \(\d+\)$")).wait_for()
    shot(tab, "findings-evidence")
    top = seeded_app.client.query(
        "SELECT finding_id, record_id FROM revguard.discrepancies FINAL WHERE kind = 'misrated' "
        "ORDER BY abs(amount) DESC, event_time, finding_id LIMIT 1"
    ).result_rows[0]
    assert tab.get_by_text("Evidence: ").first.inner_text().endswith(top[0])

    tab.get_by_role("button", name="Open case").click()
    rendered(tab)
    opened_text = tab.get_by_text(re.compile(r"^Case CASE-\S+ opened")).first.inner_text()
    case_id = re.match(r"Case (CASE-\S+) opened", opened_text).group(1)
    assert load_case(seeded_app.client, case_id).finding_ids == (top[0],)

    opened(tab, seeded_app, "cases")
    choose(tab, "Case", case_id)
    for to_state in ("investigating", "confirmed"):
        choose(tab, "Move to", to_state)
        tab.get_by_role("button", name="Apply").click()
        rendered(tab)
        tab.get_by_text(f"Case {case_id} is now {to_state}.").wait_for()
    shot(tab, "cases-confirmed")

    assert load_case(seeded_app.client, case_id).state == "confirmed"
    assert [event.to_state for event in case_events(seeded_app.client, case_id)] == ["open", "investigating", "confirmed"]
    assert tab.locator("[data-testid='stException']").count() == 0
