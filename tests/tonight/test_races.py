"""Simultaneous requests over real HTTP against the app served on 127.0.0.1: votes,
resolutions, session starts and group codes stay exact on SQLite and PostgreSQL."""

from __future__ import annotations

import random
import re
from datetime import timedelta

import requests
from sqlalchemy import func, select

from tests.live import serve, session_cookie
from tests.social.test_races import simultaneously
from tests.tonight.conftest import befriend, make_title
from webapp.db import db, utcnow
from webapp.groups import services as groups
from webapp.groups import watchlist
from webapp.groups.models import GroupInvite, GroupMember
from webapp.tonight import services
from webapp.tonight.models import TonightSession, Vote
from webapp.tonight.parsing import Constraints


def big_group(make_user, size: int):  # type: ignore[no-untyped-def]
    owner = make_user(username="host")
    others = [make_user() for _ in range(size - 1)]
    for other in others:
        befriend(owner, other)
    group = groups.create_group(owner, "Big night", [o.id for o in others])
    for i in range(6):
        watchlist.add_item(group, owner, make_title(f"Film {i}"))
    db.session.commit()
    return owner, others, group


def test_fifty_voters_changing_their_votes_end_in_the_exact_final_state(app, app_ctx, make_user):
    owner, others, group = big_group(make_user, 50)
    session = services.start_session(group, owner, Constraints(), candidate_count=4, duration_minutes=60)
    db.session.commit()
    session_id, cards = session.id, [c.id for c in services.deck(session)]
    voters = [owner, *others]
    cookies = {user.id: session_cookie(app, user) for user in voters}
    acknowledged: dict[tuple[int, int], bool] = {}
    failures: list[int] = []
    with serve(app) as base:
        def voter(user_id: int, seed: int):  # type: ignore[no-untyped-def]
            def run():  # type: ignore[no-untyped-def]
                rng = random.Random(seed)
                with requests.Session() as http:
                    http.cookies.update(cookies[user_id])
                    for _ in range(6):
                        card, value = rng.choice(cards), rng.choice(["yes", "no"])
                        response = http.post(f"{base}/sessions/{session_id}/vote",
                                             data={"candidate": card, "vote": value},
                                             allow_redirects=False, timeout=60)
                        if response.status_code == 303:
                            acknowledged[(user_id, card)] = value == "yes"
                        else:
                            failures.append(response.status_code)
            return run

        simultaneously([voter(user.id, seed) for seed, user in enumerate(voters)])
    assert failures == []
    db.session.rollback()  # see the server's commits
    stored = {(v.user_id, v.candidate_id): v.value for v in db.session.scalars(select(Vote))}
    assert stored == acknowledged
    assert db.session.get(TonightSession, session_id).ballots == 50 * 6


def test_twenty_simultaneous_reads_of_an_expired_session_resolve_it_once(app, app_ctx, make_user):
    owner, others, group = big_group(make_user, 20)
    session = services.start_session(group, owner, Constraints(), candidate_count=4)
    db.session.commit()
    cards = services.deck(session)
    services.cast_votes(session, others[0], {cards[2].id: True})
    session.ends_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    session_id = session.id
    resolutions: list[int] = []

    def count(sender: int, **_: object) -> None:
        resolutions.append(sender)

    services.session_resolved.connect(count)
    try:
        with serve(app) as base:
            def read(user):  # type: ignore[no-untyped-def]
                cookie = session_cookie(app, user)
                return lambda: requests.get(f"{base}/sessions/{session_id}", cookies=cookie, timeout=60)

            responses = simultaneously([read(user) for user in [owner, *others]])
    finally:
        services.session_resolved.disconnect(count)
    assert [r.status_code for r in responses] == [200] * 20
    assert resolutions == [session_id]
    db.session.rollback()
    done = db.session.get(TonightSession, session_id)
    assert done.status == "completed" and done.resolution == "votes" and done.winner_position == cards[2].position
    # Every reader saw the same result.
    winners = {re.search(r'id="winner-heading"><a href="[^"]+">([^<]+)<', r.text).group(1) for r in responses}
    assert winners == {cards[2].title.title}


