"""Devices and Tags pages: list, create, edit, modules with generated settings forms, effective configuration."""
from __future__ import annotations

from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, url_for
from markupsafe import Markup

from configs import listing, service
from configs.affected import devices_of_tag
from configs.catalog import available_modules, grouped_modules
from configs.effective import effective_configuration
from configs.forms import change_rows, read_settings, settings_source
from deploy.generations import deployments as device_history
from deploy.jobs import DEPLOY_TAG, DEVICE_JOB_KINDS
from errors import InputError
from models import Device, Job, Tag
from views.cached import fragment, page
from views.paging import paginate, query_args, search_text
from views.rendering import confirm, page_or_partial, partial_or_redirect, retarget

blueprint = Blueprint("configs", __name__)
KINDS = {
    "devices": {"kind": "device", "title": "Devices", "get": service.get_device, "save": service.save_device,
                "delete": service.delete_device, "model": Device},
    "tags": {"kind": "tag", "title": "Tags", "get": service.get_tag, "save": service.save_tag,
             "delete": service.delete_tag, "model": Tag},
}
KIND_PATH = "/<any(devices, tags):kinds>"
CHANGED = "config-changed"  # the event after which the effective configuration reloads itself


def _kind(kinds: str) -> dict:
    return {**KINDS[kinds], "kinds": kinds}


def _list_page(kind: dict, form=None, error=None, status=200):
    """One page of devices or tags, searched (?q=) and, for devices, filtered by tag (?tag=); kept per data
    generation unless it shows a form again."""
    v = query_args()
    filters = {"q": search_text(v)}
    if kind["kind"] == "device":
        filters["tag"] = v.text("tag", max_len=200, too_long="tag is at most 200 characters")
        query = listing.matching_devices(filters["q"], filters["tag"])
    else:
        query = listing.matching_tags(filters["q"])

    def context() -> dict:
        page = paginate(query.order_by(kind["model"].name), v)
        all_tags = list(Tag.select().order_by(Tag.name))
        rows = list(page.items)
        shown = {}  # devices: their tags and last deploy, loaded for the whole page at once (constant queries)
        if kind["kind"] == "device":
            shown = {"device_tags": listing.tags_by_device([d.id for d in rows]),
                     "last_deploys": listing.last_deployments([d.name for d in rows])}
        return {"k": kind, "rows": rows, "page": page, "filters": filters, "filtered": any(filters.values()),
                "form": form or {}, "error": error, "all_tags": all_tags, **shown,
                "tag_options": [(t.name, t.display_name) for t in all_tags]}
    return page(kind["title"], "configs_list.html", context, status, keep=form is None and error is None)


def _detail_page(kind: dict, row, form=None, error=None, status=200):
    catalog = available_modules()
    tags = service.device_tags(row) if kind["kind"] == "device" else []
    deploy_context = _deploy_context(kind, row)
    # The cards, the picker and the effective configuration are most of the page: kept per data generation.
    cards = fragment("_module_cards.html", lambda: {"cards": [_card(kind, row, m, catalog) for m in row.modules]},
                     extra_key=(kind["kinds"], row.name))
    effective = fragment("_effective.html", lambda: {"effective": effective_configuration(row, catalog)},
                         extra_key=(row.name,)) if kind["kind"] == "device" else None
    return render_template("config_detail.html", k=kind, row=row, form=form or {}, error=error, cards=cards,
                           picker=Markup(_picker(kind, row, catalog, oob=False)),
                           all_tags=list(Tag.select().order_by(Tag.priority, Tag.name)), tags=tags,
                           effective=effective,
                           warnings=service.unavailable_warnings(row.modules, catalog), **deploy_context), status


def _deploy_context(kind: dict, row) -> dict:
    subject, kinds = (row.name, DEVICE_JOB_KINDS) if kind["kind"] == "device" else (f"tag:{row.name}", (DEPLOY_TAG,))
    job = (Job.select().where(Job.subject == subject, Job.kind.in_(kinds), Job.parent.is_null())
           .order_by(Job.id.desc()).first())
    deployments = device_history(row.name) if kind["kind"] == "device" else []
    return {"device_job": job, "deployments": deployments}


