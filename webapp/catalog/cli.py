"""`flask import movielens DIR`, `flask catalog load-demo`, `flask catalog refresh` and
`flask catalog purge-cache`."""

from __future__ import annotations

import contextlib

import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import click
from flask.cli import AppGroup

from webapp.catalog import demo, importers

import_cli = AppGroup("import", help="Import data sets into the catalog.")
catalog_cli = AppGroup("catalog", help="Manage the catalog.")


@contextlib.contextmanager
def _progress(label: str, length: int) -> Iterator[Callable[[int], None] | None]:
    """A progress bar on stderr when it is a terminal; nothing otherwise (logs, tests)."""
    if length <= 0 or not sys.stderr.isatty():
        yield None
        return
    with click.progressbar(
        length=length, label=label, file=sys.stderr, show_percent=True, update_min_steps=max(1, length // 200)
    ) as bar:
        yield bar.update


@import_cli.command("movielens")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--batch-size", default=importers.BATCH_SIZE, show_default=True, type=click.IntRange(100, 50_000),
              help="Rows written per transaction.")
def import_movielens(directory: Path, batch_size: int) -> None:
    """Load movies.csv, links.csv and ratings.csv from a MovieLens DIRECTORY.

    Movies already in the catalog (same TMDB or IMDb id) are linked, not duplicated;
    rating authors become imported accounts named ml<userId> that cannot log in.
    Running it again adds nothing and changes nothing."""
    try:
        stats = importers.import_movielens(directory, progress=_progress, batch_size=batch_size)
    except importers.MovieLensFormatError as error:
        raise click.ClickException(str(error)) from error
    for line in stats.summary_lines():
        click.echo(line)


@catalog_cli.command("load-demo")
def load_demo() -> None:
    """Load the bundled demo catalog (well-known films, shows and albums) so that search
    finds something without any provider key. Running it again adds nothing."""
    stats = demo.load_demo_catalog()
    click.echo(
        f"Demo catalog: {stats.added} added, {stats.linked} matched existing titles, "
        f"{stats.unchanged} already loaded."
    )


@catalog_cli.command("refresh")
@click.option("--limit", default=200, show_default=True, type=click.IntRange(1, 100_000),
              help="How many titles to refresh in this run.")
def refresh_catalog(limit: int) -> None:
    """Fill missing or stale details (credits, genres, runtime, posters) from TMDB and
    MusicBrainz for titles that have their ids, oldest first. MusicBrainz calls keep to
    its one request per second; a provider that fails is reported and skipped."""
    from webapp.catalog import sync

    started = time.perf_counter()
    done, failed = sync.refresh_missing(limit)
    click.echo(f"Refreshed {done} titles, {failed} not refreshed, in {time.perf_counter() - started:.1f} s.")


@catalog_cli.command("purge-cache")
def purge_cache() -> None:
    """Delete provider answers that expired more than a day ago (searches expire after
    10 minutes, details after 7 days). Storing an answer already deletes a few; run this
    from cron to keep the table small on a quiet site."""
    from webapp.catalog import sync

    deleted = sync.providers().cache.purge_expired()
    click.echo(f"Deleted {deleted} expired provider answers.")
