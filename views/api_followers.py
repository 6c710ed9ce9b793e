"""Devices and tags that follow a repository (repos/followers.py): JSON, and a page reached from its edit page."""
from __future__ import annotations

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for

from errors import InputError
from models import Device, Tag
from repos import followers
from repos import repositories as service
from views.api_errors import json_body

blueprint = Blueprint("followers", __name__)
CHOICES = ("none", "build", "deploy")


@blueprint.get("/api/repositories/<name>/followers")
def get_followers(name: str):
    return jsonify({"followers": followers.followers_json(service.get_repository(name))})


@blueprint.put("/api/repositories/<name>/followers")
def put_followers(name: str):
    repo = service.get_repository(name)
    return jsonify({"followers": followers.set_followers(repo, json_body())})


def _from_form(form) -> dict:
    """The page's one choice per device and tag (none, build, deploy) as the JSON body."""
    chosen = []
    for key, value in form.items():
        kind, _, item = key.partition(":")
        if kind in followers.KINDS and value in CHOICES[1:]:
            chosen.append({"kind": kind, "name": item, "deploy": value == "deploy"})
    return {"followers": chosen}


@blueprint.route("/repositories/<name>/followers", methods=["GET", "POST"])
def page(name: str):
    repo = service.get_repository(name)
    error = None
    if request.method == "POST":
        try:
            followers.set_followers(repo, _from_form(request.form))
        except InputError as exc:
            error = exc
        else:
            flash(f"Saved what follows {repo.display_name}.")
            return redirect(url_for("followers.page", name=repo.name))
    current = {(f["kind"], f["name"]): "deploy" if f["deploy"] else "build" for f in followers.followers_json(repo)}
    return render_template("repository_followers.html", repo=repo, current=current, error=error,
                           devices=Device.select().order_by(Device.name), tags=Tag.select().order_by(Tag.name)), \
        error.status if error else 200
