"""In Chromium: Deploy asks first; a tag deploy lists its devices; removing a repository lists who uses its modules."""
from tests.support import repo_trees as rb
from tests.support.browser import log_in


def test_deploy_and_tag_deploy_ask_and_say_what_they_affect(controller, page, git_server, tmp_path):
    from playwright.sync_api import expect
    root = rb.valid_repo(tmp_path / "tree")
    git_server.make_repo("used", {str(p.relative_to(root)): p.read_text() for p in root.rglob("*") if p.is_file()})
    base, password = controller
    log_in(page, base, password)
    page.fill("#field-url", git_server.url("used"))
    page.fill("#field-display_name", "Used")
    page.get_by_role("button", name="Add Repository").click()
    expect(page.locator("#repo-used .status")).to_have_text("ready", timeout=60_000)
    page.goto(base + "/tags")
    page.fill("#field-display_name", "Lab")
    page.fill("#field-name", "lab")
    page.get_by_role("button", name="Create tag").click()
    page.select_option("#add-module", label="Greeter")
    page.get_by_role("button", name="Add module").click()
    expect(page.locator("#modules section.module")).to_have_count(1)
    page.goto(base + "/devices")
    page.fill("#field-display_name", "Kiosk")
    page.fill("#field-name", "kiosk")
    page.fill("#field-target", "local")   # chosen: the form is not prefilled with this appliance
    page.get_by_label("Lab").check()
    page.get_by_role("button", name="Create device").click()

    page.get_by_role("link", name="Deploy…").click()
    expect(page.get_by_role("heading", name="Deploy Kiosk?")).to_be_visible()
    expect(page.locator("ul.affected")).to_have_text("Kiosk (local)")
    expect(page.get_by_role("button", name="Deploy")).to_be_focused()
    page.get_by_role("link", name="Cancel").click()
    expect(page.get_by_role("heading", name="Kiosk")).to_be_visible()  # nothing started
    expect(page.locator("#deployments .job-progress")).to_have_count(0)

    page.goto(base + "/tags/lab")
    page.get_by_role("link", name="Deploy all devices with this tag…").click()
    expect(page.get_by_role("heading", name="Deploy every device tagged Lab?")).to_be_visible()
    expect(page.locator("ul.affected li")).to_have_text(["Kiosk (local)"])

    page.goto(base + "/repositories")
    page.locator("#repo-used").get_by_role("link", name="Remove").click()
    expect(page.locator("ul.affected")).to_have_text(["Lab lab"])  # the tag; the device uses it only through the tag
    expect(page.get_by_role("note")).to_contain_text("in use")
