"""thymis_controller.nix: Python values become Nix text that means exactly them."""

import pytest

from tests.support.nix import needs_nix, nix_eval_json
from thymis_controller.nix import (
    NixError,
    NixPackage,
    NixPath,
    RawNix,
    convert_python_value_to_nix,
    nix_attr_name,
    nix_attr_path,
    nix_package,
    nix_string,
    to_nix,
)

INJECTION_STRINGS = [
    'plain',
    'quote " inside',
    'backslash \\ inside',
    'ends with backslash \\',
    '${builtins.currentSystem}',
    '$${not interpolated}',
    '\\${escaped already}',
    '$\\{x}',
    '"; malicious = true; x = "',
    "'' indented string end",
    "multi\nline\r\ntext\twith tab",
    "dollar at end $",
    "unicode ✓ ünï",
    "}; imports = [ /etc/passwd ]; {",
]


def test_scalars():
    assert to_nix(None) == "null"
    assert to_nix(True) == "true" and to_nix(False) == "false"
    assert to_nix(42) == "42"
    assert to_nix(-3) == "(-3)"
    assert to_nix("a") == '"a"'


def test_string_escaping_text():
    assert nix_string('a"b') == '"a\\"b"'
    assert nix_string("a\\b") == '"a\\\\b"'
    assert nix_string("${x}") == '"\\${x}"'
    assert nix_string("a\nb") == '"a\\nb"'


def test_attribute_names_are_quoted_unless_identifiers():
    assert nix_attr_name("enable") == "enable"
    assert nix_attr_name("with-dash_and'quote") == "with-dash_and'quote"
    assert nix_attr_name("has space") == '"has space"'
    assert nix_attr_name("1starts-with-digit") == '"1starts-with-digit"'
    assert nix_attr_name("in") == '"in"'  # keyword
    assert nix_attr_name('x"; y = 1; "') == '"x\\"; y = 1; \\""'


def test_refuses_values_without_a_safe_form():
    for bad in ["nul\0byte", float("nan"), float("inf"), 2**64, object(), {1: "non-string key"}]:
        with pytest.raises(NixError):
            to_nix(bad)


def test_package_and_path_values():
    assert nix_package("htop") == "pkgs.htop"
    assert nix_package("python3Packages.flask") == "pkgs.python3Packages.flask"
    assert to_nix(NixPackage("pkgs.hello")) == "pkgs.hello"
    for bad in ["", "htop; rm", "a b", "x.${y}", "../x", "a.(b)"]:
        with pytest.raises(NixError):
            nix_package(bad)
    # paths are strings, never path literals (a literal would copy the file into the store)
    assert to_nix(NixPath("/etc/ssl/cert.pem")) == '"/etc/ssl/cert.pem"'
    with pytest.raises(NixError):
        to_nix(NixPath("relative/path"))


def test_attribute_paths_written_by_module_authors_are_checked():
    path = 'services.nginx.virtualHosts."example.com".root'
    assert nix_attr_path(path) == path
    for bad in ["", "a..b", "a = 1; b", 'a."${x}"', "a.if"]:
        with pytest.raises(NixError):
            nix_attr_path(bad)


def test_raw_nix_is_only_written_when_asked_for():
    assert to_nix(RawNix("pkgs.hello")) == "(pkgs.hello)"
    assert to_nix("pkgs.hello") == '"pkgs.hello"'


def test_thymis_name_writes_thymis_layout():
    # Thymis's layout: list elements one per line, nested attribute sets flattened to dotted paths
    value = {"a": [1, "x"], "b": {"c": True}}
    assert convert_python_value_to_nix(value) == '{\n  a = [\n  1\n  "x"\n];\n  b.c = true;\n}'
    assert nix_eval_json(convert_python_value_to_nix(value)) == value


@needs_nix
@pytest.mark.parametrize("text", INJECTION_STRINGS)
def test_strings_round_trip_through_real_nix(text):
    assert nix_eval_json(to_nix(text)) == text


@needs_nix
def test_nested_values_round_trip_through_real_nix():
    value = {
        "name": 'say "hi" ${x}',
        "list": [1, -2, 3.5, -0.25, 1e-05, 1e16, True, None, "s", [], {}],
        "nested": {"with space": {"in": "keyword key"}, "ok": False},
        "x\"; evil = 1; \"": "quoted key",
    }
    assert nix_eval_json(to_nix(value)) == value


@needs_nix
def test_negative_numbers_in_lists_stay_separate_elements():
    assert nix_eval_json(to_nix([5, -3])) == [5, -3]
