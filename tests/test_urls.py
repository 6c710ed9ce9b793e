import pytest

from repos.urls import GIT_WARNING, HTTP_WARNING, LOCAL_DISABLED, UrlError, parse_remote_url, validate_ref

SHA = "0123456789abcdef0123456789abcdef01234567"

# text -> (url, fetch_url, ref, rev, scheme)
ACCEPTED = {
    "https://github.com/owner/repo.git": (
        "https://github.com/owner/repo.git", "https://github.com/owner/repo.git", None, None, "https"),
    "  https://GitHub.COM:443/owner/repo/  ": (
        "https://github.com/owner/repo", "https://github.com/owner/repo", None, None, "https"),
    "https://git.example.org:8443/a/b": (
        "https://git.example.org:8443/a/b", "https://git.example.org:8443/a/b", None, None, "https"),
    "http://10.0.0.5/repo.git": ("http://10.0.0.5/repo.git", "http://10.0.0.5/repo.git", None, None, "http"),
    "https://[::1]:3000/r.git": ("https://[::1]:3000/r.git", "https://[::1]:3000/r.git", None, None, "https"),
    "ssh://git@example.org/owner/repo": (
        "ssh://git@example.org/owner/repo", "ssh://git@example.org/owner/repo", None, None, "ssh"),
    "ssh://example.org:2222/srv/repo.git": (
        "ssh://example.org:2222/srv/repo.git", "ssh://example.org:2222/srv/repo.git", None, None, "ssh"),
    "ssh://git@Example.org:22/~/repo.git": (
        "ssh://git@example.org/~/repo.git", "ssh://git@example.org/~/repo.git", None, None, "ssh"),
    "git@github.com:owner/repo.git": (
        "git@github.com:owner/repo.git", "git@github.com:owner/repo.git", None, None, "ssh"),
    "myhost:repos/x.git": ("myhost:repos/x.git", "myhost:repos/x.git", None, None, "ssh"),
    "git://example.org/repo.git": ("git://example.org/repo.git", "git://example.org/repo.git", None, None, "git"),
    "github:owner/repo": ("github:owner/repo", "https://github.com/owner/repo.git", None, None, "https"),
    "github:owner/repo/nixos-23.11": (
        "github:owner/repo", "https://github.com/owner/repo.git", "nixos-23.11", None, "https"),
    f"github:owner/repo/{SHA}": ("github:owner/repo", "https://github.com/owner/repo.git", None, SHA, "https"),
    "github:owner/repo?ref=dev": ("github:owner/repo", "https://github.com/owner/repo.git", "dev", None, "https"),
    "gitlab:owner/repo/v1.2": ("gitlab:owner/repo", "https://gitlab.com/owner/repo.git", "v1.2", None, "https"),
    "gitlab:group%2Fsub/repo": (
        "gitlab:group%2Fsub/repo", "https://gitlab.com/group/sub/repo.git", None, None, "https"),
    f"git+https://example.org/r.git?ref=main&rev={SHA.upper()}": (
        "https://example.org/r.git", "https://example.org/r.git", "main", SHA, "https"),
    "git+https://example.org/r.git?ref=refs/tags/v1": (
        "https://example.org/r.git", "https://example.org/r.git", "refs/tags/v1", None, "https"),
    "git+http://example.org/r.git": ("http://example.org/r.git", "http://example.org/r.git", None, None, "http"),
    "git+ssh://git@example.org/r.git?ref=feature/x": (
        "ssh://git@example.org/r.git", "ssh://git@example.org/r.git", "feature/x", None, "ssh"),
}


@pytest.mark.parametrize("text", list(ACCEPTED))
def test_accepted_forms_are_normalized(text):
    spec = parse_remote_url(text)
    assert (spec.url, spec.fetch_url, spec.ref, spec.rev, spec.scheme) == ACCEPTED[text]
    assert spec.username is None and spec.password is None


def test_warnings():
    assert parse_remote_url("http://h/r").warning == HTTP_WARNING
    assert parse_remote_url("git+http://h/r").warning == HTTP_WARNING
    assert parse_remote_url("git://h/r").warning == GIT_WARNING
    assert parse_remote_url("https://h/r").warning is None


def test_credentials_are_moved_out_of_the_url():
    spec = parse_remote_url("https://alice:s3cr%40t@example.org/r.git")
    assert spec.url == spec.fetch_url == "https://example.org/r.git"
    assert (spec.username, spec.password) == ("alice", "s3cr@t")
    assert "s3cr" not in repr(spec)
    token_only = parse_remote_url("https://ghp_token@github.com/o/r")
    assert token_only.url == "https://github.com/o/r" and token_only.username == "ghp_token"


def test_ssh_parts():
    spec = parse_remote_url("ssh://deploy@example.org:2222/srv/r.git")
    assert (spec.host, spec.port, spec.path, spec.ssh_user) == ("example.org", 2222, "/srv/r.git", "deploy")
    scp = parse_remote_url("git@github.com:owner/repo.git")
    assert (scp.host, scp.port, scp.path, scp.ssh_user) == ("github.com", None, "owner/repo.git", "git")


@pytest.mark.parametrize("text,url,path", [
    ("/srv/git/repo.git/", "/srv/git/repo.git", "/srv/git/repo.git"),
    ("file:///srv/git/repo.git", "file:///srv/git/repo.git", "/srv/git/repo.git"),
    ("git+file:///srv/r?ref=main", "file:///srv/r", "/srv/r"),
])
def test_local_forms_when_allowed(text, url, path):
    spec = parse_remote_url(text, allow_local=True)
    assert (spec.url, spec.fetch_url, spec.path, spec.scheme) == (url, path, path, "file")


