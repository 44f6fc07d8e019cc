"""Tonight journeys in a real browser, each with JavaScript on (htmx) and off.

Three people, each in their own browser context, go from strangers to a resolved tonight
session: they become friends (by a code and by a request), one makes a group with the
other two, both fill its watchlist from search results, a one-minute session deals four
cards, everyone votes blind (one card at a time, on the one-page form, and a mix of both),
the deadline passes and the result shows the winner the rules give for those votes, with
the tallies; "We watched it" then marks it watched on the watchlist and on the profiles
of those who were there. A shorter journey skips the vote with the shuffle button.

Every page and swap is checked by axe-core and for overflow at 360px (see conftest.py).
People are made straight in the database, as in the other journeys; to save waiting a
minute, the test moves the session's deadline into the past in the database (time
passing), and the next read resolves it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from flask import Flask

from tests.e2e.conftest import Account, Ui, expect

pytestmark = pytest.mark.e2e

# Titles of the demo catalog, with their years (as cards and ballots show them).
CASABLANCA, WHIPLASH, PARASITE, FLEABAG = "Casablanca", "Whiplash", "Parasite", "Fleabag"
YEARS = {CASABLANCA: 1942, WHIPLASH: 2014, PARASITE: 2019, FLEABAG: 2016}
GROUP = "Friday Film Club"

# The one value that changes between two renderings of the same page: CSRF tokens.
_TOKENS = re.compile(r"[A-Za-z0-9_.-]{40,}")




@pytest.fixture
def in_db(app: Flask) -> Callable[[Callable[[], Any]], Any]:
    """Run `work` in a short app context on the live server's database, and commit."""
    from webapp.db import db

    def run(work: Callable[[], Any]) -> Any:
        with app.app_context():
            try:
                result = work()
                db.session.commit()
                return result
            finally:
                db.session.remove()

    return run


# -- helpers ---------------------------------------------------------------------------------


def log_in_at(ui: Ui, account: Account, path: str) -> None:
    """Log in through the form, from the login page a protected `path` sends you to."""
    ui.goto(f"/login?next={quote(path)}")
    ui.page.get_by_label("Email or username", exact=True).fill(account.username)
    ui.page.get_by_label("Password", exact=True).fill(account.password)
    ui.submit_and_follow(ui.page.get_by_role("button", name="Log in"), to=path)


def expect_flash(ui: Ui, text: str) -> None:
    expect(ui.page.locator("#flashes")).to_contain_text(text)


def named(title: str) -> str:
    return f"{title} ({YEARS[title]})"


def search_to_add(ui: Ui, add_path: str, query: str) -> None:
    """Search on a watchlist's add page: live while typing with htmx (the URL follows),
    a plain GET form without."""
    page = ui.page
    box = page.get_by_role("searchbox", name="Find a film, show or album")
    if ui.js:
        page.evaluate("() => { window.__e2eSamePage = true; }")

        def for_query(response: Any) -> bool:
            parts = urlsplit(response.url)
            return parts.path == add_path and parse_qs(parts.query).get("q") == [query]

        with page.expect_response(for_query):
            box.fill(query)
        ui.wait_for_swap()
        assert page.evaluate("() => window.__e2eSamePage === true"), "a live search reloaded the page"
        ui.check()
    else:
        box.fill(query)
        ui.click_to_page(page.get_by_role("button", name="Search", exact=True))
    ui.expect_path(f"{add_path}?q={query}&type=all")


def add_from_search(ui: Ui, add_path: str, query: str, title: str, *, why: str = "") -> None:
    """Find `title` by `query` and add it (with a reason, optionally): back on the
    same results, which now say it is on the watchlist."""
    search_to_add(ui, add_path, query)
    results = ui.page.locator("#add-results")
    hit = results.locator("li.item", has=ui.page.get_by_role("link", name=title, exact=True))
    expect(hit).to_have_count(1)
    if why:
        hit.get_by_label(f"Why add {title} (optional)", exact=True).fill(why)
    ui.submit_and_follow(hit.get_by_role("button", name=f"Add {title}", exact=True),
                         to=f"{add_path}?q={query}&type=all")
    expect_flash(ui, f"Added “{title}” to the watchlist.")
    expect(hit.locator(".badge")).to_have_text("on the watchlist")


