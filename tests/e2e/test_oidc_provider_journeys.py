"""Sign-in against a real OpenID Connect provider: node-oidc-provider, the certified
library (npm `oidc-provider`, pinned in package.json), on its default settings.

Unlike the suite's fake, it puts email and name only in UserInfo, never in the ID token,
and sends `iss` with every authorization response (RFC 9207). The tests start it with
node (tests/e2e/oidc_provider.mjs) on 127.0.0.1 with one client registered for this
module's live app, and walk its development login and consent pages in Chromium.
Skipped only when node is not installed.
"""

from __future__ import annotations

import json
import re
import selectors
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from tests.conftest import make_app
from tests.e2e.conftest import E2E_DIR, Account, LiveServer, Ui, _ErrorRecorder, expect
from webapp.accounts.models import OAuthIdentity, User
from webapp.accounts.services import UNCONFIRMED_ACCOUNT
from webapp.config import oauth_providers_from_env
from webapp.db import db, utcnow

NODE = shutil.which("node")
SCRIPT = E2E_DIR / "oidc_provider.mjs"
PACKAGE = E2E_DIR / "node_modules" / "oidc-provider" / "package.json"
START_TIMEOUT = 30  # seconds for node to load the library and answer

CLIENT_ID, CLIENT_SECRET = "marquee-e2e", "e2e-client-secret"
# Logins at the provider's development login page, and the claims it holds for each.
ACCOUNTS = {
    "sam": {"email": "sam.okafor@example.com", "email_verified": True, "name": "Sam Okafor"},
    "riley": {"email": "riley@example.com", "email_verified": True, "name": "Riley at the provider"},
    "jo": {"email": "jo@example.com", "email_verified": True, "name": "Jo at the provider"},
}


class NodeOIDCProvider:
    """node-oidc-provider in a child process; its output goes to a temporary log."""

    def __init__(self, redirect_uri: str) -> None:
        self.redirect_uri = redirect_uri
        self.issuer = ""
        self.log = tempfile.TemporaryFile(mode="w+")
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> NodeOIDCProvider:
        settings = {
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "redirect_uri": self.redirect_uri,
            "accounts": ACCOUNTS,
        }
        assert NODE is not None
        self.process = subprocess.Popen(
            [NODE, str(SCRIPT), json.dumps(settings)],
            cwd=E2E_DIR,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
        )
        assert self.process.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(self.process.stdout, selectors.EVENT_READ)
            ready = selector.select(timeout=START_TIMEOUT)
        line = self.process.stdout.readline() if ready else ""
        if not line:
            self.stop()
            raise RuntimeError(f"node-oidc-provider did not start:\n{self.output()}")
        self.issuer = json.loads(line)["issuer"]
        return self

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read()

    def stop(self) -> None:
        if self.process is not None:
            assert self.process.stdin is not None
            self.process.stdin.close()  # the script exits when its input ends
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            assert self.process.stdout is not None
            self.process.stdout.close()
            self.process = None
        self.log.close()


@pytest.fixture(scope="module")
def live_server(app: Flask, database_url: str, _e2e_ready: None) -> Iterator[LiveServer]:
    """This module's live app, signing in with node-oidc-provider as "Node OIDC" (it
    replaces the session's live server, whose provider is the fake)."""
    if NODE is None:
        pytest.skip("node is not installed: these journeys run node-oidc-provider")
    if not PACKAGE.exists():
        pytest.fail("oidc-provider is not installed: run `make e2e-deps` (npm ci in tests/e2e)", pytrace=False)
    from werkzeug.serving import WSGIRequestHandler, make_server

    class QuietHandler(WSGIRequestHandler):
        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            pass

    # The server's port is the redirect URI the provider registers, and the provider's
    # address is what the app is configured with: bind first, build the app second.
    served: dict[str, Any] = {}
    server = make_server(
        "127.0.0.1",
        0,
        lambda environ, start_response: served["app"](environ, start_response),
        threaded=True,
        request_handler=QuietHandler,
    )
    url = f"http://127.0.0.1:{server.server_port}"
    provider = NodeOIDCProvider(f"{url}/auth/nodeoidc/callback").start()
    live_app = make_app(
        database_url,
        WTF_CSRF_ENABLED=True,
        RATELIMIT_ENABLED=False,
        OAUTH_PROVIDERS=oauth_providers_from_env(
            {
                "OAUTH_NODEOIDC_CLIENT_ID": CLIENT_ID,
                "OAUTH_NODEOIDC_CLIENT_SECRET": CLIENT_SECRET,
                "OAUTH_NODEOIDC_METADATA_URL": f"{provider.issuer}/.well-known/openid-configuration",
                "OAUTH_NODEOIDC_LABEL": "Node OIDC",
            }
        ),
    )
    recorder = _ErrorRecorder(live_app)
    served["app"] = recorder
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="e2e-oidc-live-server", daemon=True
    )
    thread.start()
    try:
        yield LiveServer(url, live_app, recorder, provider)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        provider.stop()
        with live_app.app_context():
            db.session.remove()
            db.engine.dispose()


