"""The details of a profile page: the friend count and the sections other features fill
(weekly picks, viewings; ratings and collections as they arrive).

A section is a function of (profile user, is_self) returning rendered HTML or None;
create_app adds each feature's with add_profile_section, in the order they appear.
It only runs for viewers allowed to see the profile's details, and it may depend on
nothing else about the viewer: the details are cached (webapp/caching.py) under the
person's `profile_version`, which database triggers bump whenever their weeks,
picks, viewings, friendships or the titles in them change (migration 0007). A
section showing other data must add triggers that bump it too.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from flask import render_template
from markupsafe import Markup

from webapp.accounts.models import User
from webapp.caching import cached_html, person_key

Section = Callable[[User, bool], "Markup | None"]
SECTIONS: list[tuple[int, str, Section]] = []


def add_profile_section(order: int, name: str, func: Section) -> None:
    """Show `func` on profiles, sections in ascending `order` (each order used once).
    create_app adds the features' sections; adding a name again changes nothing."""
    if any(existing == name for _, existing, _ in SECTIONS):
        return
    if any(existing == order for existing, _, _ in SECTIONS):
        raise ValueError(f"Profile section order {order} is already taken.")
    SECTIONS.append((order, name, func))
    SECTIONS.sort(key=lambda item: item[0])


def profile_section(order: int, name: str) -> Callable[[Section], Section]:
    """add_profile_section as a decorator."""

    def register(func: Section) -> Section:
        add_profile_section(order, name, func)
        return func

    return register


def render_sections(user: User, is_self: bool) -> list[Markup]:
    rendered = (func(user, is_self) for _, _, func in SECTIONS)
    return [html for html in rendered if html]


def details_key(user: User, is_self: bool) -> str:
    """The person, the viewer's one fact, and the day: sections show "this week"."""
    return person_key("profile", user, user.username, int(is_self), date.today().isoformat())


def render_details(user: User, is_self: bool) -> Markup:
    from webapp.social.services import friend_count

    def render() -> str:
        return render_template(
            "social/_profile_details.html",
            profile=user,
            friend_count=friend_count(user),
            sections=render_sections(user, is_self),
        )

    return cached_html(details_key(user, is_self), render)