def status_box(ui: Ui) -> Any:
    return ui.page.locator("#session-status")


def assert_blind(ui: Ui, session_path: str) -> None:
    """Nothing a member sees while voting is open tells how anyone voted: not the page
    in the browser, nor the raw HTML of the session page (both views) and of the
    status fragment htmx polls."""
    page = ui.page
    expect(page.locator("table.tallies, .result, .winner, .winner-row")).to_have_count(0)
    expect(page.get_by_text("The votes")).to_have_count(0)
    expect(page.get_by_role("heading", name="Tonight's vote")).to_be_visible()
    fragment = {"HX-Request": "true", "HX-Request-Type": "partial"}
    for path, headers in ((session_path, {}), (f"{session_path}?view=list", {}),
                          (f"{session_path}/status", fragment)):
        response = ui.context.request.get(ui.url(path), headers=headers, max_redirects=0)
        assert response.status == 200, f"GET {path}: HTTP {response.status}"
        html = response.text()
        for telltale in ("tallies", "The votes", "winner", "Tonight's pick", "Most yes votes"):
            assert telltale not in html, f"{path} shows “{telltale}” before the session completed"


def raw_html(ui: Ui, path: str) -> str:
    """The page as the server sends it, CSRF tokens aside."""
    response = ui.context.request.get(ui.url(path))
    assert response.status == 200, f"GET {path}: HTTP {response.status}"
    return _TOKENS.sub("token", response.text())


def vote_on_card(ui: Ui, session_path: str, yes: bool) -> None:
    """A vote in the card-at-a-time view: htmx swaps the next card in (no reload: the
    check in Ui.submit), without JavaScript the POST redirects back to the session."""
    button = ui.page.get_by_role("button", name="Yes, let's watch it" if yes else "No, not tonight")
    ui.submit(button, status=200)
    ui.expect_path(session_path)
    if ui.js:  # focus goes to the new card, not lost with the button that went away
        expect(ui.page.locator("#voting")).to_be_focused()


def current_card(ui: Ui) -> str:
    """The title on the card shown (the year aside)."""
    text = ui.page.locator("#card-title").inner_text()
    return re.sub(r"\s*\(\d{4}\)$", "", text)


def fill_ballot(ui: Ui, votes: dict[str, bool]) -> None:
    for title, yes in votes.items():
        card = ui.page.get_by_role("group", name=named(title), exact=True)
        card.get_by_label("Yes" if yes else "No", exact=True).check()


def save_ballot(ui: Ui, session_path: str, count: int) -> None:
    """Save the one-page form: htmx swaps the voting section in place; without
    JavaScript the POST redirects back to the form, with a flash."""
    ui.submit(ui.page.get_by_role("button", name="Save my votes"), status=200)
    ui.expect_path(f"{session_path}?view=list")
    expect_flash(ui, f"Saved your {count} votes.")
    expect(ui.page.get_by_role("button", name="Save my votes")).to_be_visible()


def expected_winner(ballots: list[dict[str, bool]]) -> str:
    """The resolution rules, for votes chosen so that one card has strictly the most yes."""
    yes = {title: sum(ballot[title] for ballot in ballots) for title in ballots[0]}
    most = max(yes.values())
    top = [title for title, count in yes.items() if count == most]
    assert len(top) == 1, f"the votes must give one card strictly the most yes: {yes}"
    return top[0]


def tally_rows(ui: Ui) -> list[list[str]]:
    return ui.page.locator("table.tallies tbody tr").evaluate_all(
        "rows => rows.map(r => [...r.cells].map(c => c.textContent.replace(/\\s+/g, ' ').trim()))"
    )


