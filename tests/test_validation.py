"""The validation object: typed getters, paths of nested errors, every error at once, form and JSON alike."""
import pytest
from werkzeug.datastructures import MultiDict

from configs.inputs import parse_tag
from errors import InputError
from repos.inputs import RepositoryInput
from validation import MAX_ROWS, FormSource, Validation


def errors_of(parse, data) -> list[tuple[str, str, str]]:
    with pytest.raises(InputError) as caught:
        parse(data)
    return [(e.field, e.message, e.code) for e in caught.value.errors]


def parse_server(data) -> dict:
    """A small parser using every getter, as the real parsers do."""
    v = Validation.of(data)
    v.unknown({"name", "port", "mode", "debug", "tags", "limits", "users", "csrf_token"})
    values = {
        "name": v.text("name", required="a name is required", max_len=8, too_long="the name is too long",
                       control="the name contains control characters"),
        "port": v.integer("port", min=1, max=65535, message="the port must be a number from 1 to 65535"),
        "mode": v.choice("mode", ["fast", 2], message="the mode must be fast or 2"),
        "debug": v.boolean("debug", message="debug must be true or false"),
        "tags": v.list("tags", message="tags must be a list of strings"),
    }
    limits = v.nested("limits", message="limits must be an object")
    if limits is not None:
        values["limits"] = limits.integer("cpu", message="cpu must be a whole number", default=1)
    users = v.objects("users", message="users must be a list", item_message="each user must be an object")
    if users is not None:
        values["users"] = [u.text("login", required="a login is required") if u else None for u in users]
    v.raise_if_errors()
    return values


def test_typed_getters_return_clean_values():
    assert parse_server({"name": " web ", "port": 8080, "mode": 2, "debug": False, "tags": ["a", "b", "a"],
                         "limits": {}, "users": [{"login": "ann"}]}) == {
        "name": "web", "port": 8080, "mode": 2, "debug": False, "tags": ["a", "b"], "limits": 1, "users": ["ann"]}


def test_every_error_is_collected_and_raised_once_with_its_path():
    assert errors_of(parse_server, {"name": "x" * 9, "port": True, "mode": "slow", "debug": "yes", "tags": [1],
                                    "limits": {"cpu": "2"}, "users": [{"login": ""}, 5], "colour": "red"}) == [
        ("colour", "unknown field 'colour'", "invalid"),
        ("name", "the name is too long", "invalid"),
        ("port", "the port must be a number from 1 to 65535", "invalid"),
        ("mode", "the mode must be fast or 2", "invalid"),
        ("debug", "debug must be true or false", "invalid"),
        ("tags", "tags must be a list of strings", "invalid"),
        ("limits.cpu", "cpu must be a whole number", "invalid"),
        ("users[0].login", "a login is required", "required"),
        ("users[1]", "each user must be an object", "invalid"),
    ]


@pytest.mark.parametrize("body, expected", [
    ({}, ("name", "a name is required", "required")),
    ({"name": "   "}, ("name", "a name is required", "required")),
    ({"name": 5}, ("name", "name must be a string", "invalid")),
    ({"name": "a\x7fb"}, ("name", "the name contains control characters", "invalid")),
    ({"name": "a", "port": 0}, ("port", "the port must be a number from 1 to 65535", "invalid")),
    ({"name": "a", "limits": [1]}, ("limits", "limits must be an object", "invalid")),
    ({"name": "a", "users": {"login": "x"}}, ("users", "users must be a list", "invalid")),
])
def test_each_getter_names_its_problem(body, expected):
    assert errors_of(parse_server, body) == [expected]


def test_nested_paths_go_as_deep_as_the_input():
    v = Validation({"modules": [{"settings": {"port": "x"}}]})
    module = next(iter(v.objects("modules", message="", item_message="")))
    module.nested("settings").integer("port", message="Port must be a whole number")
    assert [(e.field, e.message) for e in v.errors] == [("modules[0].settings.port", "Port must be a whole number")]
    with pytest.raises(InputError) as caught:
        v.raise_if_errors()
    assert caught.value.status == 422 and caught.value.first.field == "modules[0].settings.port"


