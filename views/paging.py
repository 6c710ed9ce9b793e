"""Pages of a list: ``?page=`` (from 1) and ``?per_page=`` (1 to MAX_PER_PAGE, DEFAULT_PER_PAGE = 25 by default).

JSON lists stay arrays; the response names the next page in a ``Link`` header (RFC 8288: rel next, prev,
first, last, like GitHub's API) and gives the number of matching items in ``X-Total-Count``. Pages show the same
links below the table. Bad numbers are a 422 naming the parameter, on pages and in JSON alike.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from flask import jsonify, request, url_for
from werkzeug.datastructures import MultiDict

from validation import FormSource, Validation

DEFAULT_PER_PAGE = 25
MAX_PER_PAGE = 200


def query_args(v: Validation | None = None) -> Validation:
    """The request's query string as a Validation (an empty ``?q=`` from a GET form counts as not given)."""
    return v or Validation(FormSource(request.args, blank_is_unset=True))


def search_text(v: Validation) -> str | None:
    """``?q=``: the text to look for (case-insensitive, anywhere in the names)."""
    return v.text("q", max_len=200, too_long="q is at most 200 characters",
                  control="q must not contain control characters")


@dataclass
class Page:
    items: list
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def first_index(self) -> int:
        return (self.page - 1) * self.per_page + 1 if self.total else 0

    @property
    def last_index(self) -> int:
        return min(self.page * self.per_page, self.total)

    def url(self, page: int, external: bool = False) -> str:
        """This request's URL (its filters kept) at another page."""
        args = MultiDict(request.args)
        args.setlist("page", [str(page)])
        return url_for(request.endpoint, **(request.view_args or {}), **args.to_dict(flat=False), _external=external)

    def links(self, external: bool = False) -> dict[str, str]:
        rel = {"first": 1, "last": self.pages}
        if self.has_prev:
            rel["prev"] = min(self.page - 1, self.pages)
        if self.has_next:
            rel["next"] = self.page + 1
        return {name: self.url(number, external) for name, number in rel.items()}


def paginate(items, v: Validation | None = None, default: int = DEFAULT_PER_PAGE) -> Page:
    """A Page of ``items``: a peewee query (counted and limited in SQL) or a list. Raises InputError (422)."""
    v = query_args(v)
    page = v.integer("page", message="page must be a whole number from 1", min=1, default=1)
    per_page = v.integer("per_page", message=f"per_page must be a whole number from 1 to {MAX_PER_PAGE}",
                         min=1, max=MAX_PER_PAGE, default=default)
    v.raise_if_errors()
    if isinstance(items, list):
        start = (page - 1) * per_page
        return Page(items[start:start + per_page], page, per_page, len(items))
    return Page(list(items.paginate(page, per_page)), page, per_page, items.count())


def json_page(page: Page, body: list):
    """The JSON array of one page, with its Link and X-Total-Count headers."""
    response = jsonify(body)
    response.headers["Link"] = ", ".join(f'<{url}>; rel="{rel}"' for rel, url in page.links(external=True).items())
    response.headers["X-Total-Count"] = str(page.total)
    return response
