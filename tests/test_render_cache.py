"""Regenerating after one change renders only that module in the sandbox; other bodies come from the cache."""
from deploy.compose import RenderCache
from sandbox import render

CORE = "thymis_controller.modules.thymis.ThymisDevice"


def test_only_new_requests_reach_the_sandbox():
    calls = []

    def counting_render(checkouts, requests):
        calls.append(len(requests))
        return render(checkouts, requests)

    cache = RenderCache()
    requests = [{"module_type": CORE, "settings": {"device_name": f"d{i}"}, "priority": 80, "path": f"hosts/d{i}"}
                for i in range(3)]
    first = cache.render([], requests, counting_render)
    assert 'networking.hostName = lib.mkOverride 80 "d1";' in first[1]
    requests[1] = {**requests[1], "settings": {"device_name": "renamed"}}
    second = cache.render([], requests, counting_render)
    assert calls == [3, 1]
    assert second[0] == first[0] and '"renamed"' in second[1]
    assert cache.render(["/other/checkout"], requests[:1], counting_render) == first[:1] and calls == [3, 1, 1]
