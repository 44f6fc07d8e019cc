"""Guard checks as plain functions that return the problems they find.

The guard tests run them on the real app (expecting no problems) and on deliberately
unguarded examples (expecting problems), so each guard is shown to catch a violation.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, url_for
from flask.testing import FlaskClient

from tests.access_matrix import LOGIN, Route


def uncovered_endpoints(app: Flask, routes: list[Route]) -> set[str]:
    declared = {route.endpoint for route in routes}
    return {rule.endpoint for rule in app.url_map.iter_rules()} - declared


def access_problems(client: FlaskClient, route: Route, role: str, world: Any) -> list[str]:
    expected = route.expect.get(role)
    if expected is None:
        return [f"{route.endpoint}: no expectation for {role}"]
    with client.application.test_request_context():
        url = url_for(route.endpoint, **route.args(world))
    response = client.open(url, method=route.method, data=route.data(world))
    response.close()
    status = response.status_code
    if expected == LOGIN:
        location = response.headers.get("Location", "")
        if status not in (302, 303) or not location.startswith("/login"):
            return [f"{route.method} {url} as {role}: {status} {location!r}, expected a redirect to login"]
        return []
    if status != expected:
        return [f"{route.method} {url} as {role}: {status}, expected {expected}"]
    return []


REQUIRED_HEADERS = {
    "Content-Security-Policy": ["default-src 'self'", "script-src 'self'", "frame-ancestors 'none'", "object-src 'none'"],
    "X-Content-Type-Options": ["nosniff"],
    "Referrer-Policy": ["strict-origin-when-cross-origin"],
}


def header_problems(headers: Any, *, production: bool) -> list[str]:
    problems = []
    for name, needles in REQUIRED_HEADERS.items():
        value = headers.get(name)
        if value is None:
            problems.append(f"missing {name}")
            continue
        problems += [f"{name} lacks {needle!r}" for needle in needles if needle not in value]
    csp = headers.get("Content-Security-Policy", "")
    for loose in ("'unsafe-inline'", "'unsafe-eval'", "*"):
        if loose in csp.split():
            problems.append(f"CSP allows {loose}")
    if production:
        if "max-age=" not in headers.get("Strict-Transport-Security", ""):
            problems.append("missing HSTS")
        for cookie in headers.getlist("Set-Cookie"):
            if "Secure" not in cookie or "HttpOnly" not in cookie or "SameSite=Lax" not in cookie:
                problems.append(f"cookie without Secure/HttpOnly/SameSite=Lax: {cookie.split(';')[0]}")
    return problems


def rate_limit_problems(client: FlaskClient, url: str, data: dict[str, str], attempts: int) -> list[str]:
    """POST `attempts` times: the last one must be refused with a friendly 429 page."""
    statuses = [client.post(url, data=data).status_code for _ in range(attempts)]
    last = client.post(url, data=data)
    if last.status_code != 429:
        return [f"{url}: {attempts + 1} posts answered {statuses + [last.status_code]}, never 429"]
    if "going a little fast" not in last.get_data(as_text=True):
        return [f"{url}: 429 without the friendly page"]
    return []
