from itertools import groupby

from flask import Blueprint

from configs.listing import matching_modules
from views.cached import page
from views.paging import paginate, query_args, search_text

blueprint = Blueprint("modules", __name__)


@blueprint.get("/modules")
def index():
    """One page of the catalogue, searched (?q=) and filtered by source (?source=), grouped by source."""
    v = query_args()
    source = v.text("source", max_len=200, too_long="source is at most 200 characters")
    filters = {"q": search_text(v), "source": source}

    def context() -> dict:
        everything = matching_modules()
        page = paginate(matching_modules(filters["q"], filters["source"]) if any(filters.values()) else everything,
                        v)
        groups = [(name, list(modules)) for name, modules in groupby(page.items, key=lambda m: m["source_name"])]
        sources = list(dict.fromkeys((m["source"], m["source_name"]) for m in everything))
        return {"groups": groups, "page": page, "filters": filters, "sources": sources,
                "filtered": any(filters.values())}
    return page("Modules", "modules.html", context)
