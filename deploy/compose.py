"""From the database to the deploy library's inputs: device configurations with rendered module files.

Module bodies come from each module's write_nix_settings, run in the sandbox subprocess (external code never
runs in the web process). Repositories reach the flake as inputs pinned to their active, validated commit.
"""
from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass, field

from configs.catalog import available_modules
from configs.core import with_state_version
from configs.listing import tags_by_device
from configs.service import DEVICE_PRIORITY
from deploy.model import DeviceConfig, FlakeInput, ModuleFile
from models import Device
from pipeline.commit_validation import active_validations
from pipeline.fetch import nix_input_url
from pipeline.self_heal import MissingCheckout, ensure_checkout
from sandbox import render
from secret_store.delivery import with_paths

CORE_MODULE = "thymis_controller.modules.thymis.ThymisDevice"
SYSTEMS = {"generic-aarch64": "aarch64-linux", "raspberry-pi-3": "aarch64-linux", "raspberry-pi-4": "aarch64-linux",
           "raspberry-pi-5": "aarch64-linux"}
RENDER_CACHE_SIZE = 50_000


class RenderCache:
    """Rendered module bodies by (request, checkouts): a module's output depends only on its code (the checkout
    of an active commit, or the built-in) and the request, so regenerating after one change renders one module."""

    def __init__(self, size: int = RENDER_CACHE_SIZE):
        self.size = size
        self._bodies: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def render(self, checkouts: list, requests: list[dict], render_fn=render) -> list[str]:
        context = [str(c) for c in checkouts]
        keys = [json.dumps([request, context], sort_keys=True) for request in requests]
        with self._lock:
            missing = {key: request for key, request in zip(keys, requests) if key not in self._bodies}
        if missing:
            fresh = render_fn(checkouts, list(missing.values()))
            with self._lock:
                for key, body in zip(missing, fresh):
                    self._bodies[key] = body
                while len(self._bodies) > self.size:
                    self._bodies.popitem(last=False)
        with self._lock:
            bodies = [self._bodies[key] for key in keys]
            for key in keys:
                self._bodies.move_to_end(key)
        return bodies


render_cache = RenderCache()


@dataclass
class Composition:
    devices: list[DeviceConfig]
    inputs: list[FlakeInput]
    checkouts: list
    skipped: list[str] = field(default_factory=list)     # modules left out because they are unavailable


def flake_inputs(settings) -> tuple[list[FlakeInput], list]:
    inputs, checkouts = [], []
    for validation in active_validations():
        repo = validation.repository
        try:
            checkout = ensure_checkout(repo, settings)  # exported again if it went missing
        except MissingCheckout as exc:
            from deploy.render import GenerationError
            raise GenerationError(f"repository {repo.name}: {exc}") from None
        has_thymis = bool((validation.flake or {}).get("has_thymis_input"))
        inputs.append(FlakeInput(name=repo.name, url=nix_input_url(checkout), has_thymis_input=has_thymis))
        checkouts.append(checkout)
    return inputs, checkouts


def thymis_url(settings) -> str:
    from deploy.render import GenerationError
    if not settings.thymis_flake_url:
        raise GenerationError("no thymis flake is configured: set THYMIS_FLAKE_URL to the flake that provides "
                              "nixosModules.thymis-device")
    return settings.thymis_flake_url


def _system(modules: list[dict]) -> str:
    core = next((m for m in modules if m["type"] == CORE_MODULE), None)
    return SYSTEMS.get((core or {}).get("settings", {}).get("device_type"), "x86_64-linux")


def compose(settings) -> Composition:
    """Every device with its own and its tags' module files, rendered in one sandbox run.

    Always all devices: the generated project holds every device, and files of devices left out are deleted.
    """
    catalog = available_modules()
    inputs, checkouts = flake_inputs(settings)
    rows = list(Device.select().order_by(Device.name))
    tags = tags_by_device([d.id for d in rows])  # one query for every device's tags
    plans, requests, index = [], [], {}
    skipped = []
    for device in rows:
        own = with_state_version(device.modules, [t.modules for t in tags[device.id]], catalog)
        sources = [("device", DEVICE_PRIORITY, f"hosts/{device.name}", own)]
        sources += [(f"tag-{t.name}", t.priority, f"tags/{t.name}", t.modules) for t in tags[device.id]]
        wanted, all_modules = [], []
        for owner, priority, path, modules in sources:
            all_modules += modules
            for module in modules:
                if module["type"] not in catalog:
                    skipped.append(f"{module['type']} on {owner.replace('tag-', 'tag ')} (no longer available)")
                    continue
                key = (owner if owner != "device" else f"device-{device.name}", module["type"])
                if key not in index:
                    index[key] = len(requests)
                    # a secret setting's Nix sees the file's path on the device, never the value
                    where = f"device {device.name}" if owner == "device" else owner.replace("tag-", "tag ", 1)
                    module_settings = with_paths(catalog[module["type"]]["settings"], module["settings"], settings,
                                                 f"module {module['type']} of {where}")
                    requests.append({"module_type": module["type"], "settings": module_settings,
                                     "priority": priority, "path": path})
                wanted.append((owner, module["type"], index[key]))
        plans.append((device, wanted, _system(device.modules)))
    bodies = render_cache.render(checkouts, requests) if requests else []
    devices = [DeviceConfig(name=device.name, target=device.target, system=system,
                            secrets_dir=str(settings.secrets_dir).rstrip("/"),
                            files=[ModuleFile(owner=owner, module_type=module_type, body=bodies[i])
                                   for owner, module_type, i in wanted])
               for device, wanted, system in plans]
    return Composition(devices=devices, inputs=inputs, checkouts=checkouts, skipped=sorted(set(skipped)))

