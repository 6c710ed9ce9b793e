# The Thymis controller as a Nix package.
#
# Layout of the result:
#   $out/share/thymis-controller/    the application's source tree (app.py, settings.py,
#                                    the Python packages, templates/, static/ with the
#                                    pinned htmx asset), byte-compiled
#   $out/bin/thymis-controller       gunicorn serving app:create_app(); extra arguments
#                                    go to gunicorn (--bind, --workers, ...)
#   $out/bin/thymis-controller-cli   the operator commands, `flask --app app ...`
#                                    (e.g. `thymis-controller-cli tokens create NAME`)
#
# Why a source tree and not a wheel in site-packages: Flask looks for templates/ and
# static/ next to app.py, and those live at the repository root, outside any Python
# package. So the whole tree is installed as one directory, and the two wrappers put
# it first on sys.path (gunicorn --pythonpath, flask --app <dir>/app.py), ahead of the
# working directory. The working directory itself is left alone, so relative paths
# given to the application (THYMIS_PROJECT_PATH=./data) mean what they mean on a laptop.
#
# pyproject.toml stays the one place for dependencies: its [project] version and
# dependencies are read here, and each requirement is mapped by its normalised name
# to the python3Packages attribute of the same name (or to a package built in this
# folder, see `localPythonPackages`).
{
  lib,
  stdenvNoCC,
  python3,
  python313,
  bubblewrap,
  buildEnv,
  fetchurl,
  nix,
  git,
  openssh,
  mkpasswd,
  gnupg,
  runtimeShell,
}:

let
  pyproject = builtins.fromTOML (builtins.readFile ../pyproject.toml);

  # "Flask_Foo[extra]>=1.0; python_version<'3.12'" -> "flask-foo"
  requirementName =
    requirement:
    let
      m = builtins.match "[[:space:]]*([A-Za-z0-9][A-Za-z0-9._-]*).*" requirement;
    in
    if m == null then
      throw "thymis-controller: cannot read the requirement `${requirement}` in pyproject.toml"
    else
      lib.toLower (builtins.replaceStrings [ "_" "." ] [ "-" "-" ] (builtins.head m));

  dependencyNames = map requirementName (pyproject.project.dependencies or [ ]);

  # Runtime dependencies that nixpkgs does not have.
  localPythonPackages = ps: {
    htmx-flask = ps.callPackage ./htmx-flask.nix { };
  };

  pythonPackageFor =
    ps: name:
    (localPythonPackages ps).${name} or ps.${name} or (throw
      "thymis-controller: the dependency `${name}` (pyproject.toml) has no package in python3Packages; build it in nix/ and add it to localPythonPackages in nix/package.nix"
    );

  pythonEnv = python3.withPackages (ps: map (pythonPackageFor ps) dependencyNames);

  # Repository code runs in the bubblewrap sandbox on Python 3.13 (what Thymis uses), with only the packages of
  # sandbox/requirements.txt importable (nixpkgs' versions of them): a folder of their site-packages, bound
  # read-only into the sandbox as THYMIS_SANDBOX_ENV. Never the web app's environment.
  sandboxRequirementNames = map requirementName (
    builtins.filter (line: builtins.match "[[:space:]]*[A-Za-z0-9].*" line != null) (
      lib.splitString "\n" (builtins.readFile ../sandbox/requirements.txt)
    )
  );
  sandboxPackages = map (
    name:
    python313.pkgs.${name} or (throw
      "thymis-controller: the sandbox requirement `${name}` (sandbox/requirements.txt) has no package in python313Packages"
    )
  ) sandboxRequirementNames;
  sandboxEnv = buildEnv {
    name = "thymis-controller-sandbox-env";
    paths = sandboxPackages;
    pathsToLink = [ "/${python313.sitePackages}" ];
  };
  sandboxSitePackages = "${sandboxEnv}/${python313.sitePackages}";

  # The pinned htmx release, from its npm package (the same file scripts/fetch-htmx.sh
  # installs for development).
  htmx = rec {
    version = "2.0.8";
    # SHA-256 (hex) of package/dist/htmx.min.js inside the tarball; checked at build time.
    fileSha256 = "22283ef68cb7545914f0a88a1bdedc7256a703d1d580c1d255217d0a50d31313";
    # The hash of the tarball itself was derived from the file `npm pack htmx.org@2.0.8`
    # writes:
    #   sha256sum htmx.org-2.0.8.tgz
    #     51351b2ac4b3bc065692a4dd1349a82f90bf7c526134937ccb25d3932c8ce954
    #   nix hash to-sri --type sha256 51351b2a...   ->   the `hash` below
    # (its sha512 matches the registry's dist.integrity, `npm view htmx.org@2.0.8 dist`).
    tarball = fetchurl {
      url = "https://registry.npmjs.org/htmx.org/-/htmx.org-${version}.tgz";
      hash = "sha256-UTUbKsSzvAZWkqTdE0moL5C/fFJhNJN8yyXTkyyM6VQ=";
    };
  };

  # Only what the application needs at run time; development and packaging files stay out.
  excludedTopLevel = [
    ".git"
    ".ci"
    ".venv"
    ".pytest_cache"
    "bench"
    "data"
    "docs"
    "result"
    "scripts"
    "tests"
  ];

  src = builtins.path {
    name = "thymis-controller-source";
    path = ../.;
    filter =
      path: type:
      let
        relative = lib.removePrefix (toString ../. + "/") (toString path);
        topLevel = builtins.head (lib.splitString "/" relative);
        base = baseNameOf path;
      in
      !(builtins.elem topLevel excludedTopLevel)
      && base != "__pycache__"
      && !(lib.hasSuffix ".pyc" base)
      && !(lib.hasSuffix ".egg-info" base)
      && !(type == "symlink" && lib.hasPrefix "result" base);
  };

  binPath = lib.makeBinPath [
    nix
    git
    openssh
    gnupg # gpg --verify for OpenPGP allowed signers (pipeline/openpgp.py)
    bubblewrap
    mkpasswd # hashes password secrets at delivery (secret_store/delivery.py)
  ];
