"""Group and watchlist rules, service by service."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from tests.tonight.conftest import befriend, make_title
from webapp.accounts import services as accounts
from webapp.catalog import services as catalog
from webapp.catalog import sync
from webapp.db import db, utcnow
from webapp.errors import Forbidden, Invalid, NotFound
from webapp.groups import services, watchlist
from webapp.groups.models import Group, GroupMember, WatchlistItem


@pytest.fixture
def people(make_user):  # type: ignore[no-untyped-def]
    ann, bob, cy, dan = (make_user(username=n) for n in ("ann", "bob", "cy", "dan"))
    befriend(ann, bob)
    befriend(ann, cy)
    db.session.commit()
    return ann, bob, cy, dan


def members_of(group: Group) -> list[str]:
    return [u.username for u in services.members(group)]


class TestGroups:
    def test_create_with_friends(self, people):
        ann, bob, cy, _ = people
        group = services.create_group(ann, "  Friday   club ", [bob.id, cy.id, ann.id])
        db.session.commit()
        assert group.name == "Friday club" and group.owner_id == ann.id
        assert members_of(group) == ["ann", "bob", "cy"]
        assert services.groups_of(bob) == [(group, 3)]

    def test_only_friends_can_be_added(self, people):
        ann, bob, _, dan = people
        with pytest.raises(Invalid) as caught:
            services.create_group(ann, "Club", [bob.id, dan.id])
        assert caught.value.field == "members"
        db.session.rollback()
        assert db.session.scalar(select(func.count(Group.id))) == 0

    @pytest.mark.parametrize("name", ["", "   ", "x" * 81])
    def test_names(self, people, name):
        with pytest.raises(Invalid):
            services.create_group(people[0], name)

    def test_strangers_get_not_found(self, people):
        ann, _, _, dan = people
        group = services.create_group(ann, "Club")
        with pytest.raises(NotFound):
            services.membership(dan, group.id)
        with pytest.raises(NotFound):
            services.membership(ann, 10**6)

    def test_owner_only_actions(self, people):
        ann, bob, _, _ = people
        group = services.create_group(ann, "Club", [bob.id])
        as_bob = services.membership(bob, group.id)
        for action in (lambda: services.rename_group(as_bob, "Mine"), lambda: services.delete_group(as_bob),
                       lambda: services.remove_member(as_bob, ann.id), lambda: services.create_invite(as_bob),
                       lambda: services.add_members(as_bob, bob, [])):
            with pytest.raises(Forbidden):
                action()

    def test_owner_renames_adds_and_removes(self, people):
        ann, bob, cy, _ = people
        group = services.create_group(ann, "Club", [bob.id])
        found = services.membership(ann, group.id)
        services.rename_group(found, "Film club")
        assert services.add_members(found, ann, [cy.id, bob.id]) == 1
        assert services.remove_member(found, bob.id).username == "bob"
        with pytest.raises(Invalid):
            services.remove_member(found, ann.id)
        with pytest.raises(NotFound):
            services.remove_member(found, bob.id)
        db.session.commit()
        assert group.name == "Film club" and members_of(group) == ["ann", "cy"]

    def test_a_member_leaves(self, people):
        ann, bob, _, _ = people
        group = services.create_group(ann, "Club", [bob.id])
        assert services.leave_group(services.membership(bob, group.id)) is group
        db.session.commit()
        assert members_of(group) == ["ann"]

    def test_an_owner_leaving_hands_over_to_the_longest_standing_member(self, people):
        ann, bob, cy, _ = people
        group = services.create_group(ann, "Club", [], now=utcnow() - timedelta(days=3))
        services.add_members(services.membership(ann, group.id), ann, [cy.id])
        db.session.commit()
        services.add_members(services.membership(ann, group.id), ann, [bob.id])
        db.session.execute(GroupMember.__table__.update().where(GroupMember.user_id == bob.id)
                           .values(joined_at=utcnow() + timedelta(hours=1)))
        services.leave_group(services.membership(ann, group.id))
        db.session.commit()
        db.session.refresh(group)
        assert group.owner_id == cy.id and members_of(group) == ["cy", "bob"]

    def test_the_last_member_leaving_deletes_the_group(self, people):
        ann = people[0]
        group = services.create_group(ann, "Solo")
        watchlist.add_item(group, ann, make_title("Alone"))
        assert services.leave_group(services.membership(ann, group.id)) is None
        db.session.commit()
        assert db.session.scalar(select(func.count(Group.id))) == 0
        assert db.session.scalar(select(func.count(WatchlistItem.id))) == 0

    def test_deleting_an_account_hands_its_groups_over(self, people):
        ann, bob, cy, _ = people
        shared = services.create_group(ann, "Shared", [bob.id, cy.id])
        alone = services.create_group(ann, "Alone")
        db.session.commit()
        shared_id, alone_id = shared.id, alone.id
        accounts.delete_account(ann)
        db.session.commit()
        assert db.session.get(Group, alone_id) is None
        assert db.session.get(Group, shared_id).owner_id == bob.id
        assert members_of(db.session.get(Group, shared_id)) == ["bob", "cy"]


class TestInvites:
    def test_a_code_admits_up_to_its_uses(self, people, make_user):
        ann = people[0]
        group = services.create_group(ann, "Club")
        invite = services.create_invite(services.membership(ann, group.id), days=2, max_uses=2)
        first, second, third = make_user(), make_user(), make_user()
        assert services.redeem_invite(first, invite.code).status == "joined"
        assert services.redeem_invite(first, invite.code.lower()).status == "already_member"
        assert services.redeem_invite(second, services.format_code(invite.code)).status == "joined"
        db.session.commit()
        with pytest.raises(Invalid, match="used up"):
            services.redeem_invite(third, invite.code)
        db.session.rollback()
        assert not services.is_member(third.id, group.id)  # nothing half-written
        assert services.active_invites(group) == []

    def test_expired_revoked_unknown(self, people, make_user):
        ann = people[0]
        group = services.create_group(ann, "Club")
        found = services.membership(ann, group.id)
        old = services.create_invite(found, now=utcnow() - timedelta(days=8))
        revoked = services.create_invite(found, max_uses=5)
        services.revoke_invite(found, revoked.id)
        taker = make_user()
        with pytest.raises(Invalid, match="expired"):
            services.redeem_invite(taker, old.code)
        db.session.rollback()
        with pytest.raises(Invalid, match="withdrawn"):
            services.redeem_invite(taker, revoked.code)
        db.session.rollback()
        for code in ("", "nope", "0" * 10, "' OR 1=1 --"):
            with pytest.raises(Invalid, match="don't know"):
                services.redeem_invite(taker, code)
        with pytest.raises(NotFound):
            services.revoke_invite(found, revoked.id)

    @pytest.mark.parametrize("days,uses,field", [(0, 1, "days"), (31, 1, "days"), (7, 0, "max_uses"), (7, 101, "max_uses")])
    def test_limits(self, people, days, uses, field):
        ann = people[0]
        group = services.create_group(ann, "Club")
        with pytest.raises(Invalid) as caught:
            services.create_invite(services.membership(ann, group.id), days=days, max_uses=uses)
        assert caught.value.field == field


class TestWatchlist:
    @pytest.fixture
    def club(self, people):  # type: ignore[no-untyped-def]
        ann, bob, _, _ = people
        group = services.create_group(ann, "Club", [bob.id])
        db.session.commit()
        return group

    def test_one_item_per_title(self, people, club):
        ann, bob = people[0], people[1]
        title = make_title("Heat")
        item, added = watchlist.add_item(club, ann, title, "  Pacino  and De Niro ")
        again, added_again = watchlist.add_item(club, bob, title, "mine")
        assert added and not added_again and again.id == item.id
        assert item.note == "Pacino and De Niro" and item.added_by_id == ann.id

    def test_note_length(self, people, club):
        with pytest.raises(Invalid):
            watchlist.add_item(club, people[0], make_title("Heat"), "x" * 201)

    def test_refs(self, club):
        title = make_title("Heat")
        assert sync.title_for_ref(f"title:{title.id}").id == title.id
        for ref in ("", "title:", "title:99999999", "tmdb:album:1", "musicbrainz:not-a-uuid", "title:1 OR 1=1",
                    "x" * 500):
            with pytest.raises(Invalid) as caught:
                sync.title_for_ref(ref)
            assert caught.value.field == "ref"

    def test_manual_titles_reuse_the_catalog(self, club):
        heat = make_title("Heat", year=1995)
        assert catalog.find_or_add_title("movie", " heat ", year=1995).id == heat.id
        new = catalog.find_or_add_title("movie", "Home video", runtime_minutes=30)
        assert new.source == "manual" and new.id != heat.id and new.runtime_minutes == 30
        with pytest.raises(Invalid):
            catalog.find_or_add_title("podcast", "X")

    def test_snooze_dates(self):
        today = date(2026, 11, 30)
        assert watchlist.snooze_until("week", None, today=today).date() == date(2026, 12, 7)
        assert watchlist.snooze_until(None, date(2026, 12, 24), today=today).date() == date(2026, 12, 24)
        for preset, on in ((None, today), (None, date(2020, 1, 1)), (None, None), (None, date(2028, 1, 1))):
            with pytest.raises(Invalid) as caught:
                watchlist.snooze_until(preset, on, today=today)
            assert caught.value.field == "until"

    def test_filters_and_counts(self, people, club):
        ann = people[0]
        items = [watchlist.add_item(club, ann, make_title(n, kind=k, runtime=r))[0]
                 for n, k, r in (("A film", "movie", 90), ("A show", "tv", 30), ("An album", "album", 40))]
        watchlist.set_status(items[0], "watched")
        watchlist.snooze(items[1], utcnow() + timedelta(days=3))
        db.session.commit()
        names = lambda f: [i.title.title for i in watchlist.items_page(club, f, page=1).items]  # noqa: E731
        assert names(watchlist.Filters(status="watched")) == ["A film"]
        assert names(watchlist.Filters(kind="tv")) == ["A show"]
        assert names(watchlist.Filters(tonight=True)) == ["An album"]
        assert names(watchlist.Filters(sort="runtime")) == ["A show", "An album", "A film"]
        assert watchlist.counts(club) == {"watchlist": 2, "watched": 1, "snoozed": 1, "eligible": 1}
        with pytest.raises(Invalid):
            watchlist.set_status(items[2], "lost")
