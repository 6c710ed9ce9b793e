"""Settings are checked against the module's declared schema, with errors naming the setting's path."""
import pytest
from werkzeug.datastructures import MultiDict

from configs.forms import change_rows, read_settings, settings_source
from configs.settings_schema import check_settings
from validation import Validation

SCHEMA = [
    {"name": "enabled", "display_name": "Enabled", "type": "bool", "default": False},
    {"name": "interval", "display_name": "Interval", "type": "int", "default": 60},
    {"name": "greeting", "display_name": "Greeting", "type": "string", "default": "hi"},
    {"name": "state_dir", "display_name": "State dir", "type": "path", "default": None},
    {"name": "tool", "display_name": "Tool", "type": "package", "default": None},
    {"name": "notes", "display_name": "Notes", "type": "textarea", "default": None},
    {"name": "mode", "display_name": "Mode", "type": "select-one", "default": "a",
     "options": [{"label": "A", "value": "a"}, {"label": "B", "value": "b"}]},
    {"name": "users", "display_name": "Users", "type": "list", "default": [], "element_name": "User",
     "settings": [{"name": "login", "display_name": "Login", "type": "string", "default": None},
                  {"name": "admin", "display_name": "Admin", "type": "bool", "default": False}]},
]


def check(values, as_form=False):
    """``values`` as a JSON object, or (as_form) as the generated settings form would send them."""
    source = settings_source(MultiDict({f"s.{k}": v for k, v in values.items()})) if as_form else values
    v = Validation(source, "modules[0].settings")
    clean = check_settings(SCHEMA, v)
    return clean, {e.field: e.message for e in v.errors}


def test_valid_values_of_every_type_are_kept():
    values = {"enabled": True, "interval": 5, "greeting": 'say "hi" ${x}', "state_dir": "/var/lib/x",
              "tool": "python3Packages.flask", "notes": "a\nb", "mode": "b",
              "users": [{"login": "ann", "admin": True}]}
    clean, errors = check(values)
    assert errors == {} and clean == values


@pytest.mark.parametrize("values, field, message", [
    ({"enabled": "yes"}, "enabled", "Enabled must be true or false"),
    ({"interval": "5"}, "interval", "Interval must be a whole number"),
    ({"interval": True}, "interval", "Interval must be a whole number"),
    ({"interval": 2 ** 70}, "interval", "Interval is too large"),
    ({"greeting": 3}, "greeting", "Greeting must be text"),
    ({"state_dir": "relative/dir"}, "state_dir", "State dir must be an absolute path starting with /"),
    ({"tool": "pkgs; rm -rf /"}, "tool", "Tool must be a package attribute name"),
    ({"mode": "c"}, "mode", "Mode must be one of: a, b"),
    ({"users": {"login": "x"}}, "users", "Users must be a list"),
    ({"users": [{"admin": True}]}, "users[0].login", "Login is required"),
    ({"users": [{"login": "x", "shell": "zsh"}]}, "users[0].shell", "unknown setting 'shell'"),
    ({"colour": "red"}, "colour", "unknown setting 'colour'"),
])
def test_each_bad_value_is_named_with_its_path(values, field, message):
    _, errors = check(values)
    assert list(errors) == [f"modules[0].settings.{field}"]
    assert errors[f"modules[0].settings.{field}"].startswith(message)


def test_form_strings_are_converted_and_empty_means_unset():
    clean, errors = check({"enabled": "true", "interval": "15", "greeting": "", "mode": "b"}, as_form=True)
    assert errors == {} and clean == {"enabled": True, "interval": 15, "mode": "b"}
    _, errors = check({"interval": "fifteen"}, as_form=True)
    assert errors == {"modules[0].settings.interval": "Interval must be a whole number"}
    _, errors = check({"interval": str(2 ** 64)}, as_form=True)
    assert errors == {"modules[0].settings.interval": "Interval is too large"}


def test_a_generated_form_reads_back_with_list_rows():
    form = MultiDict([("s.enabled", "false"), ("s.enabled", "true"), ("s.interval", "7"), ("s.users.count", "2"),
                      ("s.users.0.login", "ann"), ("s.users.0.admin", "false"),
                      ("s.users.1.login", "bob"), ("s.users.1.admin", "false"), ("s.users.1.admin", "true")])
    values = read_settings(form, SCHEMA)
    assert values == {"enabled": "true", "interval": "7",
                      "users": [{"login": "ann", "admin": "false"}, {"login": "bob", "admin": "true"}]}
    assert len(change_rows(values, SCHEMA, "add-row:users")["users"]) == 3
    assert change_rows(values, SCHEMA, "remove-row:users:0")["users"] == [{"login": "bob", "admin": "true"}]
    assert change_rows(values, SCHEMA, "add-row:greeting") == values


def test_a_forged_row_count_is_capped():
    from configs.forms import MAX_ROWS
    values = read_settings(MultiDict([("s.users.count", "100000000")]), SCHEMA)
    assert len(values["users"]) == MAX_ROWS
