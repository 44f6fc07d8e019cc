"""Tonight's pages: starting (with and without the assistant), blind voting in both
views, stale forms, the result, and query budgets."""

from __future__ import annotations

import difflib
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.conftest import HTMX, login, make_app
from tests.fakes.openai import FakeOpenAI
from tests.tonight.conftest import make_title
from webapp.db import db, utcnow
from webapp.groups import watchlist
from webapp.tonight import services
from webapp.tonight.models import TonightSession, Vote
from webapp.tonight.parsing import Constraints


def open_session(crew, **kwargs):  # type: ignore[no-untyped-def]
    kwargs.setdefault("candidate_count", 4)
    session = services.start_session(crew.group, crew.ann, Constraints(), **kwargs)
    db.session.commit()
    return session


def scrub(html: str) -> str:
    """A page without what legitimately differs between two renderings."""
    html = re.sub(r'name="csrf_token" (type="hidden" )?value="[^"]*"', "csrf", html)
    html = re.sub(r'value="[^"]*" name="csrf_token"', "csrf", html)
    html = re.sub(r'<meta name="csrf-token" content="[^"]*">', "", html)
    html = re.sub(r"\(\d+ minutes left\)|\(less than a minute left\)", "", html)
    return html


class TestStart:
    def test_the_form_offers_the_pools_genres(self, client, crew):
        login(client, crew.bob)
        page = client.get(f"/groups/{crew.group.id}/tonight").get_data(as_text=True)
        assert 'value="Comedy"' in page and 'value="Crime"' in page and "Deal the deck" in page

    @pytest.mark.parametrize("data,field,message", [
        ({"duration": "0", "candidates": "4"}, "duration", "Choose 1 to 1440 minutes."),
        ({"duration": "99999999999999999999", "candidates": "4"}, "duration", "Choose 1 to 1440 minutes."),
        ({"duration": "15", "candidates": "21"}, "candidates", "Choose 2 to 20 cards."),
        ({"duration": "15", "candidates": "-3"}, "candidates", "Choose 2 to 20 cards."),
        ({"duration": "15", "candidates": "4", "max_runtime": "-5"}, "max_runtime", "Choose 1 to 1000 minutes."),
    ])
    def test_bad_numbers_re_render_the_form(self, client, crew, data, field, message):
        login(client, crew.bob)
        response = client.post(f"/groups/{crew.group.id}/tonight", data={"text": "a comedy", **data})
        page = response.get_data(as_text=True)
        assert response.status_code == 422
        assert re.search(rf'id="{field}-error"[^>]*>{re.escape(message)}<', page)
        assert 'value="a comedy"' in page  # input kept
        assert db.session.scalar(select(TonightSession.id)) is None

    def test_an_empty_pool_says_which_constraint_emptied_it(self, client, crew):
        login(client, crew.bob)
        response = client.post(f"/groups/{crew.group.id}/tonight",
                               data={"format": "tv", "max_runtime": "20", "duration": "15", "candidates": "4"})
        assert response.status_code == 422
        assert re.search(r'id="max_runtime-error"[^>]*>Nothing left runs 20 minutes or less', response.get_data(as_text=True))

    def test_free_text_is_read_by_the_rules_and_shown(self, client, crew):
        login(client, crew.bob)
        response = client.post(f"/groups/{crew.group.id}/tonight",
                               data={"text": "a comedy film under 2 hours", "duration": "15", "candidates": "4"})
        assert response.status_code == 303
        session = db.session.scalar(select(TonightSession))
        assert session.parsed_by == "rules"
        assert sorted(c.title.title for c in services.deck(session)) == ["Airplane!", "Paddington 2"]
        page = client.get(response.headers["Location"]).get_data(as_text=True)
        assert "You asked for “a comedy film under 2 hours”" in page
        assert "Films only" in page and "Comedy" in page

    def test_a_second_start_leads_to_the_open_session(self, client, crew):
        first = open_session(crew)
        login(client, crew.cy)
        assert client.get(f"/groups/{crew.group.id}/tonight").headers["Location"] == f"/sessions/{first.id}"
        response = client.post(f"/groups/{crew.group.id}/tonight", data={"duration": "15", "candidates": "4"})
        assert response.status_code == 303 and response.headers["Location"] == f"/sessions/{first.id}"


