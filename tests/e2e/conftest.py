"""Browser tests: the real app on a local server, driven by Playwright in headless Chromium.

* One live server per session (CSRF on, rate limits off) on the test database; one
  Chromium per session; a fresh browser context per test.
* Every journey runs with JavaScript on (`js`: htmx enhances the forms) and off (`nojs`:
  plain POST forms), on a 360x740 phone screen; journeys marked `desktop` run again with
  JavaScript at 1280x800 in the dark colour scheme (`desktop`), so both palettes get
  contrast-checked.
* Every page a test visits, and every htmx swap, is checked with axe-core (any violation
  fails) and for horizontal overflow. With JavaScript off the page runs no script at all;
  Playwright's `evaluate` still works there, but timers never fire, so `axe.run()` would
  wait forever: the check installs a microtask-based setTimeout/requestAnimationFrame
  first (nothing else runs on such a page to notice).
* With JavaScript on, any console error, uncaught page error or CSP violation fails the
  test: this is what proves htmx runs under the app's strict `script-src 'self'` policy.
  Any request the server answers with an unhandled exception fails the test too.

Needs Debian's Chromium (`apt-get install chromium`) and axe-core
(`npm ci --prefix tests/e2e`). Without them these tests are skipped, except under CI
(the CI environment variable set), where they fail instead.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import threading
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
from flask import Flask

from tests.conftest import make_app

try:
    from playwright.sync_api import expect
except ImportError:  # the fixtures below skip (or fail under CI) with the reason
    if os.environ.get("CI"):
        raise
    expect = None  # type: ignore[assignment]

E2E_DIR = Path(__file__).resolve().parent
AXE_PATH = E2E_DIR / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = os.environ.get("E2E_CHROMIUM") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
TIMEOUT_MS = 10_000


# -- modes ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Mode:
    name: str
    js: bool
    width: int
    height: int
    color_scheme: str = "light"


PHONE_MODES = [Mode("js", True, 360, 740), Mode("nojs", False, 360, 740)]
DESKTOP_MODES = [Mode("desktop", True, 1280, 800, "dark")]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "desktop: also run this journey at a desktop size (dark scheme)")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "mode" not in metafunc.fixturenames:
        return
    for marker in metafunc.definition.iter_markers("parametrize"):
        names = marker.args[0]
        if "mode" in ([n.strip() for n in names.split(",")] if isinstance(names, str) else names):
            return  # the test picks its own modes
    modes = PHONE_MODES + (DESKTOP_MODES if metafunc.definition.get_closest_marker("desktop") else [])
    metafunc.parametrize("mode", modes, ids=[m.name for m in modes])


# -- requirements ---------------------------------------------------------------------


def _missing_requirement() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"Chromium not found at {CHROMIUM} (install Debian's chromium package)"
    if not AXE_PATH.exists():
        return "axe-core is not installed (run: npm ci --prefix tests/e2e)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright Python package is not installed (pip install -e '.[dev]')"
    return None


@pytest.fixture(scope="session")
def _e2e_ready() -> None:
    problem = _missing_requirement()
    if problem:
        if os.environ.get("CI"):
            pytest.fail(f"e2e tests cannot run under CI: {problem}", pytrace=False)
        pytest.skip(f"e2e tests skipped: {problem}")


# -- live server ------------------------------------------------------------------------


class _ErrorRecorder:
    """WSGI middleware that remembers unhandled exceptions (the app re-raises them while
    TESTING), so the test that caused one fails with its traceback."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.errors: list[str] = []

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        try:
            return self.app(environ, start_response)
        except Exception:
            self.errors.append(
                f"{environ.get('REQUEST_METHOD')} {environ.get('PATH_INFO')}\n{traceback.format_exc()}"
            )
            raise


@dataclass
class LiveServer:
    url: str
    app: Flask
    recorder: _ErrorRecorder
    oidc: Any


@pytest.fixture(scope="session")
def oidc_provider(_e2e_ready: None) -> Iterator[Any]:
    from tests.fakes.oidc import FakeOIDCProvider

    provider = FakeOIDCProvider(client_id="marquee-test", client_secret="test-secret").start()
    yield provider
    provider.stop()