def move_deadline_to_the_past(in_db: Callable[[Callable[[], Any]], Any], session_id: int) -> None:
    """Time passes: the session's deadline is a second ago (nothing else changes; the
    next read of the session resolves it)."""
    from sqlalchemy import update

    from webapp.db import db, utcnow
    from webapp.tonight.models import TonightSession

    def work() -> None:
        changed = db.session.execute(
            update(TonightSession)
            .where(TonightSession.id == session_id, TonightSession.status == "open")
            .values(ends_at=utcnow() - timedelta(seconds=1))
        ).rowcount
        assert changed == 1, "the session was no longer open"

    in_db(work)


def wait_for_result(ui: Ui, session_path: str) -> None:
    """With JavaScript the status box, polled every 5 s, sends the page to the result by
    itself; without, the member reloads."""
    if ui.js:
        expect(ui.page.get_by_role("heading", level=1)).to_have_text("Tonight's pick", timeout=12_000)
        ui.page.wait_for_load_state("load")
        ui.expect_path(session_path)
        ui.check()
    else:
        ui.goto(session_path)
    expect(ui.page.get_by_role("heading", level=1)).to_have_text("Tonight's pick")


# -- the whole journey -----------------------------------------------------------------------


@pytest.fixture
def three(make_account: Callable[..., Account]) -> tuple[Account, Account, Account]:
    return (
        make_account(username="noor", display_name="Noor Haddad"),
        make_account(username="teo", display_name="Teo Marsh"),
        make_account(username="ines", display_name="Ines Calder"),
    )