def test_a_vote_racing_the_resolution_lands_before_it_or_is_refused(app, app_ctx, make_user):
    owner, others, group = big_group(make_user, 12)
    session = services.start_session(group, owner, Constraints(), candidate_count=2, duration_minutes=1)
    db.session.commit()
    session_id, card = session.id, services.deck(session)[0].id
    voters = [owner, *others]
    cookies = {user.id: session_cookie(app, user) for user in voters}  # before the clock starts
    owner_id = owner.id
    with serve(app) as base:
        # Voting closes while the votes are in flight: move the deadline to now.
        session.ends_at = utcnow() + timedelta(milliseconds=150)
        db.session.commit()

        def cast(user):  # type: ignore[no-untyped-def]
            cookie = cookies[user.id]
            return lambda: requests.post(f"{base}/sessions/{session_id}/vote", data={"candidate": card, "vote": "yes"},
                                         cookies=cookie, allow_redirects=False, timeout=60).status_code

        def read():  # type: ignore[no-untyped-def]
            cookie = cookies[owner_id]
            import time
            time.sleep(0.15)
            return requests.get(f"{base}/sessions/{session_id}", cookies=cookie, timeout=60).status_code

        statuses = simultaneously([cast(u) for u in voters] + [read for _ in range(4)])
    assert set(statuses) <= {303, 409, 200}, statuses
    db.session.rollback()
    accepted = sum(1 for s in statuses[: len(voters)] if s == 303)
    stored_yes = db.session.scalar(select(func.count(Vote.id)).where(Vote.session_id == session_id))
    assert stored_yes == accepted
    services.settle(session_id=session_id) if db.session.get(TonightSession, session_id).is_open else None
    db.session.rollback()
    tally = {t.candidate_id: t.yes for t in services.tallies(session_id)}
    assert tally[card] == accepted


def test_simultaneous_starts_open_one_session(app, app_ctx, make_user):
    owner, others, group = big_group(make_user, 8)
    group_id = group.id
    with serve(app) as base:
        def begin(user):  # type: ignore[no-untyped-def]
            cookie = session_cookie(app, user)
            return lambda: requests.post(f"{base}/groups/{group_id}/tonight", data={"duration": "15", "candidates": "3"},
                                         cookies=cookie, allow_redirects=False, timeout=60)

        responses = simultaneously([begin(u) for u in [owner, *others]])
    assert [r.status_code for r in responses] == [303] * 8
    db.session.rollback()
    sessions = db.session.scalars(select(TonightSession).where(TonightSession.group_id == group_id)).all()
    assert len(sessions) == 1
    assert {r.headers["Location"] for r in responses} == {f"/sessions/{sessions[0].id}"}


def redeem_at_once(app, code: str, users) -> list[int]:  # type: ignore[no-untyped-def]
    """POST the group code for each user, all released together; the status codes."""
    with serve(app) as base:
        def join(user):  # type: ignore[no-untyped-def]
            cookie = session_cookie(app, user)
            return lambda: requests.post(f"{base}/groups/join", data={"code": code}, cookies=cookie,
                                         allow_redirects=False, timeout=60).status_code

        return simultaneously([join(u) for u in users])


def test_sixteen_simultaneous_redemptions_of_a_one_use_code_admit_one(app, app_ctx, make_user):
    owner, others, group = big_group(make_user, 2)
    invite = groups.create_invite(groups.membership(owner, group.id), max_uses=1)
    takers = [make_user() for _ in range(16)]
    db.session.commit()
    code, group_id = invite.code, group.id
    statuses = redeem_at_once(app, code, takers)
    assert sorted(statuses) == [303] + [422] * 15, statuses
    db.session.rollback()
    assert db.session.scalar(select(func.count(GroupMember.id)).where(GroupMember.group_id == group_id)) == 3
    assert db.session.get(GroupInvite, invite.id).uses == 1


def test_a_code_with_three_uses_admits_exactly_three(app, app_ctx, make_user):
    owner, others, group = big_group(make_user, 2)
    invite = groups.create_invite(groups.membership(owner, group.id), max_uses=3)
    takers = [make_user() for _ in range(12)]
    db.session.commit()
    code, group_id = invite.code, group.id
    # Each of the first four twice: a second redemption by a member is a no-op and spends nothing.
    statuses = redeem_at_once(app, code, takers + takers[:4])
    assert statuses.count(422) >= 9 and all(s in (303, 422) for s in statuses), statuses
    db.session.rollback()
    assert db.session.scalar(select(func.count(GroupMember.id)).where(GroupMember.group_id == group_id)) == 2 + 3
    assert db.session.get(GroupInvite, invite.id).uses == 3