@pytest.fixture(scope="session")
def live_server(app: Flask, database_url: str, oidc_provider: Any) -> Iterator[LiveServer]:
    # `app` (the session app) has built the schema; this one shares its database.
    from werkzeug.serving import WSGIRequestHandler, make_server

    from webapp.db import db

    class QuietHandler(WSGIRequestHandler):
        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            pass

    live_app = make_app(
        database_url,
        WTF_CSRF_ENABLED=True,
        RATELIMIT_ENABLED=False,
        OAUTH_PROVIDERS={"test": oidc_provider.oauth_config(name="test", label="Test ID")},
    )
    recorder = _ErrorRecorder(live_app)
    server = make_server("127.0.0.1", 0, recorder, threaded=True, request_handler=QuietHandler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="e2e-live-server", daemon=True
    )
    thread.start()
    try:
        yield LiveServer(f"http://127.0.0.1:{server.server_port}", live_app, recorder, oidc_provider)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        with live_app.app_context():
            db.session.remove()
            db.engine.dispose()


# -- browser ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser(_e2e_ready: None) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def axe_source(_e2e_ready: None) -> str:
    return AXE_PATH.read_text(encoding="utf-8")


# Runs before any page script (JavaScript on): counts htmx requests in flight, and turns
# CSP violations into console errors even where the browser would only report them to
# a listener.
CSP_LISTENER = """
window.__e2eInflight = 0;
document.addEventListener("htmx:before:request", () => { window.__e2eInflight += 1; });
document.addEventListener("htmx:finally:request", () => { window.__e2eInflight -= 1; });
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(`CSP violation: ${event.violatedDirective} blocked ${event.blockedURI || "inline"}` +
    ` at ${event.sourceFile || "?"}:${event.lineNumber || 0}`);
});
"""

# With JavaScript off no timer ever fires; axe only needs them to yield.
TIMER_SHIM = """(() => {
  const soon = (fn, ...args) => { Promise.resolve().then(() => fn(...args)); return 0; };
  window.setTimeout = soon; window.clearTimeout = () => {};
  window.requestAnimationFrame = soon; window.cancelAnimationFrame = () => {};
})()"""

