"""The OpenAPI part for paginated, searchable lists (views/paging.py): query parameters and the headers that
name the next page. The list bodies stay JSON arrays."""
from __future__ import annotations

from models.states import RepositoryStatus
from views.openapi_schemas import ERROR_TEXT, INTEGER, STRING, json_response, ref
from views.paging import DEFAULT_PER_PAGE, MAX_PER_PAGE


def _query(name: str, description: str, schema: dict) -> dict:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


PAGING = [
    _query("page", "the page, from 1", {**INTEGER, "minimum": 1, "default": 1}),
    _query("per_page", f"items per page, at most {MAX_PER_PAGE}",
           {**INTEGER, "minimum": 1, "maximum": MAX_PER_PAGE, "default": DEFAULT_PER_PAGE}),
]
SEARCH = _query("q", "only items whose names contain this text (any case)", {**STRING, "maxLength": 200})
FILTERS = {
    "/api/repositories": [SEARCH, _query("status", "only repositories in this state",
                                         {"enum": [s.value for s in RepositoryStatus]})],
    "/api/modules": [_query("q", "only modules whose type, display name or description contain this text",
                            {**STRING, "maxLength": 200}),
                     _query("source", "only modules from this source: built-in or a repository's input name",
                            {**STRING, "maxLength": 200})],
    "/api/devices": [SEARCH, _query("tag", "only devices that carry the tag with this name",
                                    {**STRING, "maxLength": 200})],
    "/api/tags": [SEARCH],
}
HEADERS = {
    "Link": {"description": 'the other pages, RFC 8288: <url>; rel="next" (absent on the last page), "prev", '
                            '"first", "last"', "schema": STRING},
    "X-Total-Count": {"description": "how many items match, on all pages", "schema": INTEGER},
}


def extend(document: dict) -> dict:
    for path, filters in FILTERS.items():
        operation = document["paths"][path]["get"]
        operation["parameters"] = [*filters, *PAGING]
        operation["responses"]["200"]["headers"] = HEADERS
        operation["responses"]["200"]["description"] = "one page of the list (see the Link header)"
        operation["responses"]["422"] = json_response(ref("Error"), ERROR_TEXT["422"])
    return document