def form(*pairs) -> MultiDict:
    return MultiDict([*pairs, ("csrf_token", "t"), ("action", "save")])


def test_a_form_and_a_json_body_give_the_same_values():
    submitted = form(("name", " web "), ("port", "8080"), ("mode", "2"), ("debug", "false"), ("debug", "true"),
                     ("tags-present", "1"), ("tags", "a"), ("tags", "b"), ("tags", "a"), ("limits_cpu", "3"))
    assert parse_server(submitted) == {"name": "web", "port": 8080, "mode": 2, "debug": True, "tags": ["a", "b"],
                                       "limits": 3}
    assert parse_server(form(("name", "web"), ("tags-present", "1")))["tags"] == []


def test_a_form_and_a_json_body_give_the_same_errors():
    body = {"name": "", "port": "eighty", "mode": "slow", "debug": "maybe", "limits": {"cpu": "many"}}
    submitted = form(("name", ""), ("port", "eighty"), ("mode", "slow"), ("debug", "maybe"), ("limits_cpu", "many"))
    assert errors_of(parse_server, submitted) == errors_of(parse_server, body)
    assert errors_of(parse_server, submitted)[0] == ("name", "a name is required", "required")


def test_a_form_spells_rows_with_a_count_capped_against_forgery():
    rows = FormSource(MultiDict([("s.users.count", "2"), ("s.users.0.login", "ann"), ("s.users.1.login", "")]),
                      prefix="s.", sep=".")
    v = Validation(rows, "settings")
    users = v.objects("users", message="", item_message="")
    assert [u.text("login", required="a login is required") for u in users] == ["ann", None]
    assert [(e.field, e.message) for e in v.errors] == [("settings.users[1].login", "a login is required")]
    forged = Validation(FormSource(MultiDict([("s.users.count", "999999999")]), prefix="s.", sep="."))
    assert len(forged.objects("users", message="", item_message="")) == MAX_ROWS


def test_blank_is_unset_only_where_the_form_says_so():
    settings = Validation(FormSource(MultiDict([("s.port", ""), ("s.name", "")]), "s.", ".", blank_is_unset=True))
    assert settings.integer("port", message="bad") is None and not settings.has("name") and settings.ok
    plain = Validation(MultiDict([("port", "")]))
    assert plain.integer("port", message="bad") is None and [e.message for e in plain.errors] == ["bad"]


def test_a_panel_not_chosen_is_dropped_from_a_form_but_kept_in_json():
    for data, username in ((MultiDict([("access_kind", "none"), ("access_username", "ann")]), None),
                           ({"access": {"kind": "none", "username": "ann"}}, "ann")):
        access = Validation(data).nested("access")
        access.panel(access.raw("kind") == "https-token", "username")
        assert access.raw("username") == username


def test_only_and_without_hide_fields_instead_of_reporting_them():
    body = {"url": "https://example.org/r.git", "display_name": "x", "colour": "red"}
    Validation(body).only("url").raise_if_errors()
    v = Validation(body).without("colour")
    v.unknown({"url", "display_name"})
    assert v.ok
    v = Validation(body)
    v.unknown({"url"})
    assert [e.field for e in v.errors] == ["display_name", "colour"]


def test_real_parsers_read_forms_without_a_flag():
    assert parse_tag(form(("name", "lab"), ("display_name", "Lab"), ("priority", " 70 ")), catalog={},
                     existing=None) == {"name": "lab", "display_name": "Lab", "priority": 70}
    tag = errors_of(lambda d: parse_tag(d, catalog={}, existing=None), form(("name", "lab"), ("display_name", ""),
                                                                           ("priority", "7x")))
    assert tag == errors_of(lambda d: parse_tag(d, catalog={}, existing=None),
                            {"name": "lab", "display_name": "", "priority": "7x"})
    assert [field for field, _, _ in tag] == ["display_name", "priority"]
    repo = RepositoryInput.parse(form(("display_name", "Mods"), ("url", "https://example.org/m.git"), ("ref", ""),
                                      ("access_kind", "https-token"), ("access_username", ""),
                                      ("access_token", "s3cret")), allow_local=False)
    assert repo.access.kind == "https-token" and repo.access.token == "s3cret" and repo.ref_given and not repo.ref
