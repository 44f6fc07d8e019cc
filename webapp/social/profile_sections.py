"""Sections of a profile page that other features fill (friends now; ratings, weekly
picks and collections as they arrive). A section is a function of (profile user,
viewer) returning rendered HTML or None; sections only run for viewers allowed to see
the profile's details."""

from __future__ import annotations

from collections.abc import Callable

from markupsafe import Markup

from webapp.accounts.models import User

Section = Callable[[User, "User | None"], "Markup | None"]
SECTIONS: list[tuple[int, str, Section]] = []


def profile_section(order: int, name: str) -> Callable[[Section], Section]:
    def register(func: Section) -> Section:
        if all(existing != name for _, existing, _ in SECTIONS):
            SECTIONS.append((order, name, func))
            SECTIONS.sort(key=lambda item: item[0])
        return func

    return register


def render_sections(user: User, viewer: User | None) -> list[Markup]:
    rendered = (func(user, viewer) for _, _, func in SECTIONS)
    return [html for html in rendered if html]