AXE_RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    targets: v.nodes.map((n) => n.target.join(" ")),
  }));
}"""

OVERFLOW = """() => {
  const root = document.documentElement;
  const size = {scrollWidth: root.scrollWidth, clientWidth: root.clientWidth};
  if (size.scrollWidth <= size.clientWidth) return size;
  const classes = (el) => typeof el.className === "string" ? el.className.split(/\\s+/).filter(Boolean) : [];
  const name = (el) => [el.tagName.toLowerCase() + (el.id ? "#" + el.id : ""), ...classes(el)].join(".");
  // The innermost elements that stick out of the viewport or overflow their own box.
  const culprits = [...document.body.querySelectorAll("*")].filter((el) =>
    el.getBoundingClientRect().right > root.clientWidth + 0.5 || el.scrollWidth > el.clientWidth + 1 &&
      getComputedStyle(el).overflowX === "visible");
  const innermost = culprits.filter((el) => !culprits.some((other) => other !== el && el.contains(other)));
  return {...size, culprits: innermost.slice(0, 5).map(name)};
}"""

# Chromium logs every 4xx/5xx response as a console error; the tests assert on the
# statuses they expect, and subresource failures are caught from the responses instead.
_HTTP_STATUS_LOG = re.compile(r"^Failed to load resource: the server responded with a status of 4\d\d\b")
# CSRF tokens (and any such long opaque value) differ on every page load.
_TOKENS = re.compile(r"[A-Za-z0-9_.-]{40,}")
_AXE_PASSED: set[tuple[Mode, str]] = set()

# htmx requests (fetch) may only fail where a test expects it (Ui.expecting_status).
_SUBRESOURCES = {"stylesheet", "script", "image", "font", "media", "manifest"}


@dataclass
class Ui:
    """One browser context and page in a given mode, with the checks every test needs."""

    context: Any
    page: Any
    mode: Mode
    base_url: str
    axe_source: str = field(repr=False)
    problems: list[str] = field(default_factory=list)
    expected_statuses: list[int] = field(default_factory=list)
    checked: int = 0

    @property
    def js(self) -> bool:
        return self.mode.js

    def url(self, path: str) -> str:
        return self.base_url + path

    def path(self) -> str:
        """The current path and query, percent-decoded."""
        parts = urlsplit(self.page.url)
        return unquote(parts.path + (f"?{parts.query}" if parts.query else ""))

    # -- listeners --

    def _on_console(self, message: Any) -> None:
        if message.type == "error" and not _HTTP_STATUS_LOG.match(message.text):
            location = message.location or {}
            self.problems.append(f"console error: {message.text} ({location.get('url', '')})")

    def _on_page_error(self, error: Any) -> None:
        self.problems.append(f"page error: {error}")

    def _on_response(self, response: Any) -> None:
        request = response.request
        if response.status >= 500:
            self.problems.append(f"HTTP {response.status} for {request.method} {response.url}")
        elif response.status >= 400 and request.resource_type in _SUBRESOURCES:
            self.problems.append(f"HTTP {response.status} for {request.resource_type} {response.url}")
        elif response.status >= 400 and request.resource_type in ("fetch", "xhr"):
            if response.status in self.expected_statuses:
                self.expected_statuses.remove(response.status)
            else:
                self.problems.append(
                    f"unexpected HTTP {response.status} for htmx {request.method} {response.url}"
                )

    def _on_request_failed(self, request: Any) -> None:
        failure = request.failure or ""
        if "ERR_ABORTED" not in failure:  # aborted: a navigation replaced the page
            self.problems.append(f"request failed: {request.method} {request.url}: {failure}")

    @contextlib.contextmanager
    def expecting_status(self, status: int) -> Iterator[None]:
        """An htmx request in this block may fail with `status` (any other 4xx fails the test)."""
        self.expected_statuses.append(status)
        try:
            yield
        finally:
            if status in self.expected_statuses:
                self.expected_statuses.remove(status)

    # -- navigation --

    def goto(self, path: str, *, status: int = 200) -> Any:
        response = self.page.goto(self.url(path))
        assert response is not None, f"no response for {path}"
        assert response.status == status, f"GET {path}: HTTP {response.status}, expected {status}"
        self.check()
        return response

    @staticmethod
    def _post_to(url: str) -> Callable[[Any], bool]:
        return lambda response: response.request.method == "POST" and response.url == url

    def submit(self, button: Any, *, status: int) -> Any:
        """Click a form's submit button where the server answers with the form again
        (a 422 with errors): htmx swaps it in place (no navigation), or the browser shows
        the new page. Returns the POST's response."""
        if self.js:
            action = button.evaluate("(b) => b.form.action")
            self.page.evaluate("() => { window.__e2eSamePage = true; }")
            with self.expecting_status(status), self.page.expect_response(self._post_to(action)) as info:
                button.click()
            response = info.value
            response.finished()
            self.wait_for_swap()
            assert self.page.evaluate("() => window.__e2eSamePage === true"), "htmx submit reloaded the page"
        else:
            with self.page.expect_navigation() as info:
                button.click()
            response = info.value
        assert response.status == status, f"POST {response.url}: HTTP {response.status}, expected {status}"
        self.check()
        return response

    def submit_and_follow(self, button: Any, *, to: str | re.Pattern[str]) -> None:
        """Click a submit button whose POST succeeds: a 303 (no JS) or HX-Redirect (htmx),
        and the browser lands on `to` (a path, or a regex for the path)."""
        if self.js:
            action = button.evaluate("(b) => b.form.action")
            with self.page.expect_response(self._post_to(action)) as post:
                with self.page.expect_navigation():
                    button.click()
            # htmx forms get 204 + HX-Redirect; plain forms (Log out) a 303 as without JS.
            assert post.value.status in (204, 303), f"POST {action}: HTTP {post.value.status}"
            if post.value.status == 204:
                assert post.value.headers.get("hx-redirect"), f"POST {action}: a 204 without HX-Redirect"
        else:
            with self.page.expect_navigation():
                button.click()
        self.page.wait_for_load_state("load")
        self.expect_path(to)
        self.check()

    def click_to_page(self, target: Any, *, to: str | re.Pattern[str] | None = None) -> None:
        """Click a link or button that loads a new page (anywhere, if `to` is None)."""
        with self.page.expect_navigation():
            target.click()
        self.page.wait_for_load_state("load")
        if to is not None:
            self.expect_path(to)
        self.check()

    def log_in(self, login: str, password: str, *, to: str = "/") -> None:
        """Log in through the form."""
        self.goto("/login")
        self.page.get_by_label("Email or username", exact=True).fill(login)
        self.page.get_by_label("Password", exact=True).fill(password)
        self.submit_and_follow(self.page.get_by_role("button", name="Log in"), to=to)

    def log_out(self) -> None:
        """The header's Log out button: a plain POST form, with or without JavaScript."""
        self.submit_and_follow(self.page.get_by_role("button", name="Log out"), to="/")

    def wait_for_swap(self) -> None:
        """Wait until htmx has finished with every request it started."""
        self.page.wait_for_function(
            "() => window.__e2eInflight === 0 && !document.querySelector('.htmx-swapping, .htmx-settling')"
        )

    def expect_path(self, expected: str | re.Pattern[str]) -> None:
        """The browser is at `expected`: a path (with its query, decoded) or a regex."""
        actual = self.path()
        if isinstance(expected, re.Pattern):
            assert expected.fullmatch(actual), f"at {actual}, expected {expected.pattern}"
        else:
            assert actual == expected, f"at {actual}, expected {expected}"

    # -- checks --

    def check(self) -> None:
        """axe-core and the overflow check on the page as it is now. Markup that already
        passed axe in this mode (CSRF tokens aside) is not run through it again."""
        page = self.page
        where = f"{self.mode.name} {self.path()}"
        markup = _TOKENS.sub("token", page.evaluate("() => document.documentElement.outerHTML"))
        key = (self.mode, hashlib.sha256(markup.encode()).hexdigest())
        if key not in _AXE_PASSED:
            self._axe(where)
            _AXE_PASSED.add(key)
        overflow = page.evaluate(OVERFLOW)
        assert overflow["scrollWidth"] <= overflow["clientWidth"], (
            f"horizontal overflow on {where} at {self.mode.width}px: {json.dumps(overflow)}"
        )
        self.checked += 1

    def _axe(self, where: str) -> None:
        page = self.page
        if not page.evaluate("() => typeof window.axe === 'object'"):
            if not self.js:
                page.evaluate(TIMER_SHIM)
            page.evaluate(self.axe_source)
        violations = page.evaluate(AXE_RUN)
        report = [
            f"  {v['id']} ({v['impact']}): {v['help']}\n    " + "\n    ".join(v["targets"])
            for v in violations
        ]
        assert not violations, f"axe violations on {where}:\n" + "\n".join(report)

    def assert_clean(self) -> None:
        assert not self.problems, f"browser problems ({self.mode.name}):\n" + "\n".join(self.problems)


