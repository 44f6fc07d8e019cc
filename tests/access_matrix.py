"""What every route answers to every kind of visitor.

Each endpoint in the app must appear here (tests/guards/test_route_coverage.py fails
otherwise), so no new route can ship without an access-control expectation. Roles:
anonymous (not logged in), stranger (logged in, no relation to the object), owner (the
object's owner, or simply "a logged-in user" for routes without an object) and admin.
An expectation is the status code, or LOGIN for "redirected to the login page".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

LOGIN = "login"
ROLES = ("anonymous", "stranger", "owner", "admin")


@dataclass(frozen=True)
class Route:
    endpoint: str
    method: str = "GET"
    # url_for arguments, built from the `world` of sample objects
    args: Callable[[Any], dict[str, Any]] = field(default=lambda world: {})
    data: Callable[[Any], dict[str, Any]] = field(default=lambda world: {})
    expect: dict[str, int | str] = field(default_factory=dict)


def everyone(status: int | str) -> dict[str, int | str]:
    return {role: status for role in ROLES}


def members_only(ok: int | str) -> dict[str, int | str]:
    return {"anonymous": LOGIN, "stranger": ok, "owner": ok, "admin": ok}


def admins_only(ok: int | str) -> dict[str, int | str]:
    return {"anonymous": 404, "stranger": 404, "owner": 404, "admin": ok}


def group_only(ok: int | str) -> dict[str, int | str]:
    """Members of the sample group only (the owner role is its owner); everyone else
    gets 404 so that a group's existence is not revealed. Admins are no exception."""
    return {"anonymous": LOGIN, "stranger": 404, "owner": ok, "admin": 404}


def _group(w: Any) -> dict[str, Any]:
    return {"group_id": w.group.id}


def _item(w: Any) -> dict[str, Any]:
    return {"group_id": w.group.id, "item_id": w.item.id}


