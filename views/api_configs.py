"""JSON API for devices, tags and the module catalogue."""
from __future__ import annotations

from flask import Blueprint, jsonify

from configs import listing, service
from configs.catalog import available_modules
from configs.effective import effective_configuration
from models import Device, Tag
from views.api_errors import json_body
from views.cached import reused_response
from views.paging import json_page, paginate, query_args, search_text

blueprint = Blueprint("api_configs", __name__, url_prefix="/api")
MODULE_FIELDS = ("type", "display_name", "description", "category", "icon", "source", "settings")


@blueprint.get("/modules")
@reused_response
def list_modules():
    """?q= (in the type, display name or description), ?source= (built-in or a repository), ?page=, ?per_page=."""
    v = query_args()
    text, source = search_text(v), v.text("source", max_len=200, too_long="source is at most 200 characters")
    page = paginate(listing.matching_modules(text, source), v)
    return json_page(page, [{key: m.get(key) for key in MODULE_FIELDS} for m in page.items])


@blueprint.get("/devices")
@reused_response
def list_devices():
    """?q= (in the name or display name), ?tag= (a tag name), ?page=, ?per_page=."""
    v = query_args()
    text, tag = search_text(v), v.text("tag", max_len=200, too_long="tag is at most 200 characters")
    page = paginate(listing.matching_devices(text, tag).order_by(Device.name), v)
    return json_page(page, listing.devices_json(page.items, available_modules()))


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
@reused_response
def list_tags():
    """?q= (in the name or display name), ?page=, ?per_page=."""
    v = query_args()
    page = paginate(listing.matching_tags(search_text(v)).order_by(Tag.priority, Tag.name), v)
    return json_page(page, listing.tags_json(page.items, available_modules()))


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
