"""Lists are paginated (?page=, ?per_page=; Link and X-Total-Count headers; bodies stay arrays) and searched or
filtered on the server (?q=, ?status=, ?tag=, ?source=), in JSON and on the pages without JavaScript."""
from __future__ import annotations

import re

import pytest

from models import Repository, RepositoryStatus, database
from tests.support.fleet import module_type, seed_fleet


@pytest.fixture
def fleet(app):
    with database.connection_context():
        seed_fleet(120, modules_per_repo=1, devices=60, modules_per_device=2)
        Repository.update(status=RepositoryStatus.FAILED).where(Repository.name.in_(["fleet3", "fleet7"])).execute()


def _links(response) -> dict[str, str]:
    return {rel: url for url, rel in re.findall(r'<([^>]+)>; rel="(\w+)"', response.headers.get("Link", ""))}


def _path(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


def test_json_lists_are_pages_that_name_the_next_one(api, fleet):
    first = api.get("/api/repositories")
    assert first.status_code == 200 and len(first.get_json()) == 25
    assert first.headers["X-Total-Count"] == "120"
    links = _links(first)
    assert set(links) == {"first", "last", "next"} and links["next"].startswith("http://")
    names = [r["name"] for r in first.get_json()]
    while "next" in links:
        response = api.get(_path(links["next"]))
        names += [r["name"] for r in response.get_json()]
        links = _links(response)
    assert len(names) == 120 and len(set(names)) == 120 and names == sorted(names)
    assert "prev" in links and "page=5" in links["last"]
    small = api.get("/api/repositories?per_page=7&page=2")
    assert [r["name"] for r in small.get_json()] == sorted(names)[7:14]
    beyond = api.get("/api/repositories?page=99")
    assert beyond.get_json() == [] and beyond.headers["X-Total-Count"] == "120" and "next" not in _links(beyond)


@pytest.mark.parametrize("query, field", [("page=0", "page"), ("page=two", "page"), ("per_page=201", "per_page"),
                                          ("per_page=0", "per_page"), ("status=lost", "status")])
def test_bad_paging_or_filter_is_a_422_naming_the_parameter(api, client, fleet, query, field):
    response = api.get(f"/api/repositories?{query}")
    assert response.status_code == 422 and response.get_json()["error"]["field"] == field
    message = response.get_json()["error"]["message"]
    page = client.get(f"/repositories?{query}")
    assert page.status_code == 422 and message in page.get_data(as_text=True)


def test_json_search_and_filters(api, fleet):
    found = api.get("/api/repositories?q=FLEET11&per_page=200").get_json()
    assert sorted(r["name"] for r in found) == ["fleet11"] + [f"fleet11{i}" for i in range(10)]
    failed = api.get("/api/repositories?status=failed")
    assert [r["name"] for r in failed.get_json()] == ["fleet3", "fleet7"] and failed.headers["X-Total-Count"] == "2"
    assert "next" not in _links(failed)
    tagged = api.get("/api/devices?tag=tag2&per_page=200").get_json()
    assert tagged and all("tag2" in d["tags"] for d in tagged)
    assert len(tagged) == 36  # devices d with d % 5 >= 2 carry tag2 (tests/support/fleet.py)
    assert api.get("/api/devices?tag=none-such").get_json() == []
    assert [d["name"] for d in api.get("/api/devices?q=device59").get_json()] == ["device59"]
    assert [t["name"] for t in api.get("/api/tags?q=tag4").get_json()] == ["tag4"]
    modules = api.get("/api/modules?source=fleet42").get_json()
    assert [m["type"] for m in modules] == [module_type(42, 0)]
    assert [m["type"] for m in api.get("/api/modules?q=Fleet 42 module").get_json()] == [module_type(42, 0)]
    assert api.get("/api/modules?source=built-in&per_page=200").headers["X-Total-Count"] == str(
        len([m for m in api.get("/api/modules?per_page=200").get_json() if m["source"] == "built-in"]))


def test_pages_without_javascript_page_and_filter(client, fleet):
    html = client.get("/repositories").get_data(as_text=True)
    assert html.count('<tr id="repo-') == 25 and 'rel="next"' in html and "1–25 of 120" in html
    second = client.get("/repositories?page=5").get_data(as_text=True)
    assert second.count('<tr id="repo-') == 20 and 'rel="next"' not in second and 'rel="prev"' in second
    assert 'method="get"' in html and 'name="q"' in html  # the search form works without JavaScript
    failed = client.get("/repositories?status=failed").get_data(as_text=True)
    assert re.findall(r'<tr id="repo-(\w+)"', failed) == ["fleet3", "fleet7"]
    none = client.get("/repositories?q=nothing-like-this").get_data(as_text=True)
    assert "No repositories match." in none
    devices = client.get("/devices?tag=tag2&per_page=50").get_data(as_text=True)
    assert devices.count('href="/devices/device') == 36  # d % 5 >= 2 of 60 devices
    tags = client.get("/tags?q=tag1").get_data(as_text=True)
    assert "/tags/tag1" in tags and "/tags/tag2" not in tags
    modules = client.get("/modules?source=fleet9").get_data(as_text=True)
    assert "Fleet 9 module 0" in modules and "Fleet 10 module 0" not in modules
    assert 'rel="next"' in client.get("/modules").get_data(as_text=True)  # 120 repository modules + built-ins