ROUTES: list[Route] = [
    Route("static", args=lambda w: {"filename": "css/app.css"}, expect=everyone(200)),
    Route("main.index", expect=everyone(200)),
    Route("main.health", expect=everyone(200)),
    # Pages for logged-out visitors: logged-in ones are sent on.
    Route("accounts.register", expect={"anonymous": 200, "stranger": 303, "owner": 303, "admin": 303}),
    Route("accounts.login", expect={"anonymous": 200, "stranger": 303, "owner": 303, "admin": 303}),
    Route("accounts.logout", method="POST", expect=everyone(303)),
    Route("accounts.password_strength", method="POST", data=lambda w: {"password": "x"}, expect=everyone(200)),
    Route("accounts.settings", expect=members_only(200)),
    Route("accounts.change_password", expect=members_only(200)),
    Route("accounts.delete_account", expect=members_only(200)),
    Route(
        "accounts.unlink_identity",
        method="POST",
        args=lambda w: {"identity_id": w.identity.id},
        expect={"anonymous": LOGIN, "stranger": 404, "owner": 303, "admin": 404},
    ),
    # The owner's other signed-in browser (world.owner_login).
    Route(
        "accounts.end_session",
        method="POST",
        args=lambda w: {"session_id": w.owner_login.id},
        expect={"anonymous": LOGIN, "stranger": 404, "owner": 303, "admin": 404},
    ),
    Route("accounts.end_all_sessions", method="POST", expect=members_only(303)),
    # Mail: links carry a signed token (a bad one answers 404 to everyone).
    Route("accounts.check_inbox", expect=everyone(200)),
    Route("accounts.verify_email", args=lambda w: {"token": "not-a-token"}, expect=everyone(404)),
    Route("accounts.resend_verification", method="POST", expect=members_only(303)),
    Route("accounts.forgot_password", expect=everyone(200)),
    Route("accounts.reset_password", args=lambda w: {"token": "not-a-token"}, expect=everyone(404)),
    Route("accounts.change_email", args=lambda w: {"token": "not-a-token"}, expect=everyone(404)),
    Route("accounts.oauth_login", args=lambda w: {"provider": "nobody"}, expect=everyone(404)),
    Route("accounts.oauth_callback", args=lambda w: {"provider": "nobody"}, expect=everyone(404)),
    # Social: the owner has a pending request from `requester`, one to `asked`, and a code.
    Route("social.profile", args=lambda w: {"username": w.owner.username}, expect=everyone(200)),
    Route("social.user_friends", args=lambda w: {"username": w.owner.username}, expect=everyone(200)),
    Route("social.friends", expect=members_only(200)),
    Route("social.requests", expect=members_only(200)),
    Route("social.search", expect=members_only(200)),
    Route("social.invites", expect=members_only(200)),
    Route("social.create_invite", method="POST", data=lambda w: {"days": "7"}, expect=members_only(303)),
    Route("social.join", args=lambda w: {"code": w.invite.code}, expect=members_only(200)),
    Route(
        "social.redeem",
        method="POST",
        data=lambda w: {"code": w.invite.code},
        expect={"anonymous": LOGIN, "stranger": 303, "owner": 422, "admin": 303},
    ),
    Route(
        "social.revoke_invite",
        method="POST",
        args=lambda w: {"invite_id": w.invite.id},
        expect={"anonymous": LOGIN, "stranger": 404, "owner": 303, "admin": 404},
    ),
    Route("social.send_request", method="POST", args=lambda w: {"username": w.owner.username}, expect=members_only(303)),
    Route("social.unfriend", method="POST", args=lambda w: {"username": w.owner.username}, expect=members_only(303)),
    *(
        Route(
            f"social.{action}_request",
            method="POST",
            args=lambda w: {"request_id": w.incoming.id},
            expect={"anonymous": LOGIN, "stranger": 404, "owner": 303, "admin": 404},
        )
        for action in ("accept", "deny")
    ),
    Route(
        "social.cancel_request",
        method="POST",
        args=lambda w: {"request_id": w.outgoing.id},
        expect={"anonymous": LOGIN, "stranger": 404, "owner": 303, "admin": 404},
    ),
    # Catalog: public reading.
    Route("catalog.search", expect=everyone(200)),
    Route("catalog.search_albums", expect=everyone(200)),
    Route("catalog.browse", expect=everyone(200)),
    Route("catalog.title", args=lambda w: {"title_id": w.title.id}, expect=everyone(200)),
    Route("catalog.person", args=lambda w: {"person_id": w.person.id}, expect=everyone(200)),
    # Provider results lead to their catalog title (fetched on first visit).
    Route("catalog.tmdb_title", args=lambda w: {"kind": "movie", "tmdb_id": 4242}, expect=everyone(303)),
    Route("catalog.musicbrainz_title", args=lambda w: {"mbid": w.album.musicbrainz_id}, expect=everyone(303)),
    # Admin: invisible to everyone else.
    Route("admin.genres", expect=admins_only(200)),
    Route("admin.edit_genre", args=lambda w: {"genre_id": w.genre.id}, expect=admins_only(200)),
    Route("admin.delete_genre", args=lambda w: {"genre_id": w.genre.id}, expect=admins_only(200)),
    Route("admin.titles", expect=admins_only(200)),
    Route("admin.new_title", expect=admins_only(200)),
    Route("admin.edit_title", args=lambda w: {"title_id": w.title.id}, expect=admins_only(200)),
    Route("admin.delete_title", args=lambda w: {"title_id": w.title.id}, expect=admins_only(200)),
    Route("admin.delete_title", method="POST", args=lambda w: {"title_id": w.title.id}, expect=admins_only(303)),
    Route("admin.publish_title", method="POST", args=lambda w: {"title_id": w.title.id}, expect=admins_only(303)),
    # Groups: the owner owns "Sample Group" with a friend, two watchlist items, a group
    # code, a decided session and an open one.
    Route("groups.index", expect=members_only(200)),
    Route("groups.new", expect=members_only(200)),
    Route("groups.create", method="POST", data=lambda w: {"name": "Film club"}, expect=members_only(303)),
    Route("groups.show", args=_group, expect=group_only(200)),
    Route("groups.settings", args=_group, expect=group_only(200)),
    Route("groups.rename", method="POST", args=_group, data=lambda w: {"name": "Renamed"}, expect=group_only(303)),
    Route("groups.add_members", method="POST", args=_group, data=lambda w: {"members": []}, expect=group_only(303)),
    Route("groups.remove_member", method="POST", args=lambda w: {"group_id": w.group.id, "user_id": w.member.id},
          expect=group_only(303)),
    Route("groups.leave", args=_group, expect=group_only(200)),
    Route("groups.leave", method="POST", args=_group, expect=group_only(303)),
    Route("groups.delete", args=_group, expect=group_only(200)),
    Route("groups.delete", method="POST", args=_group, expect=group_only(303)),
    Route("groups.create_invite", method="POST", args=_group, data=lambda w: {"days": "7", "max_uses": "3"},
          expect=group_only(303)),
    Route("groups.revoke_invite", method="POST", args=lambda w: {"group_id": w.group.id, "invite_id": w.group_invite.id},
          expect=group_only(303)),
    # Whoever holds a code may see which group it opens, and join.
    Route("groups.join", args=lambda w: {"code": w.group_invite.code}, expect=members_only(200)),
    Route("groups.redeem", method="POST", data=lambda w: {"code": w.group_invite.code}, expect=members_only(303)),
    Route("groups.watchlist_page", args=_group, expect=group_only(200)),
    Route("groups.add_titles", args=_group, expect=group_only(200)),
    Route("groups.add_item", method="POST", args=_group,
          data=lambda w: {"ref": f"title:{w.title.id}", "note": "why not", "next": "/groups"},
          expect=group_only(303)),
    Route("groups.add_manual", method="POST", args=_group,
          data=lambda w: {"kind": "movie", "title": "Home Movie", "year": "2020", "runtime": "90", "note": "ours"},
          expect=group_only(303)),
    # From a title page, to one of the viewer's groups (others' groups: 404).
    Route("groups.add_title_to_group", method="POST", args=lambda w: {"title_id": w.album.id},
          data=lambda w: {"group": str(w.group.id)}, expect=group_only(303)),
    Route("groups.item", args=_item, expect=group_only(200)),
    Route("groups.item", method="POST", args=_item, data=lambda w: {"note": "still good", "status": "watchlist"},
          expect=group_only(303)),
    Route("groups.set_item_status", method="POST", args=_item, data=lambda w: {"status": "watched"},
          expect=group_only(303)),
    Route("groups.snooze_item", method="POST", args=_item, data=lambda w: {"preset": "week", "until": "", "next": ""},
          expect=group_only(303)),
    Route("groups.unsnooze_item", method="POST", args=_item, expect=group_only(303)),
    Route("groups.remove_item", method="POST", args=_item, expect=group_only(303)),
    # Tonight: the open session's deadline is in the future.
    Route("tonight.new", args=_group, expect=group_only(303)),  # to the open session
    Route("tonight.start", method="POST", args=_group,
          data=lambda w: {"format": "any", "max_runtime": "120", "genres": ["Drama"], "exclude_watched": "y",
                          "text": "a drama", "duration": "15", "candidates": "2"},
          expect=group_only(303)),
    Route("tonight.history", args=_group, expect=group_only(200)),
    Route("tonight.session", args=lambda w: {"session_id": w.session.id}, expect=group_only(200)),
    Route("tonight.session", args=lambda w: {"session_id": w.decided.id}, expect=group_only(200)),
    # Polled by htmx; a plain visit is sent to the session page.
    Route("tonight.status", args=lambda w: {"session_id": w.session.id}, expect=group_only(303)),
    Route("tonight.vote", method="POST", args=lambda w: {"session_id": w.session.id},
          data=lambda w: {"candidate": str(w.card.id), "vote": "yes"}, expect=group_only(303)),
    Route("tonight.ballot", method="POST", args=lambda w: {"session_id": w.session.id},
          data=lambda w: {f"vote-{w.card.id}": "no"}, expect=group_only(303)),
    Route("tonight.shuffle", method="POST", args=lambda w: {"session_id": w.session.id}, expect=group_only(303)),
    Route("tonight.watched", method="POST", args=lambda w: {"session_id": w.decided.id},
          data=lambda w: {"present": [str(w.owner.id)]}, expect=group_only(303)),
    # Weekly picks: pages and writes act on the signed-in person's own weeks, so there is
    # no one else's week to reach; others' weeks are read at /u/<username>/weeks.
    Route("weeks.current", expect=members_only(200)),
    Route("weeks.week", args=lambda w: _week(w), expect=members_only(200)),
    Route("weeks.choose", args=lambda w: {**_week(w), "kind": "album"}, expect=members_only(200)),
    Route(
        "weeks.add_pick",
        method="POST",
        args=lambda w: {**_week(w), "kind": "album"},
        data=lambda w: {"ref": f"title:{w.album.id}", "position": "", "q": "sample"},
        expect=members_only(303),
    ),
    Route(
        "weeks.add_manual",
        method="POST",
        args=lambda w: {**_week(w), "kind": "film"},
        data=lambda w: {"title": "Home Movie", "year": "2001", "artist": "", "position": "2"},
        expect=members_only(303),
    ),
    Route(
        "weeks.remove_pick",
        method="POST",
        args=lambda w: {**_week(w), "kind": "film", "position": 1},
        expect=members_only(303),
    ),
    Route("weeks.swap_picks", method="POST", args=lambda w: {**_week(w), "kind": "film"}, expect=members_only(303)),
    Route(
        "weeks.save_notes",
        method="POST",
        args=lambda w: _week(w),
        data=lambda w: {"notes": "A quiet week."},
        expect=members_only(303),
    ),
    Route("weeks.user_weeks", args=lambda w: {"username": w.owner.username}, expect=everyone(200)),
    Route("weeks.user_week", args=lambda w: {"username": w.owner.username, **_week(w)}, expect=everyone(200)),
    Route("weeks.stats", args=lambda w: {"username": w.owner.username}, expect=everyone(200)),
    Route("weeks.data", expect=members_only(200)),
    Route("weeks.export_json", expect=members_only(200)),
    Route("weeks.export_zip", expect=members_only(200)),
    # Without a file the import form comes back with its error.
    Route("weeks.import_data", method="POST", data=lambda w: {"file": ""}, expect=members_only(422)),
]


def _week(world: Any) -> dict[str, int]:
    return {"year": world.week.year, "week": world.week.week}



# What each route reads from its query string. tests/guards/test_fuzz_forms.py sends
# these names with random values (and, less often, any name of the list) to the route,
# as it sends random values for every URL parameter.
QUERY_ARGS: dict[str, tuple[str, ...]] = {
    "accounts.login": ("next",),
    "accounts.oauth_callback": ("error", "state", "code", "iss"),
    "social.user_friends": ("page",),
    "social.friends": ("page",),
    "social.search": ("q", "page"),
    "catalog.search": ("q", "type", "page"),
    "catalog.browse": ("q", "genre", "year", "kind", "order", "page"),
    "admin.titles": ("page",),
    "groups.watchlist_page": ("status", "kind", "tonight", "sort", "page"),
    "groups.add_titles": ("q", "type", "page"),
    "tonight.session": ("card", "view"),
    "tonight.history": ("page",),
    "weeks.choose": ("q", "position"),
    "weeks.user_weeks": ("year", "page"),
    "weeks.stats": ("year",),
}
