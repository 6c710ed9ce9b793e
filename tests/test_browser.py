"""A person in headless Chromium: log in, add a repository from the test git server, see it validated and ready,
remove it.

The controller runs as the README runs it: gunicorn 'app:create_app()' in its own process.
"""
import re


def test_add_fetch_and_remove_a_repository(controller, page, git_server):
    from playwright.sync_api import expect
    base, password = controller
    repo = git_server.make_repo("browser-demo", {"README.md": "This repository contains thymis modules.\n",
                                                 "flake.nix": '{ outputs = { self }: { }; }\n'})
    commit = repo.rev("refs/heads/main")

    page.goto(base + "/repositories")
    expect(page).to_have_url(re.compile(r"/login"))
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    expect(page.get_by_role("heading", name="External Repositories")).to_be_visible()

    page.fill("#field-url", git_server.url("browser-demo"))
    page.fill("#field-display_name", "Browser Demo")
    page.get_by_role("button", name="Add Repository").click()
    row = page.locator("#repo-browser-demo")
    expect(row).to_contain_text("Browser Demo")
    expect(row.locator(".status")).to_have_text("ready", timeout=60_000)
    expect(row.locator(".commit")).to_contain_text(commit[:7])

    row.get_by_role("link", name="Remove").click()  # the confirmation page
    expect(page.get_by_role("heading", name="Remove Browser Demo?")).to_be_visible()
    page.get_by_role("button", name="Remove").click()
    expect(page.locator("#repo-browser-demo")).to_have_count(0)
    page.reload()
    expect(page.locator("#repo-browser-demo")).to_have_count(0)