@pytest.mark.usefixtures("demo_catalog")
def test_strangers_to_we_watched_it(
    new_ui: Callable[[], Ui],
    three: tuple[Account, Account, Account],
    in_db: Callable[[Callable[[], Any]], Any],
) -> None:
    a, b, c = three
    ui_a, ui_b, ui_c = new_ui(), new_ui(), new_ui()
    page_a, page_b, page_c = ui_a.page, ui_b.page, ui_c.page

    # -- friends: B by A's friend code, C by A's request --
    log_in_at(ui_a, a, "/friends/invites")
    ui_a.submit_and_follow(page_a.get_by_role("button", name="Create a friend code"), to="/friends/invites")
    code = page_a.locator(".codes .code-value").first.inner_text()
    log_in_at(ui_b, b, "/friends/invites")
    page_b.get_by_label("Friend code", exact=True).fill(code)
    ui_b.submit_and_follow(page_b.get_by_role("button", name="Become friends"), to=f"/u/{a.username}")
    expect_flash(ui_b, f"You and {a.display_name} are now friends.")

    ui_a.goto(f"/u/{c.username}")
    ui_a.submit(page_a.locator("#profile").get_by_role("button", name=f"Add friend ({c.display_name})"),
                status=200)
    expect(page_a.locator("#profile .relation .badge")).to_have_text("Request sent")
    log_in_at(ui_c, c, "/friends/requests")
    incoming = page_c.locator("section", has=page_c.get_by_role("heading", name="Asking you"))
    ui_c.submit(incoming.get_by_role("button", name=f"Accept ({a.display_name})"), status=200)
    ui_c.expect_path("/friends/requests")

    # -- A makes the group with both friends --
    ui_a.goto("/groups")
    ui_a.click_to_page(page_a.get_by_role("link", name="New group"), to="/groups/new")
    page_a.get_by_label("Group name", exact=True).fill(GROUP)
    friends = page_a.get_by_role("group", name="Friends to add")
    expect(friends.get_by_role("checkbox")).to_have_count(2)
    friends.get_by_label(b.display_name, exact=True).check()
    friends.get_by_label(c.display_name, exact=True).check()
    ui_a.submit_and_follow(page_a.get_by_role("button", name="Create the group"), to=re.compile(r"/groups/\d+"))
    group_path = ui_a.path()
    add_path = f"{group_path}/watchlist/add"
    expect_flash(ui_a, f"“{GROUP}” is ready. Add titles to its watchlist next.")
    expect(page_a.get_by_role("heading", level=1)).to_have_text(GROUP)
    members = page_a.get_by_role("region", name="Members", exact=True).get_by_role("listitem")
    expect(members).to_have_text([f"{a.display_name} owner", b.display_name, c.display_name])

    # -- the watchlist, from search results: three by A, one (a show, with a reason) by B --
    ui_a.click_to_page(page_a.get_by_role("link", name="Add titles"), to=add_path)
    for query, title in (("casablanca", CASABLANCA), ("whiplash", WHIPLASH), ("parasite", PARASITE)):
        add_from_search(ui_a, add_path, query, title)

    ui_b.goto("/groups")
    ui_b.click_to_page(page_b.get_by_role("link", name=GROUP), to=group_path)
    ui_b.click_to_page(page_b.get_by_role("link", name="Add titles"), to=add_path)
    add_from_search(ui_b, add_path, "fleabag", FLEABAG, why="Short episodes, big laughs")
    ui_b.goto(f"{group_path}/watchlist")
    rows = page_b.locator("#watchlist-items li.item")
    expect(rows).to_have_count(4)
    expect(rows.filter(has_text=FLEABAG)).to_contain_text(f"Added by {b.display_name}: “Short episodes, big laughs”")
    expect(rows.filter(has_text=CASABLANCA)).to_contain_text(f"Added by {a.display_name}")

    # -- A deals a deck of four cards, one minute to vote --
    ui_a.goto(group_path)
    tonight = page_a.get_by_role("region", name="Tonight", exact=True)
    expect(tonight).to_contain_text("4 titles can be picked tonight.")
    ui_a.click_to_page(tonight.get_by_role("link", name="Pick something for tonight"), to=f"{group_path}/tonight")
    page_a.get_by_label("Voting time in minutes", exact=True).fill("1")
    page_a.get_by_label("Cards in the deck", exact=True).fill("4")
    ui_a.submit_and_follow(page_a.get_by_role("button", name="Deal the deck"), to=re.compile(r"/sessions/\d+"))
    session_path = ui_a.path()
    session_id = int(session_path.rsplit("/", 1)[1])
    expect_flash(ui_a, "The deck is dealt.")
    expect(status_box(ui_a)).to_contain_text("0 of 3 members finished voting.")
    expect(status_box(ui_a)).to_contain_text("(less than a minute left)")
    deck = [re.sub(r"\s+", " ", t).strip() for t in page_a.locator(".deck-nav a").all_inner_texts()]
    assert sorted(deck) == sorted(YEARS), deck

    # What everyone will have voted in the end: Fleabag 3 yes, Casablanca 2, Parasite 1, Whiplash 0.
    final_a = {FLEABAG: True, CASABLANCA: True, WHIPLASH: False, PARASITE: False}
    final_b = {FLEABAG: True, CASABLANCA: True, WHIPLASH: False, PARASITE: False}
    final_c = {FLEABAG: True, CASABLANCA: False, WHIPLASH: False, PARASITE: True}
    winner = expected_winner([final_a, final_b, final_c])
    assert winner == FLEABAG

    # -- A votes one card at a time: each vote brings the next card in place --
    if ui_a.js:
        page_a.evaluate("() => { window.__tonightMarker = 'still here'; }")
    for position in range(1, 5):
        expect(page_a.locator(".vote-card")).to_contain_text(f"Card {position} of 4")
        title = current_card(ui_a)
        assert title == deck[position - 1], (title, deck)
        vote_on_card(ui_a, session_path, final_a[title])
        assert_blind(ui_a, session_path)
    expect(page_a.locator("#voting")).to_contain_text("You have voted on every card.")
    said = [re.sub(r"\s+", " ", t).strip() for t in page_a.locator(".deck-nav li .muted").all_inner_texts()]
    assert said == [f"you said {'yes' if final_a[t] else 'no'}" for t in deck], said
    expect(status_box(ui_a)).to_contain_text("1 of 3 members finished voting.")  # out of band with htmx
    if ui_a.js:
        assert page_a.evaluate("() => window.__tonightMarker") == "still here", "a card vote reloaded the page"
        ui_a.expect_path(session_path)

    # -- C starts on the cards (a first thought on card 1, changed later on the form) --
    ui_c.goto(group_path)
    ui_c.click_to_page(page_c.get_by_role("link", name="Vote now"), to=session_path)
    first = current_card(ui_c)
    vote_on_card(ui_c, session_path, not final_c[first])
    assert_blind(ui_c, session_path)

    # -- B votes on the one-page form: first no to Fleabag, then changes it --
    ui_b.goto(session_path)
    ui_b.click_to_page(page_b.get_by_role("link", name="All cards on one page"), to=f"{session_path}?view=list")
    fill_ballot(ui_b, {**final_b, FLEABAG: False})
    save_ballot(ui_b, session_path, 4)
    expect(status_box(ui_b)).to_contain_text("2 of 3 members finished voting.")
    assert_blind(ui_b, session_path)

    # Blind: A's page is the same whether B said yes or no to Fleabag.
    before = raw_html(ui_a, session_path)
    fill_ballot(ui_b, {FLEABAG: True})
    save_ballot(ui_b, session_path, 4)
    ui_b.goto(f"{session_path}?view=list")
    expect(page_b.get_by_role("group", name=named(FLEABAG)).get_by_label("Yes", exact=True)).to_be_checked()
    after = raw_html(ui_a, session_path)
    assert before == after, "A's session page changed when B changed a vote"
    ui_a.goto(session_path)
    assert_blind(ui_a, session_path)
    expect(status_box(ui_a)).to_contain_text("2 of 3 members finished voting.")

    # -- C finishes on the form, where the card-1 vote is already ticked --
    ui_c.click_to_page(page_c.get_by_role("link", name="All cards on one page"), to=f"{session_path}?view=list")
    first_card = page_c.get_by_role("group", name=named(first), exact=True)
    expect(first_card.get_by_label("No" if final_c[first] else "Yes", exact=True)).to_be_checked()
    fill_ballot(ui_c, final_c)
    save_ballot(ui_c, session_path, 4)
    expect(status_box(ui_c)).to_contain_text("3 of 3 members finished voting.")
    assert_blind(ui_c, session_path)
    ui_a.goto(session_path)
    expect(status_box(ui_a)).to_contain_text("3 of 3 members finished voting.")
    assert_blind(ui_a, session_path)

    # -- time passes: the deadline is behind us --
    move_deadline_to_the_past(in_db, session_id)

    if not ui_c.js:  # C's form, still open in the browser, comes too late
        ui_c.submit(page_c.get_by_role("button", name="Save my votes"), status=409)
        expect_flash(ui_c, "Voting has closed for this session: here is the result.")
        expect(page_c.get_by_role("heading", level=1)).to_have_text("Tonight's pick")

    wait_for_result(ui_a, session_path)
    result = page_a.locator("section.result")
    expect(result.locator("#winner-heading")).to_have_text(named(winner))
    expect(result).to_contain_text(f"Suggested by {b.display_name}.")
    expect(result).to_contain_text("Most yes votes.")
    expect(result.get_by_role("heading", name="The votes")).to_be_visible()
    assert tally_rows(ui_a) == [
        [f"{FLEABAG} pick", "3", "0"],
        [CASABLANCA, "2", "1"],
        [PARASITE, "1", "2"],
        [WHIPLASH, "0", "3"],
    ], tally_rows(ui_a)
    # B and C see it too (with JavaScript their open pages go to the result by themselves;
    # without, C is there already, after the late form).
    for other in (ui_b, ui_c) if ui_c.js else (ui_b,):
        wait_for_result(other, session_path)
        expect(other.page.locator("#winner-heading")).to_have_text(named(winner))

    # -- "We watched it": A and B were there, C was not --
    present = page_a.get_by_role("group", name="Who was there")
    for member in (a, b, c):  # everyone voted, so everyone is ticked to start with
        expect(present.get_by_label(member.display_name, exact=True)).to_be_checked()
    present.get_by_label(c.display_name, exact=True).uncheck()
    ui_a.submit_and_follow(page_a.get_by_role("button", name="We watched it"), to=session_path)
    expect_flash(ui_a, "Enjoyed? Logged the viewing for 2 people.")
    expect(result).to_contain_text(re.compile(rf"Watched on .+ by {a.display_name}, {b.display_name}\."))

    # The group: the session among the past ones, the title watched on the watchlist.
    ui_a.click_to_page(page_a.get_by_role("link", name=f"← {GROUP}"), to=group_path)
    past = page_a.get_by_role("region", name="Past sessions", exact=True)
    expect(past.get_by_role("listitem")).to_have_count(1)
    expect(past.get_by_role("listitem")).to_contain_text(f"{FLEABAG} watched")
    expect(page_a.get_by_role("region", name="Watchlist", exact=True)).to_contain_text(
        "3 to watch · 1 watched"
    )
    ui_a.click_to_page(page_a.get_by_role("link", name="The whole watchlist"), to=f"{group_path}/watchlist")
    watched_row = page_a.locator("#watchlist-items li.item").filter(has_text=FLEABAG)
    expect(watched_row.locator(".badge")).to_have_text("watched")
    expect(watched_row.get_by_role("button", name=f"Not watched yet {FLEABAG}")).to_be_visible()

    # Profiles: on A's (seen by A, and by B as a friend) but not on C's.
    ui_a.click_to_page(page_a.get_by_role("navigation", name="Main").get_by_role("link", name="Profile"),
                       to=f"/u/{a.username}")
    viewings = page_a.get_by_role("region", name="Recently watched together", exact=True)
    expect(viewings.get_by_role("link")).to_have_text([FLEABAG])
    ui_b.goto(f"/u/{a.username}")
    expect(page_b.get_by_role("heading", name="Recently watched together")).to_be_visible()
    ui_c.goto(f"/u/{c.username}")
    expect(page_c.get_by_role("heading", name="Recently watched together")).to_have_count(0)


