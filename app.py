"""The Flask app factory: gunicorn runs "app:create_app()"."""
from __future__ import annotations

import logging
import os
import sys

from flask import Flask
from htmx_flask import Htmx
from werkzeug.middleware.proxy_fix import ProxyFix

import sandbox
from auth import check_request, csrf_token
from auth.passwords import ensure_admin_password
from jobs import JobKinds, JobRunner
from models import database, open_database
from models.migrations import migrate
from settings import load_settings, read_or_create_secret


def job_kinds() -> JobKinds:
    """Every kind of job the controller runs and its handler (a kind registered twice is an error)."""
    from deploy import jobs as deploy_jobs
    from pipeline.fetch_job import abort_fetch, fetch_repository, settle_stuck_repositories
    from repos.repositories import FETCH_JOB

    kinds = JobKinds()
    kinds.register(FETCH_JOB, fetch_repository, abort=abort_fetch, sweep=settle_stuck_repositories)
    device = {"abort": deploy_jobs.abort_device_job, "sweep": deploy_jobs.settle_stuck_deployments}
    kinds.register(deploy_jobs.BUILD, deploy_jobs.build_job, **device)
    kinds.register(deploy_jobs.DEPLOY, deploy_jobs.deploy_job, **device)
    kinds.register(deploy_jobs.DEPLOY_TAG, deploy_jobs.deploy_tag_job, **device)
    kinds.register(deploy_jobs.ROLLBACK, deploy_jobs.rollback_job, **device)
    return kinds


def _sandbox_warning(signed_in: bool) -> str | None:
    """The banner every page shows when repository code does not run in a working sandbox (the reason, which
    may name paths on the server, only to a signed-in user)."""
    status = sandbox.isolation()
    if status["isolation"] == "none":
        return ("Repository code runs WITHOUT ISOLATION (THYMIS_SANDBOX=unsafe-none): it can read the database "
                "and the keys. Use only with repositories you trust.")
    if not signed_in:
        return None
    if status["isolation"] == "bwrap":
        return status["python_warning"]
    return f"Validation and rendering fail: {status['detail']}"


OPERATOR_COMMANDS = ("repos", "tokens", "admin")  # the command groups of views/cli.py


def operator_command() -> str | None:
    """The operator command group this process runs (``flask --app app tokens create x``: "tokens"), else None
    (gunicorn, ``flask run``/``shell``/``routes``, tests): an operator command needs no page or API view, so
    its start-up stays close to ``flask --version``."""
    if os.environ.get("FLASK_RUN_FROM_CLI") != "true":
        return None
    args = iter(sys.argv[1:])
    for arg in args:
        if arg in ("-A", "--app", "-e", "--env-file"):
            next(args, None)
        elif not arg.startswith("-"):
            return arg if arg in OPERATOR_COMMANDS else None
    return None


def create_app(config: dict | None = None) -> Flask:
    config = dict(config or {})
    announce = config.pop("announce_password", None)  # tests collect the first-start password here
    settings = load_settings(config)
    settings.project_path.mkdir(parents=True, exist_ok=True)
    os.chmod(settings.project_path, 0o700)
    for folder in (settings.repos_path, settings.checkouts_path):
        folder.mkdir(exist_ok=True)
    sandbox.hide_from_sandbox(settings.project_path)
    sandbox.configure(sandbox.SandboxConfig(mode=settings.sandbox, python=settings.sandbox_python,
                                            env_dir=settings.sandbox_env))
    from jobs import processes
    from sandbox import runner as sandbox_runner
    processes.keep_state_in(settings.project_path / "run")  # what jobs start, for a restart to end
    sandbox_runner.tracker = processes
    command = operator_command()
    if command not in ("tokens", "admin"):  # those touch no repository, credential or sandbox folder
        from repos.connect import startup as prepare_credentials
        prepare_credentials(settings)  # secrets key file (0600); leftover key directories of crashed fetches removed
        from pipeline.leftovers import sweep_leftovers
        sweep_leftovers(settings)  # temporary packs, exports and sandbox folders of crashed runs

    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=read_or_create_secret(settings.project_path / "secret_key"),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.base_url.startswith("https://"),
        MAX_CONTENT_LENGTH=1024 * 1024,
        THYMIS=settings,
    )
    Htmx(app)
    if settings.trust_proxy:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    open_database(settings.database_path)
    with database.connection_context():
        migrate()
        ensure_admin_password(settings, announce=announce)
        if command not in ("tokens", "admin"):
            from repos.legacy_known_hosts import migrate_device_known_hosts
            migrate_device_known_hosts(settings)  # the former data/ssh/devices_known_hosts, once

    @app.before_request
    def _open_db():
        database.connect(reuse_if_open=True)

    @app.teardown_request
    def _end_request(exc):
        # Each request thread keeps its connection (its PRAGMAs cost more than many a page's queries). Peewee
        # runs in autocommit mode, so an idle connection holds no snapshot or lock; one left inside a transaction
        # by a failure is closed, which rolls it back.
        if not database.is_closed() and database.in_transaction():
            database.close()

    app.before_request(check_request)
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.jinja_env.globals["sandbox_warning"] = _sandbox_warning
    app.jinja_env.globals["sandbox_status"] = sandbox.isolation

    if command is None:
        from deploy.reachability import reachability
        reachability.status(settings.thymis_flake_url)  # the first background check, for /healthz and saves
        from deploy.targets import TARGET_UNSET_HELP
        from views import register_views
        app.jinja_env.globals["target_help"] = TARGET_UNSET_HELP
        register_views(app)
    else:
        from views import cli
        cli.register(app)

    kinds = job_kinds() if command in (None, "repos") else JobKinds()  # tokens and admin run no job
    runner = JobRunner(settings, kinds, threads=settings.job_threads)
    app.extensions["jobs"] = runner
    if command is None:  # a server: refresh repositories when their interval or a push says so
        from repos.updates import enqueue_due_refreshes
        runner.scheduler.add("refresh schedule", lambda: enqueue_due_refreshes(settings))
    if settings.start_job_worker:
        runner.start()
    return app
