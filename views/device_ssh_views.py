"""SSH to a device: Test connection and Reset host key, as JSON (/api/devices/<name>/...) and on the device page."""
from __future__ import annotations

from flask import Blueprint, jsonify, request, url_for

from configs.service import get_device
from deploy import device_ssh
from errors import InputError, NotFound
from views.rendering import confirm, page_or_partial, settings

blueprint = Blueprint("device_ssh", __name__)


@blueprint.post("/api/devices/<name>/test-connection")
def api_test_connection(name: str):
    return jsonify(device_ssh.test_connection(get_device(name), settings()))


@blueprint.delete("/api/devices/<name>/host-key")
def api_reset_host_key(name: str):
    device_ssh.reset_host_key(get_device(name), settings())
    return "", 204


@blueprint.post("/devices/<name>/test-connection")
def test_connection(name: str):
    device = get_device(name)
    try:
        result = device_ssh.test_connection(device, settings())
    except InputError as exc:
        result = {"ok": False, "code": "local", "message": exc.first.message, "public_key": None, "host_key": None}
    return page_or_partial("device_connection.html", "_device_connection.html", row=device, result=result)


@blueprint.route("/devices/<name>/host-key/reset", methods=["GET", "POST"])
def reset_host_key(name: str):
    device = get_device(name)
    if request.method == "GET":
        page = url_for("configs.detail", kinds="devices", name=name)
        return confirm(f"Forget the host key of {device.display_name}?", f"The next connection to `{device.target}` "
                       "trusts the key it is shown. Do this only when you know the device's key was replaced.",
                       action=url_for("device_ssh.reset_host_key", name=name), button="Reset host key",
                       cancel=page + "#device-connection", danger=True,
                       affected=[("Devices", [(device.display_name, page, device.name)])])
    try:
        removed = device_ssh.reset_host_key(device, settings())
        message = (f"Forgot {removed} host key(s) of {device.target}: the next connection trusts the key it is "
                   "shown.")
    except (InputError, NotFound) as exc:
        message = exc.first.message if isinstance(exc, InputError) else str(exc)
    result = {"ok": True, "code": "reset", "message": message, "public_key": None, "host_key": None}
    return page_or_partial("device_connection.html", "_device_connection.html", row=device, result=result)


@blueprint.app_template_global()
def controller_public_key() -> str | None:
    """The controller's public key for devices (the key pair is created on first need)."""
    from repos.ssh_keys import public_key_of
    return public_key_of(device_ssh.controller_key(settings()))
