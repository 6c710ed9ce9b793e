"""The template filters that make values readable (views/ui.py)."""
import pytest

from views.ui import codeify, diff_lines, humanise, readable, setting_label


@pytest.mark.parametrize(("name", "label"), [("exposePort", "Expose port"), ("expose_port", "Expose port"),
                                             ("enableSSH", "Enable SSH"), ("httpURLPath", "Http URL path"),
                                             ("port", "Port")])
def test_setting_names_are_humanised(name, label):
    assert humanise(name) == label


def test_a_module_given_label_is_kept_and_a_capitalised_name_is_humanised():
    assert setting_label({"name": "exposePort", "display_name": "Exposeport"}) == "Expose port"
    assert setting_label({"name": "exposePort", "display_name": "exposePort"}) == "Expose port"
    assert setting_label({"name": "exposePort", "display_name": "Port shown outside"}) == "Port shown outside"


def test_backticks_become_code_and_the_rest_is_escaped():
    assert str(codeify("package `x<y>` is already provided by `repo`")) == (
        "package <code>x&lt;y&gt;</code> is already provided by <code>repo</code>")
    assert str(codeify("<b>no code</b>")) == "&lt;b&gt;no code&lt;/b&gt;"


def test_lists_and_dicts_are_lists():
    html = str(readable([{"key": "ssh-ed25519 A"}, "two"]))
    assert html == ('<ul class="values"><li><dl class="values"><dt>key</dt><dd><code>&#34;ssh-ed25519 A&#34;</code>'
                    '</dd></dl></li><li><code>&#34;two&#34;</code></li></ul>')
    assert str(readable(None)) == '<span class="hint">unset</span>'


def test_diff_lines_are_classified():
    assert diff_lines("--- a\n+++ b\n@@ -1 +1 @@\n-old\n+new\n same") == [
        ("diff-file", "--- a"), ("diff-file", "+++ b"), ("diff-hunk", "@@ -1 +1 @@"), ("diff-del", "-old"),
        ("diff-add", "+new"), ("diff-ctx", " same")]
