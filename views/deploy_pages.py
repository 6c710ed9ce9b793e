"""Build, deploy, preview and roll back from the device and tag pages."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for

from deploy import service
from deploy.render import GenerationError
from errors import InputError, hide_paths
from jobs import JobConflict
from sandbox import SandboxError
from views.rendering import settings

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


@blueprint.post("/devices/<name>/deploy")
def deploy(name):
    return _start(service.deploy_device, url_for("configs.detail", kinds="devices", name=name), name)


@blueprint.post("/devices/<name>/rollback")
def rollback(name):
    return _start(service.rollback_device, url_for("configs.detail", kinds="devices", name=name), name,
                  request.form.get("store_path"))


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