def _card(kind, row, module, catalog, values=None, error=None, message=None, index=None):
    index = row.modules.index(module) if index is None else index
    return {"kind": kind, "row": row, "type": module["type"], "index": index, "described": catalog.get(module["type"]),
            "values": module["settings"] if values is None else values, "error": error, "message": message}


@blueprint.get(KIND_PATH)
def index(kinds):
    return _list_page(_kind(kinds))


@blueprint.post(KIND_PATH)
def create(kinds):
    kind = _kind(kinds)
    try:
        row = kind["save"](request.form)
    except InputError as exc:
        return _list_page(kind, request.form, exc, exc.status)
    flash(f"Created {row.display_name}.")
    return redirect(url_for("configs.detail", kinds=kinds, name=row.name))


@blueprint.get(KIND_PATH + "/<name>")
def detail(kinds, name):
    kind = _kind(kinds)
    return _detail_page(kind, kind["get"](name))


@blueprint.post(KIND_PATH + "/<name>")
def update(kinds, name):
    kind = _kind(kinds)
    row = kind["get"](name)
    try:
        kind["save"](request.form, row)
    except InputError as exc:
        return _detail_page(kind, kind["get"](name), request.form, exc, exc.status)
    flash("Saved.")
    return redirect(url_for("configs.detail", kinds=kinds, name=name))


@blueprint.post(KIND_PATH + "/<name>/modules")
def add_module(kinds, name):
    """Add a module. htmx appends its card and refreshes the picker (out of band), so the module just added cannot
    be picked again; an error is shown in the picker (never a page swapped into the list)."""
    kind = _kind(kinds)
    row = kind["get"](name)
    module_type = request.form.get("type", "")
    back = url_for("configs.detail", kinds=kinds, name=name)
    try:
        kind["save"]({"modules": row.modules + [{"type": module_type, "settings": {}}]}, row)
    except InputError as exc:
        if not request.htmx:
            flash(exc.first.message)
            return redirect(back)
        body = _picker(kind, row, error=exc.first.message, oob=False)
        return retarget(make_response(body, exc.status), "#add-module-section")
    row = kind["get"](name)
    catalog = available_modules()
    card = _card(kind, row, row.modules[-1], catalog)
    return partial_or_redirect("_module_card.html", back, trigger=CHANGED, card=card, focus=True,
                               extra=_picker(kind, row, catalog=catalog))


def _picker(kind, row, catalog=None, error=None, oob=True) -> str:
    """The module picker (every module of the catalogue: a thousand options in a large fleet), kept per data
    generation, device or tag, and whether it is swapped out of band, unless it shows an error."""
    def context() -> dict:
        return {"k": kind, "row": row, "groups": grouped_modules(), "oob": oob, "add_error": error,
                "used": {m["type"] for m in row.modules}}
    if error is not None:
        return render_template("_add_module.html", **context())
    # A str: views add it to other HTML (adding a str to Markup would escape the str).
    return str(fragment("_add_module.html", context, extra_key=(kind["kinds"], row.name, oob)))


@blueprint.post(KIND_PATH + "/<name>/modules/<module_type>")
def module_settings(kinds, name, module_type):
    """Save, remove, or add/remove a list row (re-rendered, not saved): one form, with or without htmx."""
    kind = _kind(kinds)
    row = kind["get"](name)
    module = next((m for m in row.modules if m["type"] == module_type), None)
    if module is None:
        abort(404, description=f"{name} does not use module {module_type}")
    catalog = available_modules()
    action = request.form.get("action", "save")
    back = url_for("configs.detail", kinds=kinds, name=name)
    if action == "remove":  # the page's Remove module… asks first (remove_module); this is the form's old way
        return _remove(kind, row, module_type, catalog)
    described = catalog.get(module_type)
    if described is None:
        abort(409, description=f"module {module_type} is not available now; its settings are kept unchanged")
    values = read_settings(request.form, described["settings"])
    if action.startswith(("add-row:", "remove-row:")):
        card = _card(kind, row, module, catalog, values=change_rows(values, described["settings"], action))
        return _card_response(kind, row, card)
    modules = [{"type": m["type"], "settings": settings_source(request.form) if m["type"] == module_type
                else m["settings"]} for m in row.modules]
    try:
        kind["save"]({"modules": modules}, row)
    except InputError as exc:
        return _card_response(kind, row, _card(kind, row, module, catalog, values=values, error=exc), exc.status)
    row = kind["get"](name)
    module = next(m for m in row.modules if m["type"] == module_type)
    return partial_or_redirect("_module_card.html", back, f"Saved {described['display_name']}.", trigger=CHANGED,
                               card=_card(kind, row, module, catalog, message="Saved."))