in
stdenvNoCC.mkDerivation {
  pname = "thymis-controller";
  version = pyproject.project.version;
  inherit src;

  dontConfigure = true;
  dontBuild = true;

  installPhase = ''
    runHook preInstall

    app=$out/share/thymis-controller
    mkdir -p "$app" "$out/bin"
    cp -R . "$app"
    chmod -R u+w "$app"

    mkdir -p "$app/static"
    tar -xzf ${htmx.tarball} --to-stdout package/dist/htmx.min.js > "$app/static/htmx.min.js"
    echo "${htmx.fileSha256}  $app/static/htmx.min.js" | sha256sum --check --strict -

    # The store is read-only, so Python could not write its bytecode cache later.
    # checked-hash: the cache stays valid although the store resets file times.
    ${pythonEnv}/bin/python3 -m compileall -q --invalidation-mode checked-hash "$app"

    for wrapper in thymis-controller thymis-controller-cli; do
      substitute ${./bin}/$wrapper.in "$out/bin/$wrapper" \
        --subst-var-by shell ${runtimeShell} \
        --subst-var-by binPath ${binPath} \
        --subst-var-by pythonEnv ${pythonEnv} \
        --subst-var-by sandboxPython ${python313.interpreter} \
        --subst-var-by sandboxEnv ${sandboxSitePackages} \
        --subst-var-by appDir "$app"
      chmod +x "$out/bin/$wrapper"
    done

    runHook postInstall
  '';

  doInstallCheck = true;
  installCheckPhase = ''
    runHook preInstallCheck
    # The application and every dependency it imports at start-up load from the
    # installed tree (importing app must not need a database or a network).
    (
      cd "$TMPDIR"
      export HOME="$TMPDIR" THYMIS_PROJECT_PATH="$TMPDIR/data"
      PYTHONPATH="$out/share/thymis-controller" ${pythonEnv}/bin/python3 -c 'import app'
    )
    "$out/bin/thymis-controller" --version
    runHook postInstallCheck
  '';

  passthru = {
    inherit pythonEnv htmx sandboxEnv sandboxRequirementNames;
    sandboxPython = python313.interpreter;
    # Everything this package downloads, for tests that check the pinned hashes.
    fetchedSources = {
      htmx = htmx.tarball;
      htmx-flask = (python3.pkgs.callPackage ./htmx-flask.nix { }).src;
    };
  };

  meta = {
    description = "Thymis-compatible controller: external module repositories, device configurations, Nix builds";
    mainProgram = "thymis-controller";
    platforms = lib.platforms.linux;
  };
}
