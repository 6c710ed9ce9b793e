"""Screenshots of the main pages for the README: docs/screenshots/*.png.

Starts the controller (gunicorn, one worker) on a fresh data folder in a temporary directory, creates a tag
and a device through the pages, and photographs them in headless Chromium at 1280 px (light) and 390 px (dark).
Run from the repository root: .venv/bin/python scripts/screenshots.py
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = [("overview", "/"), ("repositories", "/repositories"), ("devices", "/devices"), ("device", "/devices/kiosk"),
         ("jobs", "/jobs")]


def start(data: Path) -> tuple[subprocess.Popen, str, str]:
    log = data.parent / "gunicorn.log"
    env = {**os.environ, "THYMIS_PROJECT_PATH": str(data)}
    gunicorn = Path(sys.executable).with_name("gunicorn")
    process = subprocess.Popen([gunicorn, "--bind", "127.0.0.1:0", "--workers", "1", "app:create_app()"], cwd=ROOT,
                               env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        text = log.read_text()
        base = re.search(r"Listening at: (http://127\.0\.0\.1:\d+)", text)
        password = re.search(r"admin password: (\S+)", text)
        if base and password:
            try:
                urllib.request.urlopen(base.group(1) + "/login", timeout=2)
                return process, base.group(1), password.group(1)
            except OSError:
                pass
        if process.poll() is not None:
            raise SystemExit(f"the controller did not start:\n{text}")
        time.sleep(0.3)
    process.terminate()
    raise SystemExit("the controller did not answer within 60 s")


def main() -> None:
    from playwright.sync_api import sync_playwright
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        process, base, password = start(Path(tmp) / "data")
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                     args=["--no-sandbox", "--disable-gpu"])
                page = browser.new_page(viewport={"width": 1280, "height": 860})
                page.goto(base + "/login")
                page.fill("input[name=username]", "admin")
                page.fill("input[name=password]", password)
                page.click("button[type=submit]")
                for kind, name, display in (("tag", "lab", "Lab"), ("device", "kiosk", "Kiosk")):
                    page.goto(f"{base}/{kind}s")
                    page.fill("#field-display_name", display)
                    page.fill("#field-name", name)
                    if kind == "device":
                        page.get_by_label("Lab").check()  # the devices list shows its tags
                    page.get_by_role("button", name=f"Create {kind}").click()
                page.select_option("#add-module", label="Custom Nix")
                page.get_by_role("button", name="Add module").click()
                page.wait_for_selector("#modules section.module")
                for scheme, width, suffix in (("light", 1280, ""), ("dark", 390, "-phone-dark")):
                    page.emulate_media(color_scheme=scheme)
                    page.set_viewport_size({"width": width, "height": 860})
                    for shot, path in SHOTS:
                        page.goto(base + path)
                        page.screenshot(path=str(OUT / f"{shot}{suffix}.png"), full_page=width > 400)
                        print(OUT / f"{shot}{suffix}.png")
                browser.close()
        finally:
            process.terminate()
            process.wait(10)


if __name__ == "__main__":
    main()
