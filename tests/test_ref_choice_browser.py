"""In Chromium: the repository forms offer the remote's branches and tags with their commits, and Save asks before
keeping a ref the remote does not have; with htmx (1280 px light, 390 px dark) and without JavaScript."""
import re

import pytest

from tests.support.browser import log_in


def _remote(git_server, prefix):
    name = git_server.new_name(prefix)
    repo = git_server.make_repo(name, {"README.md": "no marker\n"})
    repo.branch("dev")
    repo.tag("v1", message="release one")
    return git_server.url(name), repo.rev("refs/heads/main")


def _fits(page, width):
    assert page.evaluate("document.documentElement.scrollWidth") <= width


@pytest.mark.parametrize("width,scheme", [(1280, "light"), (390, "dark")])
def test_pick_a_listed_ref_and_confirm_an_unknown_one(controller, page, git_server, width, scheme):
    from playwright.sync_api import expect
    url, main = _remote(git_server, f"pick-{width}")
    base, password = controller
    problems = []
    page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.emulate_media(color_scheme=scheme)
    page.set_viewport_size({"width": width, "height": 900})
    log_in(page, base, password)

    page.fill("#field-url", url)
    page.get_by_role("button", name="List branches and tags").click()
    listing = page.locator("#remote-refs")
    status = listing.get_by_role("status")
    expect(status).to_have_text("The remote lists 2 branch(es) and 1 tag(s).")
    expect(status).to_be_focused()  # focus on the result of the swap
    expect(listing.locator("tbody tr")).to_have_text([re.compile(rf"main branch, default\s+{main[:12]}"),
                                                      re.compile(rf"dev branch\s+{main[:12]}"),
                                                      re.compile(rf"v1 tag\s+{main[:12]}")])
    _fits(page, width)
    listing.get_by_role("button", name="Use v1").click()
    expect(page.locator("#field-ref")).to_have_value("v1")
    expect(page.locator("#field-ref")).to_be_focused()
    expect(page.locator("#ref-resolved")).to_have_text(f"v1 is at {main[:12]}")

    page.fill("#field-ref", "nope")
    page.fill("#field-display_name", "Picked")
    page.get_by_role("button", name="Add Repository").click()
    warning = page.locator("#unknown-ref-warning")
    expect(warning).to_contain_text("The remote has no branch or tag named nope")
    expect(warning).to_be_focused()
    expect(page.locator("#repo-picked")).to_have_count(0)  # nothing saved yet
    _fits(page, width)
    page.get_by_role("button", name="Add anyway").click()
    expect(page.locator("#repo-picked .url small")).to_have_text("nope")

    page.locator("#repo-picked").get_by_role("link", name="Edit").click()
    page.get_by_role("button", name="List branches and tags").click()
    expect(page.locator("#ref-resolved")).to_have_text("unknown ref: the remote has no branch or tag named 'nope'")
    page.get_by_role("button", name="Use dev").click()
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#repo-picked .url small")).to_have_text("dev")
    assert problems == []  # asking is a question, not an error: no 4xx, no console error


def test_without_javascript_the_list_and_the_question_are_pages(controller, page, git_server):
    from playwright.sync_api import expect
    url, main = _remote(git_server, "nojs")
    base, password = controller
    context = page.context.browser.new_context(java_script_enabled=False)
    plain = context.new_page()
    log_in(plain, base, password)

    plain.fill("#field-url", url)
    plain.get_by_role("button", name="List branches and tags").click()
    expect(plain.locator("#remote-refs tbody tr")).to_have_count(3)
    plain.get_by_role("button", name="Use dev").click()  # submits the form again with that ref
    expect(plain.locator("#field-ref")).to_have_value("dev")
    expect(plain.locator("#field-url")).to_have_value(url)
    expect(plain.locator("#ref-resolved")).to_have_text(f"refs/heads/dev is at {main[:12]}")
    plain.fill("#field-display_name", "Plain")
    plain.get_by_role("button", name="Add Repository").click()
    expect(plain.locator("#repo-plain .url small")).to_have_text("dev")

    plain.locator("#repo-plain").get_by_role("link", name="Edit").click()
    plain.fill("#field-ref", "later")
    plain.get_by_role("button", name="Save", exact=True).click()
    expect(plain.locator("#unknown-ref-warning")).to_contain_text("no branch or tag named later")
    expect(plain.locator("#field-ref")).to_have_value("later")
    plain.get_by_role("button", name="Save anyway").click()
    expect(plain.locator("#repo-plain .url small")).to_have_text("later")
    context.close()