@pytest.fixture
def new_ui(
    browser: Any, live_server: LiveServer, axe_source: str, mode: Mode, app: Flask
) -> Iterator[Callable[[], Ui]]:
    """A factory of fresh browser contexts (a second device, an anonymous visitor...)
    in this test's mode. Requests `app` so the tables are emptied after the test."""
    uis: list[Ui] = []
    live_server.recorder.errors.clear()

    def make() -> Ui:
        context = browser.new_context(
            base_url=live_server.url,
            java_script_enabled=mode.js,
            viewport={"width": mode.width, "height": mode.height},
            color_scheme=mode.color_scheme,
            service_workers="block",
        )
        context.set_default_timeout(TIMEOUT_MS)
        context.set_default_navigation_timeout(TIMEOUT_MS)
        if mode.js:
            context.add_init_script(CSP_LISTENER)
        page = context.new_page()
        ui = Ui(context, page, mode, live_server.url, axe_source)
        page.on("console", ui._on_console)
        page.on("pageerror", ui._on_page_error)
        page.on("response", ui._on_response)
        page.on("requestfailed", ui._on_request_failed)
        uis.append(ui)
        return ui

    yield make
    for ui in uis:
        ui.context.close()
    errors = list(live_server.recorder.errors)
    live_server.recorder.errors.clear()
    assert not errors, "the server raised:\n" + "\n".join(errors)
    for ui in uis:
        ui.assert_clean()


@pytest.fixture
def ui(new_ui: Callable[[], Ui]) -> Ui:
    return new_ui()


# -- data -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Account:
    id: int
    username: str
    email: str
    display_name: str
    password: str


@pytest.fixture
def make_account(app: Flask) -> Callable[..., Account]:
    """Create a user straight in the database (a short app context, nothing held open)."""
    from tests.factories import DEFAULT_PASSWORD, UserFactory
    from webapp.db import db

    def make(**kwargs: Any) -> Account:
        with app.app_context():
            user = UserFactory(**kwargs)
            account = Account(user.id, user.username, user.email, user.display_name, DEFAULT_PASSWORD)
            db.session.remove()
        return account

    return make


@pytest.fixture
def demo_catalog(app: Flask) -> None:
    """The bundled demo catalog (750 titles), loaded into the test database."""
    from webapp.catalog.demo import load_demo_catalog
    from webapp.db import db

    with app.app_context():
        stats = load_demo_catalog()
        db.session.remove()
    assert stats.added > 700
