"""Run by test_ratelimit.py in a second process: MusicBrainz searches through the
database-held rate-limit slot, sharing the test's database and fake server.

    python tests/providers/ratelimit_worker.py DATABASE_URL API_URL USER_AGENT COUNT

Prints "ready" once set up, waits for a line on stdin, makes COUNT calls, prints "done".
"""

from __future__ import annotations

import sys

from sqlalchemy import create_engine

from webapp.providers.cache import provider_engine
from webapp.providers.http import make_session
from webapp.providers.musicbrainz import MusicBrainzClient
from webapp.providers.ratelimit import RateLimiter


def main(database_url: str, api_url: str, user_agent: str, count: int) -> None:
    engine = provider_engine(create_engine(database_url))  # as build_providers does
    limiter = RateLimiter(engine, "musicbrainz", 1.0, provider="MusicBrainz")
    with make_session(user_agent) as session:
        client = MusicBrainzClient(session, api_url, user_agent=user_agent, limiter=limiter, timeout=(2.0, 5.0))
        print("ready", flush=True)
        sys.stdin.readline()
        for number in range(count):
            client.search_albums(f"worker {number} tidewater")
    engine.dispose()
    print("done", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]))
