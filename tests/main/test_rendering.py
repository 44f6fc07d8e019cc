"""Templates' remembered url_for builds exactly what Flask's url_for builds, htmx
fragments are answered one way, and the fragment cache's settings follow the
environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from flask import flash, render_template_string, url_for

from webapp.config import load_config
from webapp.rendering import render, render_fragment

TEMPLATE = "{{ url_for(endpoint, **values) }}"


def both(endpoint: str, **values: object) -> tuple[str, str]:
    return render_template_string(TEMPLATE, endpoint=endpoint, values=values), url_for(endpoint, **values)


class TestTemplateUrls:
    def test_same_paths_as_url_for(self, app):
        cases = [
            ("catalog.search", {}),
            ("static", {"filename": "css/app.css"}),
            ("social.profile", {"username": "ann"}),
            ("social.profile", {"username": "bob"}),
            ("catalog.title", {"title_id": 7}),
            ("accounts.login", {"next": "/groups?x=1&y=é"}),
            ("weeks.stats", {"username": "ann", "year": 2026}),
            ("weeks.stats", {"username": "ann", "year": None}),
        ]
        with app.test_request_context("/"):
            for endpoint, values in cases:
                first, expected = both(endpoint, **values)
                again, _ = both(endpoint, **values)
                assert first == again == expected, (endpoint, values)

    def test_the_mount_point_is_part_of_the_key(self, app):
        with app.test_request_context("/"):
            assert both("catalog.search")[0] == "/search"
        with app.test_request_context("/", base_url="http://localhost/marquee"):
            assert both("catalog.search") == ("/marquee/search", "/marquee/search")
        with app.test_request_context("/"):
            assert both("catalog.search")[0] == "/search"

    def test_external_urls_follow_each_request_host(self, app):
        for host in ("http://one.example", "https://two.example"):
            with app.test_request_context("/", base_url=host):
                rendered, expected = both("social.join", code="ABCD-EFGH", _external=True)
                assert rendered == expected and rendered.startswith(host)


HTMX_PARTIAL = {"HX-Request": "true", "HX-Request-Type": "partial"}
VIEWS = sorted((Path(__file__).parents[2] / "webapp").glob("*/views.py"))


class TestFragments:
    def test_templates_in_turn_with_one_context_and_the_htmx_vary(self, app):
        with app.test_request_context("/", headers=HTMX_PARTIAL):
            flash("Saved.", "success")
            response = render_fragment("_flashes_partial.html", "_flashes_partial.html", status=422, unused=1)
            html = response.get_data(as_text=True)
        assert response.status_code == 422 and response.mimetype == "text/html"
        assert html.count("<hx-partial") == 2 and "Saved." in html
        assert response.headers["Vary"] == "HX-Request, HX-Request-Type"

    def test_render_gives_the_fragment_with_pending_flashes_and_the_same_vary(self, app):
        with app.test_request_context("/", headers=HTMX_PARTIAL):
            quiet = render("errors/page.html", "_flashes_partial.html")
            flash("Saved.", "success")
            flashed = render("errors/page.html", "_flashes_partial.html")
        assert quiet.get_data(as_text=True).count("<hx-partial") == 1
        assert flashed.get_data(as_text=True).count("<hx-partial") == 2
        assert quiet.headers["Vary"] == flashed.headers["Vary"] == "HX-Request, HX-Request-Type"

    @pytest.mark.parametrize("views", VIEWS, ids=lambda path: path.parent.name)
    def test_views_build_no_htmx_response_by_hand(self, views: Path):
        """render(), render_fragment() and see_other() set the Vary header; a view that
        built its own fragment response could forget it or set another."""
        source = views.read_text()
        for built_by_hand in ("vary_on_htmx(", ".vary", 'render_template("_flashes_partial.html")', "HX-Request"):
            assert built_by_hand not in source, (views.parent.name, built_by_hand)


class TestCacheSettings:
    def test_in_process_by_default_and_redis_when_configured(self, monkeypatch, tmp_path: Path):
        monkeypatch.setenv("SECRET_KEY", "x" * 32)
        monkeypatch.delenv("REDIS_URL", raising=False)
        monkeypatch.delenv("CACHE_REDIS_URL", raising=False)
        assert load_config(tmp_path)["CACHE_TYPE"] == "SimpleCache"
        monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
        config = load_config(tmp_path)
        assert (config["CACHE_TYPE"], config["CACHE_REDIS_URL"]) == ("RedisCache", "redis://127.0.0.1:6379/0")
        assert config["CACHE_OPTIONS"]["socket_timeout"] <= 0.5
        # Tests never share a cache: their databases reuse ids.
        assert load_config(tmp_path, {"TESTING": True})["CACHE_TYPE"] == "SimpleCache"