class TestAssistant:
    @pytest.fixture
    def fake(self):  # type: ignore[no-untyped-def]
        with FakeOpenAI(timeout_delay=1.0) as server:
            yield server

    @pytest.fixture
    def assisted(self, database_url, fake):  # type: ignore[no-untyped-def]
        app = make_app(database_url, OPENAI_API_KEY=fake.api_key, OPENAI_BASE_URL=fake.url,
                       OPENAI_MODEL="test-model", LLM_TIMEOUT=0.3)
        return app.test_client()

    def start(self, client, crew):  # type: ignore[no-untyped-def]
        login(client, crew.bob)
        response = client.post(f"/groups/{crew.group.id}/tonight",
                               data={"text": "something fun, a comedy", "duration": "15", "candidates": "6"})
        assert response.status_code == 303
        db.session.rollback()
        return db.session.scalar(select(TonightSession))

    def test_a_good_answer_parses_and_reranks(self, assisted, crew, fake):
        fake.wish = {"format": "any", "max_runtime": 120, "genres": ["Comedy"], "exclude_watched": False}
        session = self.start(assisted, crew)
        assert session.parsed_by == "llm" and session.reranked
        deck = [c.title.title for c in services.deck(session)]
        # The fake reverses the order it was given: the seeded shuffle, reversed.
        shuffled = services.deck_order(session.draw_seed, session.id, [t.id for t in crew.titles if t.title in deck])
        assert [c.title_id for c in services.deck(session)] == list(reversed(shuffled))
        assert sorted(deck) == ["Airplane!", "Fleabag", "Paddington 2"]  # comedies under two hours
        assert fake.requests[0].headers["Authorization"] == f"Bearer {fake.api_key}"
        assert fake.requests[0].body["model"] == "test-model"
        page = assisted.get(f"/sessions/{session.id}").get_data(as_text=True)
        assert "read by the assistant" in page and "The assistant ordered the cards" in page

    @pytest.mark.parametrize("mode", ["nonsense", "timeout", "error"])
    def test_a_failing_assistant_falls_back_silently_to_the_rules(self, assisted, crew, fake, mode):
        fake.mode = mode
        session = self.start(assisted, crew)
        assert session.parsed_by == "rules" and not session.reranked
        assert sorted(c.title.title for c in services.deck(session)) == ["Airplane!", "Fleabag", "Paddington 2"]
        page = assisted.get(f"/sessions/{session.id}").get_data(as_text=True)
        assert "assistant" not in page

    def test_an_assistant_that_is_down(self, assisted, crew, fake):
        fake.stop()  # the address now refuses connections
        session = self.start(assisted, crew)
        assert session.parsed_by == "rules" and not session.reranked