# -- skipping the vote -----------------------------------------------------------------------


@pytest.fixture
def two_in_a_group(
    make_account: Callable[..., Account], in_db: Callable[[Callable[[], Any]], Any], demo_catalog: None
) -> tuple[Account, Account, int]:
    """A and B, friends, in a group whose watchlist has three films and a show (made in
    the database: the first journey does all this in the browser)."""
    from sqlalchemy import select

    from webapp.accounts.models import User
    from webapp.catalog.models import Title
    from webapp.db import db
    from webapp.groups import services as groups
    from webapp.groups import watchlist
    from webapp.social.models import Friendship

    a = make_account(username="mira", display_name="Mira Sol")
    b = make_account(username="oskar", display_name="Oskar Lunde")

    def work() -> int:
        owner, member = db.session.get(User, a.id), db.session.get(User, b.id)
        assert owner is not None and member is not None
        db.session.add(Friendship(user_low_id=min(a.id, b.id), user_high_id=max(a.id, b.id)))
        db.session.flush()
        group = groups.create_group(owner, GROUP, [b.id])
        for name, by in ((CASABLANCA, owner), (WHIPLASH, member), (PARASITE, owner), (FLEABAG, member)):
            title = db.session.scalar(select(Title).where(Title.title == name, Title.year == YEARS[name]))
            assert title is not None, name
            watchlist.add_item(group, by, title)
        return group.id

    return a, b, in_db(work)


