"""thymis_controller.nix.text: the one set of Nix text rules the SDK and the controller's deploy code share."""
from __future__ import annotations

import pytest

from thymis_controller.nix.text import KEYWORDS, NAME_PATTERN, NixError, attr_path_fragment, nix_attr_name, nix_string


def test_flake_url_fragments_quote_only_what_needs_it():
    assert attr_path_fragment("nixosConfigurations", "kiosk-1", "config") == "nixosConfigurations.kiosk-1.config"
    assert attr_path_fragment("a", "b.c", "d e") == 'a."b.c"."d e"'
    assert attr_path_fragment("x", 'q"${y}') == 'x."q\\"\\${y}"'


def test_keywords_are_quoted_as_attribute_names_and_are_not_names():
    for keyword in KEYWORDS:
        assert nix_attr_name(keyword) == f'"{keyword}"'
        assert NAME_PATTERN.match(keyword)  # so every caller that checks names refuses KEYWORDS as well
    assert nix_attr_name("dev1") == "dev1"


@pytest.mark.parametrize("name, ok", [("dev1", True), ("_x", True), ("a-b_c", True), ("1dev", False),
                                      ("-x", False), ("a.b", False), ("a" * 63, True), ("a" * 64, False),
                                      ("dev\n", False)])
def test_names(name, ok):
    assert bool(NAME_PATTERN.match(name)) is ok  # callers use match()


def test_nul_has_no_nix_form():
    with pytest.raises(NixError):
        nix_string("a\0b")