class TestVoting:
    def test_a_card_vote_moves_to_the_next_card(self, client, crew):
        session = open_session(crew)
        cards = services.deck(session)
        login(client, crew.bob)
        page = client.get(f"/sessions/{session.id}").get_data(as_text=True)
        assert "Card 1 of 4" in page
        response = client.post(f"/sessions/{session.id}/vote", data={"candidate": cards[0].id, "vote": "yes"})
        assert response.status_code == 303
        page = client.get(response.headers["Location"]).get_data(as_text=True)
        assert "Card 2 of 4" in page and "you said yes" in page

    def test_htmx_gets_the_next_card_and_the_status(self, client, crew):
        session = open_session(crew)
        cards = services.deck(session)
        login(client, crew.bob)
        response = client.post(f"/sessions/{session.id}/vote", data={"candidate": cards[0].id, "vote": "no"},
                               headers=HTMX)
        body = response.get_data(as_text=True)
        assert response.status_code == 200 and "<html" not in body
        assert body.startswith('<section id="voting"') and "Card 2 of 4" in body
        assert '<hx-partial hx-target="#session-progress" hx-swap="innerHTML"><strong>0 of 3</strong>' in body

    def test_htmx_ballots_keep_the_list_and_say_so(self, client, crew):
        session = open_session(crew)
        cards = services.deck(session)
        login(client, crew.bob)
        response = client.post(f"/sessions/{session.id}/ballot",
                               data={**{f"vote-{c.id}": "yes" for c in cards}, "view": "list"}, headers=HTMX)
        body = response.get_data(as_text=True)
        assert response.status_code == 200 and 'id="ballot-form"' in body
        assert "<strong>1 of 3</strong>" in body and "Saved your 4 votes." in body
        response = client.post(f"/sessions/{session.id}/ballot", data={"view": "list"}, headers=HTMX)
        assert response.status_code == 422 and 'id="ballot-form"' in response.get_data(as_text=True)
        assert "Choose yes or no for at least one card." in response.get_data(as_text=True)

    def test_a_late_htmx_vote_goes_to_the_result(self, client, crew):
        session = open_session(crew)
        card = services.deck(session)[0].id
        session.ends_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
        login(client, crew.bob)
        response = client.post(f"/sessions/{session.id}/vote", data={"candidate": card, "vote": "yes"}, headers=HTMX)
        assert response.status_code == 204 and response.headers["HX-Redirect"] == f"/sessions/{session.id}"
        assert "Voting has closed" in client.get(f"/sessions/{session.id}").get_data(as_text=True)

    def test_the_plain_ballot_records_every_card(self, client, crew):
        session = open_session(crew)
        cards = services.deck(session)
        login(client, crew.cy)
        assert 'id="ballot-form"' in client.get(f"/sessions/{session.id}?view=list").get_data(as_text=True)
        data = {f"vote-{c.id}": "yes" if i % 2 else "no" for i, c in enumerate(cards)}
        response = client.post(f"/sessions/{session.id}/ballot", data={**data, "view": "list"})
        assert response.status_code == 303 and response.headers["Location"].endswith("view=list")
        assert services.my_votes(session, crew.cy) == {c.id: bool(i % 2) for i, c in enumerate(cards)}
        page = client.get(f"/sessions/{session.id}").get_data(as_text=True)
        assert "1 of 3</strong> member" in page

    @pytest.mark.parametrize("data", [
        {"candidate": "999999", "vote": "yes"},
        {"candidate": "abc", "vote": "yes"},
        {"candidate": "{card}", "vote": "maybe"},
    ])
    def test_votes_for_non_candidates_are_404(self, client, crew, data):
        session = open_session(crew)
        data = {k: v.format(card=services.deck(session)[0].id) for k, v in data.items()}
        login(client, crew.bob)
        assert client.post(f"/sessions/{session.id}/vote", data=data).status_code == 404
        assert db.session.scalar(select(Vote.id)) is None

    def test_a_card_of_another_session_is_404(self, client, crew, make_user):
        session = open_session(crew)
        other = crew  # a second group of ann's, with its own session
        from webapp.groups import services as groups

        second = groups.create_group(crew.ann, "Other", [crew.bob.id])
        watchlist.add_item(second, crew.ann, make_title("Elsewhere"))
        watchlist.add_item(second, crew.ann, make_title("Elsewhere 2"))
        db.session.commit()
        foreign = services.start_session(second, crew.ann, Constraints(), candidate_count=2)
        db.session.commit()
        login(client, other.bob)
        card = services.deck(foreign)[0].id
        assert client.post(f"/sessions/{session.id}/vote", data={"candidate": card, "vote": "yes"}).status_code == 404
        assert client.post(f"/sessions/{session.id}/ballot", data={f"vote-{card}": "yes"}).status_code == 404

    def test_an_empty_ballot_is_a_422_with_the_list(self, client, crew):
        session = open_session(crew)
        login(client, crew.bob)
        response = client.post(f"/sessions/{session.id}/ballot", data={"view": "list"})
        assert response.status_code == 422 and "Choose yes or no for at least one card." in response.get_data(as_text=True)

    def test_a_stale_form_after_the_deadline_shows_the_result(self, client, crew):
        session = open_session(crew)
        card = services.deck(session)[0].id
        session.ends_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
        login(client, crew.bob)
        response = client.post(f"/sessions/{session.id}/vote", data={"candidate": card, "vote": "yes"})
        page = response.get_data(as_text=True)
        assert response.status_code == 409
        assert "Tonight&#39;s pick" in page or "Tonight's pick" in page
        assert "Voting has closed" in page and db.session.scalar(select(Vote.id)) is None

    def test_status_polling_redirects_htmx_to_the_result_once_decided(self, client, crew):
        session = open_session(crew)
        login(client, crew.bob)
        polled = client.get(f"/sessions/{session.id}/status", headers=HTMX)
        assert polled.status_code == 200 and polled.get_data(as_text=True).startswith("<strong>0 of 3</strong>")
        services.shuffle(session)
        db.session.commit()
        polled = client.get(f"/sessions/{session.id}/status", headers=HTMX)
        assert polled.headers["HX-Redirect"] == f"/sessions/{session.id}"
        assert client.get(f"/sessions/{session.id}/status").status_code == 303


