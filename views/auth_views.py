from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, redirect, render_template, request, session, url_for

from auth.passwords import check_login
from auth.throttle import login_throttle
from views.rendering import settings

blueprint = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    """Only a path on this site: no host, no scheme, nothing a browser would strip or reinterpret."""
    if target and target.startswith("/") and not target.startswith("//") \
            and not any(c <= " " or c == "\\" for c in target):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("overview.index")


@blueprint.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "GET":
        return render_template("login.html", next=request.args.get("next"))
    client = request.remote_addr or "unknown"
    username = request.form.get("username", "")
    wait = login_throttle.wait_seconds(client)
    if wait:
        return render_template("login.html", error=f"too many failed logins; try again in {wait} s",
                               next=request.form.get("next"),
                               username=username), 429, {"Retry-After": str(wait)}
    if check_login(settings(), username, request.form.get("password", "")):
        login_throttle.succeeded(client)
        session.clear()
        session["user"] = settings().auth_basic_username
        session.permanent = True
        return redirect(_safe_next(request.form.get("next")))
    login_throttle.failed(client)
    return render_template("login.html", error="wrong user name or password",
                           next=request.form.get("next"), username=username), 401


@blueprint.post("/logout")
def logout():
    session.clear()
    return redirect(url_for("auth.login"))

