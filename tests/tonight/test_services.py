"""Tonight's rules, service by service: the deck, votes, every resolution rule, and
determinism across processes and databases."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.fakes.openai import FakeOpenAI
from tests.tonight.conftest import make_title
from webapp.db import db, utcnow
from webapp.errors import Invalid, NotFound
from webapp.groups import watchlist
from webapp.providers.http import make_session
from webapp.providers.llm import LlmClient
from webapp.tonight import services
from webapp.tonight.models import Candidate, TonightSession, Viewing, Vote
from webapp.tonight.parsing import Constraints


def start(crew, constraints=Constraints(), **kwargs):  # type: ignore[no-untyped-def]
    kwargs.setdefault("candidate_count", 4)
    session = services.start_session(crew.group, crew.ann, constraints, **kwargs)
    db.session.commit()
    return session


def vote(session, user, title_name, value, crew, now=None):  # type: ignore[no-untyped-def]
    card = next(c for c in services.deck(session) if c.title.title == title_name)
    services.cast_votes(session, user, {card.id: value}, now=now)
    db.session.commit()


def expire(session) -> None:  # type: ignore[no-untyped-def]
    db.session.execute(
        TonightSession.__table__.update().where(TonightSession.id == session.id)
        .values(ends_at=utcnow() - timedelta(seconds=1))
    )
    db.session.commit()


def resolved(session):  # type: ignore[no-untyped-def]
    assert services.resolve_due(session_id=session.id)
    db.session.commit()
    db.session.refresh(session)
    cards = services.deck(session)
    return services.result(session, cards)


SEED = bytes(range(32))


class TestDeterminism:
    def test_deck_order_and_draw_are_pinned(self):
        # Pinned values: the same in every process, on every database and every run.
        assert services.deck_order(SEED, 7, list(range(1, 11))) == [7, 3, 8, 2, 9, 4, 5, 10, 6, 1]
        assert services.draw(SEED, 7, list(range(1, 11))) == 6
        assert services.draw(SEED, 12345, [3, 9, 27]) == 3

    def test_the_same_in_another_process(self):
        code = ("import json; from webapp.tonight.services import deck_order, draw; seed = bytes(range(32)); "
                "print(json.dumps([deck_order(seed, 99, list(range(50))), draw(seed, 99, list(range(50)))]))")
        # A different hash seed proves nothing depends on Python's salted hash().
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                             env={"PYTHONHASHSEED": "4242", "PATH": ""}).stdout
        order, winner = json.loads(out)
        assert order == services.deck_order(SEED, 99, list(range(50)))
        assert winner == services.draw(SEED, 99, list(range(50)))

    def test_input_order_does_not_matter(self):
        ids = list(range(1, 30))
        assert services.deck_order(SEED, 5, ids) == services.deck_order(SEED, 5, list(reversed(ids)))

    def test_the_deck_is_the_pools_shuffle_by_the_sessions_seed(self, crew):
        session = start(crew, candidate_count=20)
        titles = [c.title_id for c in services.deck(session)]
        assert titles == services.deck_order(session.draw_seed, session.id, [t.id for t in crew.titles])

    def test_the_seed_is_secret_and_random_not_the_ids(self, crew):
        """The draw no longer follows from public ids: the same session id and deck
        give different deals and draws under different seeds, and each session gets
        its own 32 random bytes."""
        ids = [t.id for t in crew.titles]
        other = bytes(32)
        assert services.deck_order(SEED, 1, ids) != services.deck_order(other, 1, ids)
        draws = {services.draw(secrets.token_bytes(32), 1, ids) for _ in range(40)}
        assert len(draws) > 1
        first = start(crew, candidate_count=4)
        services.shuffle(first)
        db.session.commit()
        second = start(crew, candidate_count=4)
        db.session.commit()
        assert len(first.draw_seed) == len(second.draw_seed) == 32
        assert first.draw_seed != second.draw_seed
        with pytest.raises(ValueError):
            services.draw(b"", 1, ids)


class TestStarting:
    def test_deals_a_frozen_deck_of_the_requested_size(self, crew):
        session = start(crew, candidate_count=3, duration_minutes=30)
        cards = services.deck(session)
        assert [c.position for c in cards] == [1, 2, 3]
        assert session.ends_at - session.created_at == timedelta(minutes=30)
        assert session.is_open
        # The deck is frozen: items added later do not join it.
        watchlist.add_item(crew.group, crew.bob, make_title("Late arrival"))
        db.session.commit()
        assert [c.id for c in services.deck(session)] == [c.id for c in cards]

    def test_cards_remember_who_suggested_them(self, crew):
        session = start(crew, candidate_count=20)
        by_title = {i.title_id: i.added_by_id for i in crew.items}
        assert all(c.suggested_by_id == by_title[c.title_id] for c in services.deck(session))

    def test_a_smaller_pool_deals_what_there_is(self, crew):
        session = start(crew, Constraints(format="tv"), candidate_count=5)
        assert [c.title.title for c in services.deck(session)] == ["Fleabag"]

    @pytest.mark.parametrize("constraints,field,words", [
        (Constraints(format="tv", max_runtime=10), "max_runtime", "10 minutes"),
        (Constraints(genres=("Western",)), "genres", "Western"),
        (Constraints(format="movie", genres=("Family",), max_runtime=90), "genres", "Family"),
    ])
    def test_an_empty_pool_names_the_constraint_that_emptied_it(self, crew, constraints, field, words):
        with pytest.raises(services.EmptyPool) as caught:
            services.start_session(crew.group, crew.ann, constraints)
        assert caught.value.field == field and words in caught.value.message
        db.session.rollback()
        assert db.session.scalar(select(func.count(TonightSession.id))) == 0

    def test_no_eligible_items_at_all(self, crew):
        for item in crew.items:
            watchlist.set_status(item, "watched")
        db.session.commit()
        with pytest.raises(services.EmptyPool, match="add titles"):
            services.start_session(crew.group, crew.ann, Constraints())

    def test_formats_and_runtimes_filter(self, crew):
        session = start(crew, Constraints(format="movie", max_runtime=110), candidate_count=20)
        assert sorted(c.title.title for c in services.deck(session)) == ["Airplane!", "Paddington 2"]

    def test_genres_match_any_of_them(self, crew):
        session = start(crew, Constraints(genres=("Comedy", "Crime")), candidate_count=20)
        assert sorted(c.title.title for c in services.deck(session)) == ["Airplane!", "Fleabag", "Heat", "Paddington 2"]

    def test_snoozed_and_watched_items_stay_out(self, crew):
        watchlist.snooze(crew.items[0], utcnow() + timedelta(days=2))
        watchlist.set_status(crew.items[1], "watched")
        watchlist.snooze(crew.items[2], utcnow() - timedelta(days=1))  # a snooze that has ended
        db.session.commit()
        session = start(crew, candidate_count=20)
        assert sorted(c.title.title for c in services.deck(session)) == ["Arrival", "Fleabag", "Heat", "Paddington 2"]

    def test_leaving_out_what_any_member_has_watched(self, crew):
        db.session.add(Viewing(user_id=crew.cy.id, title_id=crew.titles[0].id))
        db.session.commit()
        session = start(crew, Constraints(exclude_watched=True), candidate_count=20)
        assert "Alien" not in [c.title.title for c in services.deck(session)]
        assert len(services.deck(session)) == 5

    def test_one_open_session_per_group(self, crew):
        first = start(crew)
        with pytest.raises(services.AlreadyOpen) as caught:
            services.start_session(crew.group, crew.bob, Constraints())
        assert caught.value.session.id == first.id

    def test_an_expired_open_session_is_resolved_before_a_new_one(self, crew):
        first = start(crew)
        expire(first)
        second = start(crew)
        db.session.refresh(first)
        assert first.status == "completed" and second.is_open

    @pytest.mark.parametrize("duration,count,field", [
        (0, 4, "duration"), (-5, 4, "duration"), (24 * 60 + 1, 4, "duration"), (10**9, 4, "duration"),
        (15, 1, "candidates"), (15, 21, "candidates"), (15, -1, "candidates"),
    ])
    def test_numbers_out_of_range(self, crew, duration, count, field):
        with pytest.raises(Invalid) as caught:
            services.start_session(crew.group, crew.ann, Constraints(), duration_minutes=duration,
                                   candidate_count=count)
        assert caught.value.field == field


class TestVoting:
    def test_votes_change_until_the_deadline(self, crew):
        session = start(crew)
        card = services.deck(session)[0]
        services.cast_votes(session, crew.bob, {card.id: True})
        services.cast_votes(session, crew.bob, {card.id: False})
        db.session.commit()
        assert services.my_votes(session, crew.bob) == {card.id: False}
        assert db.session.scalar(select(func.count(Vote.id))) == 1

    def test_only_the_sessions_cards(self, crew):
        session = start(crew)
        other_group_card = 10**6
        with pytest.raises(NotFound):
            services.cast_votes(session, crew.bob, {other_group_card: True})

    def test_votes_after_the_deadline_are_refused(self, crew):
        session = start(crew, duration_minutes=5)
        card = services.deck(session)[0]
        with pytest.raises(services.Closed):
            services.cast_votes(session, crew.bob, {card.id: True}, now=session.ends_at)
        db.session.rollback()
        assert db.session.scalar(select(func.count(Vote.id))) == 0

    def test_votes_on_a_completed_session_are_refused(self, crew):
        session = start(crew)
        services.shuffle(session)
        db.session.commit()
        with pytest.raises(services.Closed):
            services.cast_votes(session, crew.bob, {services.deck(session)[0].id: True})

    def test_progress_counts_members_who_voted_on_every_card(self, crew):
        session = start(crew, candidate_count=2)
        cards = services.deck(session)
        services.cast_votes(session, crew.bob, {cards[0].id: True, cards[1].id: False})
        services.cast_votes(session, crew.cy, {cards[0].id: True})
        db.session.commit()
        assert services.progress(session) == services.Progress(members=3, finished=1, deck_size=2)


class TestResolution:
    def test_most_yes_wins(self, crew):
        session = start(crew, Constraints(format="movie", max_runtime=120), candidate_count=4)
        # Airplane!, Alien, Arrival, Paddington 2
        vote(session, crew.ann, "Alien", True, crew)
        vote(session, crew.bob, "Alien", True, crew)
        vote(session, crew.cy, "Arrival", True, crew)
        vote(session, crew.cy, "Alien", False, crew)
        expire(session)
        result = resolved(session)
        assert result.winner.title.title == "Alien" and result.resolution == "votes"
        tallies = {card.title.title: (t.yes, t.no) for card, t in result.tallies}
        assert tallies["Alien"] == (2, 1) and tallies["Arrival"] == (1, 0) and tallies["Airplane!"] == (0, 0)

    def test_ties_go_to_fewest_no(self, crew):
        session = start(crew, Constraints(format="movie", max_runtime=120), candidate_count=4)
        vote(session, crew.ann, "Alien", True, crew)
        vote(session, crew.bob, "Arrival", True, crew)
        vote(session, crew.cy, "Alien", False, crew)
        expire(session)
        result = resolved(session)
        assert result.winner.title.title == "Arrival" and result.resolution == "fewest_no"

    def test_a_full_tie_is_a_draw_seeded_by_the_session(self, crew):
        session = start(crew, Constraints(format="movie", max_runtime=120), candidate_count=4)
        vote(session, crew.ann, "Alien", True, crew)
        vote(session, crew.bob, "Arrival", True, crew)
        vote(session, crew.cy, "Paddington 2", False, crew)
        expire(session)
        result = resolved(session)
        ids = {c.title.title: c.title_id for c in services.deck(session)}
        expected = services.draw(session.draw_seed, session.id, [ids["Alien"], ids["Arrival"]])
        assert result.winner.title_id == expected and result.resolution == "tiebreak"

    def test_nobody_voted_draws_from_the_deck(self, crew):
        session = start(crew, candidate_count=4)
        expire(session)
        result = resolved(session)
        deck = [c.title_id for c in services.deck(session)]
        assert result.winner.title_id == services.draw(session.draw_seed, session.id, deck)
        assert result.resolution == "no_votes"

    def test_all_no_still_picks_by_fewest_no(self, crew):
        session = start(crew, Constraints(format="movie", max_runtime=120), candidate_count=4)
        for user in crew.members:
            vote(session, user, "Alien", False, crew)
            vote(session, user, "Arrival", False, crew)
            vote(session, user, "Airplane!", False, crew)
        vote(session, crew.ann, "Paddington 2", False, crew)
        expire(session)
        result = resolved(session)
        assert result.winner.title.title == "Paddington 2" and result.resolution == "fewest_no"

    def test_a_single_candidate_wins(self, crew):
        session = start(crew, Constraints(format="tv"), candidate_count=4)
        vote(session, crew.bob, "Fleabag", False, crew)
        expire(session)
        result = resolved(session)
        assert result.winner.title.title == "Fleabag"

    def test_shuffle_completes_at_once_with_the_draw(self, crew):
        session = start(crew, candidate_count=4)
        vote(session, crew.ann, services.deck(session)[0].title.title, True, crew)
        services.shuffle(session)
        db.session.commit()
        db.session.refresh(session)
        deck = [c.title_id for c in services.deck(session)]
        winner = next(c for c in services.deck(session) if c.position == session.winner_position)
        assert session.status == "completed" and session.resolution == "shuffle"
        assert winner.title_id == services.draw(session.draw_seed, session.id, deck)
        with pytest.raises(services.Closed):
            services.shuffle(session)

    def test_resolution_happens_once(self, crew):
        session = start(crew)
        expire(session)
        assert services.resolve_due(session_id=session.id) is True
        assert services.resolve_due(session_id=session.id) is False
        db.session.commit()

    def test_not_before_the_deadline(self, crew):
        session = start(crew)
        assert services.resolve_due(session_id=session.id) is False
        assert services.settle(session_id=session.id) is False

    def test_the_same_votes_give_the_same_winner_every_time(self, crew):
        session = start(crew, candidate_count=4)
        expire(session)
        first = services.pick_winner(session.id, session.draw_seed, services.tallies(session.id))
        again = services.pick_winner(session.id, session.draw_seed, list(reversed(services.tallies(session.id))))
        assert first == again


class TestWatched:
    def test_we_watched_it_marks_the_item_and_logs_viewings(self, crew):
        session = start(crew, candidate_count=4)
        services.shuffle(session)
        db.session.commit()
        added = services.log_watched(session, crew.group, [crew.ann.id, crew.cy.id])
        db.session.commit()
        winner = next(c for c in services.deck(session) if c.position == session.winner_position)
        item = next(i for i in crew.items if i.title_id == winner.title_id)
        db.session.refresh(item)
        assert added == 2 and item.status == "watched"
        assert sorted(services.viewers(session)) == sorted([crew.ann.id, crew.cy.id])
        assert [v.title_id for v in services.recent_viewings(crew.cy)] == [winner.title_id]
        # Again, with bob as well: only bob's viewing is new.
        assert services.log_watched(session, crew.group, [crew.ann.id, crew.bob.id, crew.cy.id]) == 1

    def test_not_before_the_result(self, crew):
        session = start(crew)
        with pytest.raises(Invalid):
            services.log_watched(session, crew.group, [crew.ann.id])

    def test_only_members_can_be_ticked(self, crew, make_user):
        session = start(crew)
        services.shuffle(session)
        outsider = make_user()
        with pytest.raises(Invalid) as caught:
            services.log_watched(session, crew.group, [outsider.id])
        assert caught.value.field == "present"
        with pytest.raises(Invalid):
            services.log_watched(session, crew.group, [])

    def test_viewings_outlive_a_removed_item(self, crew):
        session = start(crew, candidate_count=4)
        services.shuffle(session)
        db.session.commit()
        winner = next(c for c in services.deck(session) if c.position == session.winner_position)
        watchlist.remove_item(next(i for i in crew.items if i.title_id == winner.title_id))
        db.session.commit()
        assert services.log_watched(session, crew.group, [crew.ann.id]) == 1
        assert db.session.scalar(select(func.count(Candidate.id)).where(Candidate.session_id == session.id)) == 4


class TestRerank:
    """Against the local OpenAI-compatible fake, which reverses the order it is given."""

    @pytest.fixture
    def assistant(self):  # type: ignore[no-untyped-def]
        with FakeOpenAI() as fake:
            client = LlmClient(make_session(), base_url=fake.url, api_key=fake.api_key, model="test-model")
            yield client
            client.session.close()

    def test_reorders_a_fresh_deck(self, crew, assistant):
        session = start(crew, candidate_count=4, free_text="something fun")
        before = [c.id for c in services.deck(session)]
        assert services.rerank(session, assistant)
        db.session.commit()
        assert [c.id for c in services.deck(session)] == list(reversed(before))

    def test_not_once_someone_has_voted(self, crew, assistant):
        session = start(crew, candidate_count=4, free_text="something fun")
        before = [c.id for c in services.deck(session)]
        services.cast_votes(session, crew.bob, {before[0]: True})
        db.session.commit()
        assert not services.rerank(session, assistant)
        db.session.commit()
        assert [c.id for c in services.deck(session)] == before
