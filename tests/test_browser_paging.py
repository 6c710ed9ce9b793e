"""A person in headless Chromium pages through and searches long lists: htmx swaps only the list, keeps the
search box and puts the filters in the address bar (so reload and back work)."""
from __future__ import annotations

import re

from models import Repository, RepositoryStatus, database, open_database
from tests.support.browser import log_in
from tests.support.fleet import seed_fleet


def test_paging_and_filtering_through_the_pages(controller, page, tmp_path):
    from playwright.sync_api import expect
    base, password = controller
    open_database(tmp_path / "data" / "controller.sqlite3")
    with database.connection_context():
        seed_fleet(120, modules_per_repo=1, devices=60, modules_per_device=2)
        Repository.update(status=RepositoryStatus.FAILED).where(Repository.name.in_(["fleet3", "fleet7"])).execute()
    log_in(page, base, password)
    page.goto(base + "/repositories")
    rows = page.locator("#repository-rows > tr")
    expect(rows).to_have_count(25)
    expect(page.locator(".pager .page-position")).to_contain_text("1–25 of 120")
    page.evaluate("window.notReloaded = true")  # gone if a link loads a whole new page

    page.locator(".pager").get_by_role("link", name="Next →").click()
    expect(page.locator(".pager .page-position")).to_contain_text("26–50 of 120")
    expect(page).to_have_url(re.compile(r"page=2"))
    assert page.evaluate("window.notReloaded === true")

    page.get_by_label("Search", exact=True).fill("fleet11")  # as you type, after a short pause
    expect(rows).to_have_count(11)
    expect(page).to_have_url(re.compile(r"q=fleet11"))
    expect(page.get_by_label("Search", exact=True)).to_be_focused()  # the box was not swapped away
    page.get_by_label("Search", exact=True).fill("")
    page.get_by_label("Status", exact=True).select_option("failed")
    expect(rows).to_have_count(2)
    expect(page.locator("#repo-fleet3")).to_be_visible()
    assert page.evaluate("window.notReloaded === true")
    page.reload()  # the address bar holds the filter
    expect(rows).to_have_count(2)

    page.goto(base + "/devices")
    page.get_by_label("Tag", exact=True).select_option("tag2")
    expect(page.locator("#config-list tbody tr")).to_have_count(25)
    expect(page.locator("#config-list .page-position")).to_contain_text("of 36")
    expect(page).to_have_url(re.compile(r"tag=tag2"))
