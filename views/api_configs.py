"""JSON API for devices, tags and the module catalogue."""
from __future__ import annotations

from flask import Blueprint, jsonify

from configs import listing, service
from configs.catalog import available_modules
from configs.effective import effective_configuration
from models import Device, Tag
from views.api_errors import json_body

blueprint = Blueprint("api_configs", __name__, url_prefix="/api")
MODULE_FIELDS = ("type", "display_name", "description", "category", "icon", "source", "settings")


@blueprint.get("/modules")
def list_modules():
    return jsonify([{key: m.get(key) for key in MODULE_FIELDS} for m in available_modules().values()])


@blueprint.get("/devices")
def list_devices():
    catalog = available_modules()
    return jsonify(listing.devices_json(Device.select().order_by(Device.name), catalog))


@blueprint.post("/devices")
def create_device():
    device = service.save_device(json_body())
    return jsonify(service.device_json(device)), 201, {"Location": f"/api/devices/{device.name}"}


@blueprint.get("/devices/<name>")
def get_device(name: str):
    device = service.get_device(name)
    body = service.device_json(device)
    body["effective"] = effective_configuration(device)
    return jsonify(body)


@blueprint.patch("/devices/<name>")
def update_device(name: str):
    return jsonify(service.device_json(service.save_device(json_body(), service.get_device(name))))


@blueprint.delete("/devices/<name>")
def delete_device(name: str):
    service.delete_device(service.get_device(name))
    return "", 204


@blueprint.get("/tags")
def list_tags():
    catalog = available_modules()
    return jsonify(listing.tags_json(Tag.select().order_by(Tag.priority, Tag.name), catalog))


@blueprint.post("/tags")
def create_tag():
    tag = service.save_tag(json_body())
    return jsonify(service.tag_json(tag)), 201, {"Location": f"/api/tags/{tag.name}"}


@blueprint.get("/tags/<name>")
def get_tag(name: str):
    return jsonify(service.tag_json(service.get_tag(name)))


@blueprint.patch("/tags/<name>")
def update_tag(name: str):
    return jsonify(service.tag_json(service.save_tag(json_body(), service.get_tag(name))))


@blueprint.delete("/tags/<name>")
def delete_tag(name: str):
    service.delete_tag(service.get_tag(name))
    return "", 204