def _shown(module_type: str, catalog) -> str:
    return catalog[module_type]["display_name"] if module_type in catalog else module_type


def _remove(kind, row, module_type, catalog):
    kind["save"]({"modules": [m for m in row.modules if m["type"] != module_type]}, row)
    return partial_or_redirect(None, url_for("configs.detail", kinds=kind["kinds"], name=row.name),
                               f"Removed module {_shown(module_type, catalog)}.", trigger=CHANGED,
                               extra=_picker(kind, kind["get"](row.name), catalog=catalog))


@blueprint.route(KIND_PATH + "/<name>/modules/<module_type>/remove", methods=["GET", "POST"])
def remove_module(kinds, name, module_type):
    """Remove a module and its settings, after asking (which devices it leaves; for a tag, its devices)."""
    kind = _kind(kinds)
    row = kind["get"](name)
    if not any(m["type"] == module_type for m in row.modules):
        abort(404, description=f"{name} does not use module {module_type}")
    catalog = available_modules()
    if request.method == "POST":
        return _remove(kind, row, module_type, catalog)
    devices = [row] if kind["kind"] == "device" else devices_of_tag(row)
    shown = _shown(module_type, catalog)
    return confirm(f"Remove {shown} from {row.display_name}?",
                   f"This removes the module `{module_type}` and its settings from the {kind['kind']} `{row.name}`. "
                   "Builds and deploys after this leave it out.", danger=True, button="Remove module",
                   action=url_for("configs.remove_module", kinds=kinds, name=name, module_type=module_type),
                   cancel=url_for("configs.detail", kinds=kinds, name=name),
                   affected=[("Devices", [(d.display_name, url_for("configs.detail", kinds="devices", name=d.name),
                                           d.name) for d in devices])])


def _card_response(kind, row, card, status: int = 200):
    """htmx swaps the card in place; without JavaScript the card is shown on a page of its own."""
    return page_or_partial("module_settings.html", "_module_card.html", status, k=kind, row=row, card=card)


@blueprint.get("/devices/<name>/effective")
def effective(name):
    device = service.get_device(name)
    return render_template("_effective.html", effective=effective_configuration(device))


@blueprint.post("/devices/<name>/duplicate")
def duplicate(name):
    device = service.get_device(name)
    try:
        copy = service.duplicate_device(device, request.form.get("name", "").strip(),
                                        request.form.get("display_name", "").strip() or None)
    except InputError as exc:
        flash(exc.first.message)
        return redirect(url_for("configs.detail", kinds="devices", name=name))
    flash(f"Duplicated {device.display_name} as {copy.name}.")
    return redirect(url_for("configs.detail", kinds="devices", name=copy.name))


@blueprint.route(KIND_PATH + "/<name>/delete", methods=["GET", "POST"])
def delete(kinds, name):
    kind = _kind(kinds)
    row = kind["get"](name)
    if request.method == "GET":
        back = url_for("configs.detail", kinds=kinds, name=name)
        devices = devices_of_tag(row) if kind["kind"] == "tag" else []
        return confirm(f"Delete {row.display_name}?", f"This deletes the {kind['kind']} `{row.name}` and its module "
                       "settings.", action=url_for("configs.delete", kinds=kinds, name=name), button="Delete",
                       cancel=back, danger=True,
                       affected=[("Devices that lose this tag", [(d.display_name, url_for(
                           "configs.detail", kinds="devices", name=d.name), d.name) for d in devices])]
                       if kind["kind"] == "tag" else [])
    kind["delete"](row)
    flash(f"Deleted {row.display_name}.")
    return redirect(url_for("configs.index", kinds=kinds))
