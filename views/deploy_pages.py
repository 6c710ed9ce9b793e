"""Build, deploy, preview and roll back from the device and tag pages."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for

from configs.affected import devices_of_tag
from configs.service import get_device, get_tag
from deploy import service
from deploy.generations import device_generations
from deploy.render import GenerationError
from errors import InputError, hide_paths
from jobs import JobConflict
from sandbox import SandboxError
from views.rendering import confirm, page_or_partial, settings
from views.rollback_confirm import confirm_rollback

blueprint = Blueprint("deploy", __name__)


def _start(starter, back: str, *args):
    try:
        job = starter(*args)
        flash(f"Started {job.kind} (job {job.id}).")
    except JobConflict as exc:
        flash(f"A {exc.job.kind} job is already {exc.job.state} (job {exc.job.id}).")
    except InputError as exc:
        flash(exc.first.message)
    return redirect(back)


@blueprint.post("/devices/<name>/build")
def build(name):
    return _start(service.build_device, url_for("configs.detail", kinds="devices", name=name), name)


@blueprint.get("/devices/<name>/deploy")
def confirm_deploy(name):
    """Deploy asks first (the device page's Deploy leads here): which device, where it goes."""
    device = get_device(name)
    back = url_for("configs.detail", kinds="devices", name=name)
    try:
        service.needs_target(device)
    except InputError as exc:
        flash(exc.first.message)
        return redirect(back)
    return confirm(f"Deploy {device.display_name}?", f"This builds `{device.name}` and switches `{device.target}` "
                   "to the new configuration.", affected=[("Devices", [(f"{device.display_name} ({device.target})",
                                                                        back)])],
                   action=url_for("deploy.deploy", name=name), button="Deploy", cancel=back)


@blueprint.post("/devices/<name>/deploy")
def deploy(name):
    return _start(service.deploy_device, url_for("configs.detail", kinds="devices", name=name), name)


@blueprint.route("/devices/<name>/rollback", methods=["GET", "POST"])
def rollback(name):
    if request.method == "GET":  # Roll back to generation N… asks first
        return confirm_rollback(get_device(name), request.args.get("generation"))
    return _start(service.rollback_device, url_for("configs.detail", kinds="devices", name=name), name,
                  request.form.get("generation"), request.form.get("store_path"))


@blueprint.get("/devices/<name>/generations")
def generations(name):
    """The target's profile generations (read from the target: the device page loads this on its own)."""
    device = get_device(name)
    try:
        (profile, found), error = device_generations(name, settings()), None
    except InputError as exc:
        profile, found, error = None, [], exc.first.message
    return page_or_partial("generations.html", "_generations.html", row=device, generations=found,
                           profile=profile, error=error)


@blueprint.get("/tags/<name>/deploy")
def confirm_deploy_tag(name):
    """A tag deploy lists the devices it deploys before it starts."""
    tag = get_tag(name)
    devices = devices_of_tag(tag)
    back = url_for("configs.detail", kinds="tags", name=name)
    try:
        service.tag_needs_targets(tag)
    except InputError as exc:
        flash(exc.first.message)
        return redirect(back)
    return confirm(f"Deploy every device tagged {tag.display_name}?",
                   f"{len(devices)} device(s) are built and switched, one job each.",
                   affected=[("Devices", [(f"{d.display_name} ({d.target})",
                                           url_for("configs.detail", kinds="devices", name=d.name)) for d in devices])],
                   action=url_for("deploy.deploy_tag", name=name), button="Deploy all", cancel=back)


@blueprint.post("/tags/<name>/deploy")
def deploy_tag(name):
    return _start(service.deploy_tag, url_for("configs.detail", kinds="tags", name=name), name)


@blueprint.get("/devices/<name>/preview")
def preview(name):
    try:
        result = service.preview(name, settings())
    except (GenerationError, SandboxError) as exc:
        return render_template("preview.html", name=name, error=hide_paths(str(exc)), result=None), 409
    return render_template("preview.html", name=name, error=None, result=result)