def test_shuffle_picks_at_once(
    new_ui: Callable[[], Ui],
    two_in_a_group: tuple[Account, Account, int],
    in_db: Callable[[Callable[[], Any]], Any],
) -> None:
    a, b, group_id = two_in_a_group
    group_path = f"/groups/{group_id}"
    ui_a, ui_b = new_ui(), new_ui()
    page_a, page_b = ui_a.page, ui_b.page

    # A asks for a film under two hours, in the form and in words: Fleabag (a show) and
    # Parasite (133 min) are left out, so the deck has two cards.
    log_in_at(ui_a, a, group_path)
    ui_a.click_to_page(page_a.get_by_role("link", name="Pick something for tonight"), to=f"{group_path}/tonight")
    page_a.get_by_label("A film", exact=True).check()
    page_a.get_by_label("Or just say what you are in the mood for (optional)", exact=True).fill("under 2 hours")
    ui_a.submit_and_follow(page_a.get_by_role("button", name="Deal the deck"), to=re.compile(r"/sessions/\d+"))
    session_path = ui_a.path()
    session_id = int(session_path.rsplit("/", 1)[1])
    expect(page_a.locator("main")).to_contain_text("You asked for “under 2 hours”.")
    expect(page_a.locator("main")).to_contain_text("Constraints: Films only · Under 2 h.")
    deck = [re.sub(r"\s+", " ", t).strip() for t in page_a.locator(".deck-nav a").all_inner_texts()]
    assert sorted(deck) == sorted([CASABLANCA, WHIPLASH]), deck

    # B votes on the first card; the group page leads there.
    log_in_at(ui_b, b, group_path)
    ui_b.click_to_page(page_b.get_by_role("link", name="Vote now"), to=session_path)
    first = current_card(ui_b)
    vote_on_card(ui_b, session_path, True)
    assert_blind(ui_b, session_path)

    # A does not wait: a random pick now, the same draw the rules make for this session.
    def expected() -> str:
        from sqlalchemy import select

        from webapp.catalog.models import Title
        from webapp.db import db
        from webapp.tonight import services
        from webapp.tonight.models import Candidate, TonightSession

        title_ids = list(db.session.scalars(select(Candidate.title_id).where(Candidate.session_id == session_id)))
        seed = db.session.scalar(select(TonightSession.draw_seed).where(TonightSession.id == session_id))
        return db.session.get(Title, services.draw(seed, session_id, title_ids)).title  # type: ignore[union-attr]

    winner = in_db(expected)
    ui_a.submit_and_follow(page_a.get_by_role("button", name="Skip the vote: pick at random now"), to=session_path)
    expect_flash(ui_a, "Shuffled: here is tonight's pick.")
    expect(page_a.get_by_role("heading", level=1)).to_have_text("Tonight's pick")
    result = page_a.locator("section.result")
    expect(result.locator("#winner-heading")).to_have_text(named(winner))
    expect(result).to_contain_text("Shuffled: drawn at random from the deck without waiting for votes.")
    rows = {row[0].removesuffix(" pick"): row[1:] for row in tally_rows(ui_a)}
    assert rows == {first: ["1", "0"], ({CASABLANCA, WHIPLASH} - {first}).pop(): ["0", "0"]}, rows

    # B, still on the cards, gets the result; B was there (ticked, as the only voter).
    wait_for_result(ui_b, session_path)
    present = page_b.get_by_role("group", name="Who was there")
    expect(present.get_by_label(b.display_name, exact=True)).to_be_checked()
    expect(present.get_by_label(a.display_name, exact=True)).not_to_be_checked()
    ui_b.submit_and_follow(page_b.get_by_role("button", name="We watched it"), to=session_path)
    expect_flash(ui_b, "Enjoyed? Logged the viewing for 1 person.")

    # The group can pick again; the shuffled session is in the past ones.
    ui_b.click_to_page(page_b.get_by_role("link", name=f"← {GROUP}"), to=group_path)
    expect(page_b.get_by_role("link", name="Pick something for tonight")).to_be_visible()
    past = page_b.get_by_role("region", name="Past sessions", exact=True)
    expect(past.get_by_role("listitem")).to_contain_text(f"{winner} watched")
    ui_b.click_to_page(page_b.get_by_role("navigation", name="Main").get_by_role("link", name="Profile"),
                       to=f"/u/{b.username}")
    viewings = page_b.get_by_role("region", name="Recently watched together", exact=True)
    expect(viewings.get_by_role("link")).to_have_text([winner])