# -- helpers -------------------------------------------------------------------------------


def expect_flash(ui: Ui, text: str | re.Pattern[str]) -> None:
    expect(ui.page.locator("#flashes")).to_contain_text(text)


def sign_in_at_provider(ui: Ui, live_server: LiveServer, login: str, *, to: str) -> None:
    """From Marquee's login page through the provider's login and consent pages, back to
    Marquee at `to`. The provider's own pages are not Marquee's: no axe check there."""
    page = ui.page
    issuer = live_server.oidc.issuer
    # Its pages import a web font from the internet: answer with an empty style sheet.
    ui.context.route(
        re.compile(r"^https://fonts\.googleapis\.com/"),
        lambda route: route.fulfill(status=200, content_type="text/css", body=""),
    )
    ui.goto("/login")
    with page.expect_navigation():
        page.get_by_role("link", name="Node OIDC").click()
    assert page.url.startswith(f"{issuer}/interaction/"), page.url
    page.locator("input[name=login]").fill(login)
    page.locator("input[name=password]").fill("any password")
    with page.expect_navigation():
        page.get_by_role("button", name="Sign-in").click()
    assert page.url.startswith(f"{issuer}/interaction/"), page.url
    with page.expect_navigation(url=re.compile("^" + re.escape(ui.base_url + to) + "$")):
        page.get_by_role("button", name="Continue").click()
    page.wait_for_load_state("load")
    ui.expect_path(to)
    ui.check()


def read(app: Flask, query: Any) -> list[Any]:
    with app.app_context():
        rows = [tuple(row) for row in db.session.execute(query)]
        db.session.remove()
    return rows


def accounts(app: Flask) -> list[tuple[Any, ...]]:
    return read(
        app,
        select(User.id, User.email, User.display_name, User.email_verified_at.is_not(None)).order_by(User.id),
    )


def identities(app: Flask) -> list[tuple[Any, ...]]:
    return read(app, select(OAuthIdentity.user_id, OAuthIdentity.provider, OAuthIdentity.subject))


# -- journeys ------------------------------------------------------------------------------


def test_sign_in_with_node_oidc_provider(new_ui: Any, live_server: LiveServer, app: Flask) -> None:
    ui = new_ui()
    page = ui.page
    sign_in_at_provider(ui, live_server, "sam", to="/")
    # Email and name came from UserInfo: the ID token of this provider carries neither.
    expect_flash(ui, "Welcome to Marquee, Sam Okafor! Your username is sam.")
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Sam Okafor")
    [(user_id, email, display_name, verified)] = accounts(app)
    assert (email, display_name, verified) == ("sam.okafor@example.com", "Sam Okafor", True)
    assert identities(app) == [(user_id, "nodeoidc", "sam")]

    ui.goto("/settings")
    expect(page.get_by_text("Node OIDC (sam.okafor@example.com)")).to_be_visible()
    expect(page.get_by_role("button", name="Remove Node OIDC")).to_be_visible()

    # A second sign-in, on another device: the same account.
    other = new_ui()
    sign_in_at_provider(other, live_server, "sam", to="/")
    expect_flash(other, "Welcome back, Sam Okafor.")
    assert [row[0] for row in accounts(app)] == [user_id]
    assert len(identities(app)) == 1


def test_a_confirmed_account_is_linked(
    ui: Ui, live_server: LiveServer, app: Flask, make_account: Any
) -> None:
    riley: Account = make_account(
        username="riley", email="riley@example.com", display_name="Riley Park", email_verified_at=utcnow()
    )
    sign_in_at_provider(ui, live_server, "riley", to="/")
    expect_flash(ui, "Welcome back, Riley Park.")
    expect(ui.page.get_by_role("heading", level=1)).to_have_text("Hello, Riley Park")
    assert [row[0] for row in accounts(app)] == [riley.id]
    assert identities(app) == [(riley.id, "nodeoidc", "riley")]


def test_an_unconfirmed_account_is_not_linked(
    ui: Ui, live_server: LiveServer, app: Flask, make_account: Any
) -> None:
    jo: Account = make_account(username="jo", email="jo@example.com", display_name="Jo", email_verified_at=None)
    sign_in_at_provider(ui, live_server, "jo", to="/login")
    expect_flash(ui, UNCONFIRMED_ACCOUNT)
    expect(ui.page.get_by_role("button", name="Log out")).to_have_count(0)
    assert [row[0] for row in accounts(app)] == [jo.id]
    assert identities(app) == []

