# htmx-flask, a small Flask extension that the controller depends on. It is
# not packaged in nixpkgs, so it is built here from its PyPI source
# distribution, pinned by hash.
#
# The URL is the one PyPI's simple index lists for this file
# (https://pypi.org/simple/htmx-flask/); the hash is the SHA-256 of that file,
#   sha256sum htmx_flask-0.1.0.tar.gz
#     393defc4a5a20a006fc4a96254f6a3ee8522789e7d886d22a02486ecb9d176af
#   nix hash to-sri --type sha256 393defc4...   ->   the `hash` below
# and was checked with `nix-prefetch-url --type sha256 <url>`.
{
  lib,
  buildPythonPackage,
  fetchurl,
  hatchling,
  flask,
}:

buildPythonPackage rec {
  pname = "htmx-flask";
  version = "0.1.0";
  pyproject = true;

  src = fetchurl {
    url = "https://files.pythonhosted.org/packages/5e/bb/d522908000e391109cf168e1d0fe8c09b0f1173571dcf2bbcb1ca94a085c/htmx_flask-${version}.tar.gz";
    hash = "sha256-OT3vxKWiCgBvxKliVPaj7oUieJ59iG0ioCSG7LnRdq8=";
  };

  build-system = [ hatchling ];
  dependencies = [ flask ];

  # The upstream test suite needs extra test-only packages; importing the
  # module is the check that matters for the controller.
  doCheck = false;
  pythonImportsCheck = [ "htmx_flask" ];

  meta = {
    description = "htmx support for Flask";
    homepage = "https://github.com/sponsfreixes/htmx-flask";
    license = lib.licenses.mit;
  };
}
