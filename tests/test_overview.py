"""The overview, the landing page after login: repositories by status, devices by last deploy, jobs, warnings."""
from models import Deployment, Device, database
from tests.conftest import csrf_from
from tests.test_htmx import repository


def test_login_lands_on_the_overview(app, admin_password):
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    response = client.post("/login", data={"username": "admin", "password": admin_password,
                                           "csrf_token": csrf_from(page)})
    assert response.headers["Location"] == "/"
    page = client.get("/").get_data(as_text=True)
    assert "<h1>Overview</h1>" in page and '<a href="/" aria-current="page">Overview</a>' in page


def test_the_overview_shows_failing_repositories_devices_jobs_and_warnings(client, api):
    name = repository(api, "broken")
    with database.connection_context():
        kiosk = Device.create(name="kiosk", display_name="Kiosk", modules=[{"type": "gone.Module", "settings": {}}])
        Device.create(name="idle", display_name="Idle")
        Deployment.create(device=kiosk, device_name="kiosk", kind="deploy", state="failed")
    page = client.get("/").get_data(as_text=True)
    repos = page.split('id="overview-repositories"')[1].split("</section>")[0]
    assert 'data-status="failed">failed</span> 1' in repos
    assert "<strong>broken</strong>: " in repos and "Connection refused" in repos  # the one-line reason
    devices = page.split('id="overview-devices"')[1].split("</section>")[0]
    assert 'data-state="failed">failed</span> 1' in devices and 'data-state="never deployed">never deployed</span> 1' \
        in devices
    assert "deploy failed" in devices
    assert f"<code>{name}</code>" in page.split('id="overview-jobs"')[1]
    warnings = page.split('id="overview-warnings"')[1].split("</section>")[0]
    assert "device <code>kiosk</code> uses 1 module(s) no longer available: <code>gone.Module</code>" in warnings


def test_no_warnings_section_when_all_is_well(app_factory, standins, announced):
    from deploy.reachability import reachability
    from tests.conftest import login
    app = app_factory(thymis_flake_url=standins.thymis_url)     # a thymis flake that can be fetched
    assert reachability.wait(standins.thymis_url, 60).state == "reachable"
    client = app.test_client()
    assert login(client, announced[0]).status_code == 302
    page = client.get("/").get_data(as_text=True)
    assert 'id="overview-warnings"' not in page
    assert "No jobs yet." in page
