"""Simultaneous requests over real HTTP: the database settles every race exactly."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import requests
from sqlalchemy import func, select

from tests.live import serve, session_cookie
from webapp.db import db
from webapp.social import services
from webapp.social.models import FriendInvite, Friendship, FriendRequest


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def simultaneously(calls):  # type: ignore[no-untyped-def]
    """Run the calls in threads released together by a barrier; return their results."""
    barrier = threading.Barrier(len(calls))

    def run(call):  # type: ignore[no-untyped-def]
        barrier.wait(timeout=10)
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def test_sixteen_simultaneous_redemptions_of_one_code_make_one_friendship(app, app_ctx, make_user):
    owner = make_user(username="owner")
    invite = services.create_invite(owner)
    takers = [make_user() for _ in range(16)]
    db.session.commit()
    cookies = [session_cookie(app, user) for user in takers]
    code, invite_id, taker_ids = invite.code, invite.id, {user.id for user in takers}
    with serve(app) as base:
        def redeem(cookie):  # type: ignore[no-untyped-def]
            return lambda: requests.post(
                f"{base}/friends/redeem", data={"code": code}, cookies=cookie, allow_redirects=False, timeout=30
            ).status_code

        statuses = simultaneously([redeem(c) for c in cookies])
    assert sorted(statuses) == [303] + [422] * 15, statuses
    db.session.rollback()  # end the test session's read transaction: see the server's commits
    assert count(Friendship) == 1
    used = db.session.get(FriendInvite, invite_id)
    assert used.used_by_id in taker_ids
    friend = db.session.get(type(owner), used.used_by_id)
    assert services.are_friends(owner, friend)


def test_simultaneous_mutual_requests_make_one_friendship(app, app_ctx, make_user):
    pairs = [(make_user(), make_user()) for _ in range(8)]
    db.session.commit()
    with serve(app) as base:
        def ask(asker, asked):  # type: ignore[no-untyped-def]
            cookie, url = session_cookie(app, asker), f"{base}/u/{asked.username}/friend-request"
            return lambda: requests.post(url, cookies=cookie, allow_redirects=False, timeout=30).status_code

        calls = [ask(a, b) for a, b in pairs] + [ask(b, a) for a, b in pairs]
        statuses = simultaneously(calls)
    assert all(status == 303 for status in statuses), statuses
    db.session.rollback()  # end the test session's read transaction: see the server's commits
    assert count(Friendship) == len(pairs)
    assert count(FriendRequest) == 0
    assert all(services.are_friends(a, b) for a, b in pairs)
