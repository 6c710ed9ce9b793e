"""The audit log: the /audit page and ``GET /api/audit`` (both filtered by kind and subject, paginated)."""
from __future__ import annotations

from flask import Blueprint, render_template

from audit import KINDS
from audit.listing import event_json, filters, matching
from views.paging import json_page, paginate, query_args

blueprint = Blueprint("audit", __name__)


def _page():
    v = query_args()
    chosen = filters(v)
    return chosen, paginate(matching(chosen["kind"], chosen["subject"]), v)


@blueprint.get("/audit")
def index():
    chosen, page = _page()
    return render_template("audit.html", rows=[event_json(e) for e in page.items], page=page,
                           filters=chosen, filtered=any(chosen.values()), kinds=[(k, k) for k in KINDS])


@blueprint.get("/api/audit")
def api_list():
    _chosen, page = _page()
    return json_page(page, [event_json(e) for e in page.items])