class TestBlindness:
    def responses(self, client, session, cards):  # type: ignore[no-untyped-def]
        """Every response a member can get while the session is open."""
        sid = session.id
        return [
            client.get(f"/sessions/{sid}").get_data(as_text=True),
            client.get(f"/sessions/{sid}?view=list").get_data(as_text=True),
            client.get(f"/sessions/{sid}?card=2").get_data(as_text=True),
            client.get(f"/sessions/{sid}", headers=HTMX).get_data(as_text=True),
            client.get(f"/sessions/{sid}/status", headers=HTMX).get_data(as_text=True),
            client.get(f"/sessions/{sid}/status").get_data(as_text=True),
            client.get(f"/groups/{session.group_id}").get_data(as_text=True),
            client.post(f"/sessions/{sid}/vote", data={"candidate": cards[3].id, "vote": "no"},
                        headers=HTMX).get_data(as_text=True),
        ]

    def test_no_response_changes_with_how_others_voted(self, client, crew):
        session = open_session(crew)
        cards = services.deck(session)
        login(client, crew.ann)
        services.cast_votes(session, crew.ann, {cards[3].id: False})  # her own vote shows; the same each round
        seen = []
        for value in (True, False):
            # bob votes all yes, then all no; cy always half: the counts stay the same.
            services.cast_votes(session, crew.bob, {c.id: value for c in cards})
            services.cast_votes(session, crew.cy, {cards[0].id: not value, cards[1].id: value})
            db.session.commit()
            seen.append([scrub(body) for body in self.responses(client, session, cards)])
        for before, after in zip(*seen):
            assert before == after, "\n".join(difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm=""))
        for body in seen[0]:
            assert "tallies" not in body and "The votes" not in body
            assert not re.search(r"\b(yes|no) votes?\b", body, re.I)

    def test_the_tallies_appear_once_decided(self, client, crew):
        session = open_session(crew)
        cards = services.deck(session)
        services.cast_votes(session, crew.bob, {cards[1].id: True})
        services.shuffle(session)
        db.session.commit()
        login(client, crew.ann)
        page = client.get(f"/sessions/{session.id}").get_data(as_text=True)
        assert 'class="table tallies"' in page and "We watched it" in page


class TestResult:
    def test_we_watched_it(self, client, crew):
        session = open_session(crew)
        services.shuffle(session)
        db.session.commit()
        login(client, crew.bob)
        response = client.post(f"/sessions/{session.id}/watched", data={"present": [crew.bob.id, crew.ann.id]})
        assert response.status_code == 303
        page = client.get(f"/sessions/{session.id}").get_data(as_text=True)
        assert "Watched on" in page and "Ann" in page
        name = next(c for c in services.deck(session) if c.position == session.winner_position).title.title
        profile = client.get(f"/u/{crew.ann.username}").get_data(as_text=True)
        assert "Recently watched together" in profile and name in profile
        listing = client.get(f"/groups/{crew.group.id}/watchlist?status=watched").get_data(as_text=True)
        assert name in listing

    def test_nobody_ticked_is_a_422_beside_the_field(self, client, crew):
        session = open_session(crew)
        services.shuffle(session)
        db.session.commit()
        login(client, crew.bob)
        response = client.post(f"/sessions/{session.id}/watched", data={})
        assert response.status_code == 422
        assert "Tick who was there." in response.get_data(as_text=True)

    def test_past_sessions_are_listed(self, client, crew):
        session = open_session(crew)
        services.shuffle(session)
        db.session.commit()
        login(client, crew.cy)
        name = next(c for c in services.deck(session) if c.position == session.winner_position).title.title
        assert name in client.get(f"/groups/{crew.group.id}").get_data(as_text=True)
        assert name in client.get(f"/groups/{crew.group.id}/sessions").get_data(as_text=True)


class TestBudgets:
    def test_session_page(self, client, crew, query_budget):
        session = open_session(crew, candidate_count=6)
        for user in crew.members:
            services.cast_votes(session, user, {c.id: True for c in services.deck(session)})
        db.session.commit()
        login(client, crew.bob)
        with query_budget(9):
            assert client.get(f"/sessions/{session.id}").status_code == 200
        services.shuffle(session)
        db.session.commit()
        with query_budget(12):
            assert client.get(f"/sessions/{session.id}").status_code == 200