@pytest.mark.parametrize("text", ["/srv/repo", "file:///srv/repo", "git+file:///srv/repo"])
def test_local_forms_refused_by_default(text):
    with pytest.raises(UrlError) as e:
        parse_remote_url(text)
    assert str(e.value) == LOCAL_DISABLED


REJECTED = {
    "": "Enter the repository's URL",
    "   ": "Enter the repository's URL",
    "https://example.org/my repo": "contains whitespace",
    "https://example.org/r\x00": "control character (0x00)",
    "https://example.org/r\x1b[0m": "control character (0x1b)",
    "-oProxyCommand=touch/tmp/x": "must not start with '-'",
    "ext::sh": "Git remote helpers (ext::) are not allowed",
    "fd::17": "Git remote helpers (fd::) are not allowed",
    "foo://example.org/r": "Unsupported URL scheme foo://",
    "ftp://example.org/r": "Unsupported URL scheme ftp://",
    "https:/example.org/r": "Malformed URL",
    "https://": "has no host name",
    "https:///r.git": "has no host name",
    "https://example.org": "has no repository path",
    "https://example.org/": "has no repository path",
    "https://exa_mple.org/r": "'exa_mple.org' is not a valid host name",
    "https://-x.org/r": "must not start with '-'",
    "https://[zz::1]/r": "is malformed",
    "https://example.org:99999/r": "invalid port",
    "https://example.org:abc/r": "invalid port",
    "https://example.org/r?ref=main": "cannot carry a '?' query",
    "https://example.org/r#main": "must not contain a '#' fragment",
    "ssh://u:pw@example.org/r": "must not contain a password",
    "git://u@example.org/r": "cannot carry credentials",
    "ssh://-oProxyCommand=x/r": "must not start with '-'",
    "git@host:": "has no repository path",
    "git@host:-upload-pack=x": "must not start with '-'",
    "git+https://example.org/r?dir=sub": "Unsupported parameter 'dir'",
    "git+https://example.org/r?ref=a&ref=b": "given twice",
    "git+https://example.org/r?rev=abc123": "not a full 40-character commit id",
    "git+https://example.org/r?ref=a..b": "must not contain '..'",
    "git+ftp://example.org/r": "Unsupported URL scheme git+ftp://",
    "github:owner": "must look like github:owner/repo",
    "github:/repo": "must look like github:owner/repo",
    "github:ow ner/repo": "contains whitespace",
    "github:own$er/repo": "not a valid github owner or repository name",
    "github:o/r/bad..ref": "must not contain '..'",
    f"github:o/r/{SHA}?rev={SHA}": "names a commit twice",
    "sourcehut:~user/repo": "Flake references of type sourcehut: are not supported",
    "path:/srv/x": "Flake references of type path: are not supported",
    "relative/path": "is not a repository URL",
    "repo": "is not a repository URL",
    "javascript:alert(1)": "'javascript:' is not an SSH host",
    "JavaScript:alert(document.cookie)//x": "'javascript:' is not an SSH host",
    "javascript.:alert(1)": "'javascript:' is not an SSH host",
    "javascript:void0": "'javascript:' is not an SSH host",
    "data:text/html,<script>x</script>": "'data:' is not an SSH host",
    "myhost:repo(1)": "'myhost:' is not an SSH host",
}


@pytest.mark.parametrize("text", list(REJECTED))
def test_rejected_with_a_precise_message(text):
    with pytest.raises(UrlError) as e:
        parse_remote_url(text)
    assert REJECTED[text] in str(e.value)


@pytest.mark.parametrize("text,message", [
    ("relative/path", "Relative paths are not allowed"),
    ("./repo", "Relative paths are not allowed"),
    ("file://host/srv/r", "must not name a host"),
    ("file://", "needs an absolute path"),
    ("/", "'/' is not a repository path"),
])
def test_local_rejections(text, message):
    with pytest.raises(UrlError) as e:
        parse_remote_url(text, allow_local=True)
    assert message in str(e.value)


def test_url_error_is_a_value_error():
    assert issubclass(UrlError, ValueError)


@pytest.mark.parametrize("ref", ["main", "feature/x", "v1.2.3", "release-2024.01", "refs/heads/main",
                                 "refs/tags/v1", "nixos-23.11", "a@b", "deadbeef"])
def test_valid_refs(ref):
    assert validate_ref(ref) == ref


def test_full_commit_ids_are_lower_cased():
    assert validate_ref(SHA.upper()) == SHA


@pytest.mark.parametrize("ref,message", [
    ("", "empty"),
    ("my branch", "spaces or control characters"),
    ("a\tb", "spaces or control characters"),
    ("a~1", "contains '~'"),
    ("a^", "contains '^'"),
    ("a:b", "contains ':'"),
    ("a?", "contains '?'"),
    ("a*", "contains '*'"),
    ("a[b", "contains '['"),
    ("a\\b", "contains '\\\\'"),
    ("a..b", "must not contain '..'"),
    ("-x", "must not start with '-'"),
    ("@", "must not be '@'"),
    ("a@{1}", "contain '@{'"),
    ("/a", "must not start or end with '/'"),
    ("a/", "must not start or end with '/'"),
    ("a//b", "contain '//'"),
    ("a.", "must not end with '.'"),
    (".hidden", "part starting with '.'"),
    ("a/.b", "part starting with '.'"),
    ("a.lock", "ending with '.lock'"),
    ("a.lock/b", "ending with '.lock'"),
    ("HEAD", "Leave the ref empty"),
    ("x" * 256, "longer than 255"),
])
def test_invalid_refs(ref, message):
    with pytest.raises(ValueError) as e:
        validate_ref(ref)
    assert message in str(e.value)
