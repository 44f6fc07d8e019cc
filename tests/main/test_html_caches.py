"""The HTML caches (webapp/caching.py) never serve stale HTML: their keys start with a
digest of the templates and code, nothing is cached while templates reload, and the key
of signed-in pages names everything base.html shows about the viewer."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, render_template
from flask_login import login_user

from tests.accounts.test_page_cache import renders
from tests.conftest import login, make_app
from webapp.accounts.models import User
from webapp.caching import cached_html, viewer_key
from webapp.config import PROJECT_ROOT, source_digest
from webapp.db import db
from webapp.extensions import cache
from webapp.social import services as social

# Key prefixes ----------------------------------------------------------------------


def _tree(root: Path) -> Path:
    (root / "social").mkdir(parents=True)
    (root / "base.html").write_text("<nav>{{ current_user.username }}</nav>")
    (root / "social" / "profile.html").write_text("{% extends 'base.html' %}")
    return root


def test_a_changed_template_gives_another_prefix(tmp_path):
    tree = _tree(tmp_path / "one")
    same = shutil.copytree(tree, tmp_path / "two")
    digest = source_digest(tree, "*")
    assert source_digest(same, "*") == digest  # another checkout of the same templates

    (tree / "base.html").write_text("<nav>{{ current_user.display_name }}</nav>")
    edited = source_digest(tree, "*")
    (tree / "social" / "new.html").write_text("")
    added = source_digest(tree, "*")
    (tree / "social" / "new.html").rename(tree / "social" / "renamed.html")
    renamed = source_digest(tree, "*")
    assert len({digest, edited, added, renamed}) == 4


def test_the_cache_prefix_is_the_digest_of_the_templates_and_code(app, database_url):
    prefix = app.config["CACHE_KEY_PREFIX"]
    assert source_digest(PROJECT_ROOT / "templates", "*") in prefix
    assert source_digest(PROJECT_ROOT / "webapp", "*.py") in prefix
    assert make_app(database_url).config["CACHE_KEY_PREFIX"] == prefix


# Reloading templates ---------------------------------------------------------------


@pytest.fixture
def reloading(app: Flask, database_url: str) -> Flask:
    """An app whose templates reload when edited, as in debug."""
    return make_app(database_url, WTF_CSRF_ENABLED=True, TEMPLATES_AUTO_RELOAD=True)


def test_fragments_are_neither_read_nor_stored_while_templates_reload(reloading):
    renders_: list[str] = []

    def render() -> str:
        renders_.append("rendered")
        return "<p>fresh</p>"

    with reloading.test_request_context("/"):
        cache.set("fragment", "<p>stale</p>")
        assert cached_html("fragment", render) == "<p>fresh</p>"
        cache.delete("fragment")
        cached_html("fragment", render)
        assert cache.get("fragment") is None
    assert len(renders_) == 2


@pytest.mark.parametrize("path", ["/u/ann", "/u/ann/weeks/stats"])
def test_signed_in_pages_and_their_fragments_render_every_time_while_templates_reload(reloading, make_user, path):
    ann = make_user(username="ann")
    client = reloading.test_client()
    login(client, ann)
    assert client.get(path).status_code == 200
    with renders(reloading) as rendered:
        assert client.get(path).status_code == 200
    fragment = "social/_profile_details.html" if path == "/u/ann" else "weeks/_stats_body.html"
    assert fragment in rendered


# The navigation and viewer_key -----------------------------------------------------

TOKENS = re.compile(r'(name="csrf-token" content="|name="csrf_token" value=")[^"]+"')


def _changed(value: Any, python_type: type, nullable: bool) -> Any:
    """Another plausible value of a column (None for a set nullable one)."""
    if python_type is bool:
        return not value
    if value is not None and nullable and python_type is not str:
        return None
    if python_type is str:
        return f"{value or ''}x"
    if python_type is int:
        return (value or 0) + 1
    if python_type is datetime:
        return datetime(2020, 1, 1)
    if python_type is date:
        return date(2000, 1, 1)
    raise AssertionError(f"no other value known for a {python_type.__name__} column: add one")


def _column_changes() -> dict[str, Callable[[User], None]]:
    changes: dict[str, Callable[[User], None]] = {}
    for column in User.__table__.columns:
        if column.primary_key:
            continue  # the id is in every key

        def change(user: User, name: str = column.key, kind: type = column.type.python_type,
                   nullable: bool = bool(column.nullable)) -> None:
            setattr(user, name, _changed(getattr(user, name), kind, nullable))

        changes[column.key] = change
    return changes


def _requests(count: int) -> Callable[[User], None]:
    def arrive(user: User) -> None:
        for n in range(count):
            social.send_request(User.query.filter_by(username=f"friend{n}").one(), user)
        db.session.flush()

    return arrive


VIEWER_CHANGES: dict[str, Callable[[User], None]] = {
    "nothing": lambda user: None,
    **_column_changes(),
    "no email": lambda user: setattr(user, "email", None),
    "one pending friend request": _requests(1),
    "two pending friend requests": _requests(2),
}


def _page_and_key(app: Flask, username: str, change: Callable[[User], None]) -> tuple[str, str]:
    """base.html as `username` sees it after `change` (never stored), and their key."""
    with app.app_context(), app.test_request_context("/u/someone"):
        user = User.query.filter_by(username=username).one()
        change(user)
        with db.session.no_autoflush:
            user.login_token = "signed-in"  # what the session cookie would carry
            login_user(user)
            page = TOKENS.sub(r'\1T"', render_template("base.html"))
            key = viewer_key(user)
        db.session.rollback()
    return page, key


@pytest.mark.parametrize("verified", [True, False], ids=["verified", "unverified"])
def test_the_viewer_key_changes_whenever_the_navigation_does(app, make_user, verified):
    """A signed-in page's key names the viewer through viewer_key(), by hand: every viewer
    column and the pending requests are changed one at a time, and any change that shows
    in base.html must change the key (else one viewer could be served another's page)."""
    make_user(username="ann", email_verified_at=datetime(2024, 1, 1) if verified else None)
    for n in range(2):
        make_user(username=f"friend{n}")
    seen: dict[str, tuple[str, str]] = {}  # key -> (page, what was changed)
    pages: dict[str, str] = {}
    for name, change in VIEWER_CHANGES.items():
        page, key = _page_and_key(app, "ann", change)
        pages[name] = page
        if key in seen:
            other_page, other = seen[key]
            assert page == other_page, (
                f"changing {name!r} changes base.html but not viewer_key() (same key as {other!r}): "
                "add it to webapp.caching.viewer_key"
            )
        seen[key] = (page, name)
    # The test sees what it means to: these are all shown by the navigation.
    shown = ["username", "is_admin", "email_verified_at", "one pending friend request", "two pending friend requests"]
    if not verified:  # the notice names the address
        shown += ["email", "no email"]
    assert all(pages[name] != pages["nothing"] for name in shown)
    assert pages["bio"] == pages["nothing"]  # and not everything is


def test_the_key_is_the_same_for_the_same_viewer(app, make_user):
    make_user(username="ann")
    assert _page_and_key(app, "ann", lambda user: None) == _page_and_key(app, "ann", lambda user: None)


def test_trying_a_change_leaves_the_account_as_it_was(app, make_user):
    ann = make_user(username="ann")
    _page_and_key(app, "ann", VIEWER_CHANGES["username"])
    db.session.expire_all()
    assert db.session.get(User, ann.id).username == "ann"
