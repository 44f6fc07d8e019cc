"""The built-in reading of a free-text wish for tonight, and how it meets the form.

When no LLM is configured (or it fails), "a comedy under two hours, something new" is
read by the rules below. They look for four things only, the ones a tonight session
can filter on: film or series, a longest runtime, genres, and "nothing anyone has
watched". Anything else in the text is ignored, so the rules only ever narrow the deck
where the words are clear; a genre or format that is negated ("nothing scary", "not a
series") is left out rather than guessed at.

The text is untrusted: only its first MAX_TEXT characters are read, every pattern is
linear, and nothing here raises on odd input (any unicode, quotes, SQL-looking text).
The same text and genre list always give the same Wish.

Choices worth knowing:

* "short" (also "not too long", "a quick watch") means SHORT_RUNTIME = 100 minutes:
  below a typical feature (90-120 min) but keeping most comedies and animation.
* A runtime counts only with a bound ("under", "less than", "<", "max", "at most",
  "no longer than", "up to", "within", or "… or less", "… max"): "a 90 minute film"
  says nothing about the longest the group will sit through. Several bounds: the
  smallest wins.
* Genres are returned in the spelling of `known_genres` and in its order; a concept
  matches every known genre it names, so "sci-fi" gives both "Science Fiction" and
  "Sci-Fi & Fantasy" when both exist (films and series use different genre lists).
* Both a film and a series mentioned ("a movie or a show") leaves the format open.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

MAX_TEXT = 500  # characters of a wish that are read
SHORT_RUNTIME = 100  # minutes that "something short" stands for
MAX_RUNTIME = 1000  # minutes; a longer limit is nonsense, not a limit
MAX_GENRES = 20  # kept from stored or submitted constraints
MAX_GENRE_NAME = 60
MAX_KNOWN_GENRES = 200
FORMATS = ("movie", "tv")

_FORMAT_LABELS = {"movie": "Films only", "tv": "Series only"}


@dataclass(frozen=True)
class Wish:
    """What a text asks for; None or empty means the text does not say."""

    format: str | None = None  # "movie" | "tv"
    max_runtime: int | None = None  # minutes
    genres: tuple[str, ...] = ()  # spelled as in the known genres
    exclude_watched: bool | None = None  # False: a rewatch was asked for

    def is_empty(self) -> bool:
        return self.format is None and self.max_runtime is None and not self.genres and self.exclude_watched is None

    def describe(self) -> list[str]:
        """Short labels for the page, e.g. ["Films only", "Under 2 h", "Comedy"]."""
        labels = _describe(self.format, self.max_runtime, self.genres, self.exclude_watched is True)
        if self.exclude_watched is False:
            labels.append("Rewatches welcome")
        return labels


@dataclass(frozen=True)
class Constraints:
    """The constraints a session is started with: the form's values, filled by a wish."""

    format: str = "any"  # "movie" | "tv" | "any"
    max_runtime: int | None = None  # minutes
    genres: tuple[str, ...] = ()
    exclude_watched: bool = False

    def describe(self) -> list[str]:
        return _describe(self.format, self.max_runtime, self.genres, self.exclude_watched)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able, keys always in this order (the stored form of a session's constraints)."""
        return {
            "format": self.format,
            "max_runtime": self.max_runtime,
            "genres": list(self.genres),
            "exclude_watched": self.exclude_watched,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Constraints:
        """Constraints from stored JSON: a missing or garbled value falls back to its default
        (a row written by an older version, or edited by hand, still opens)."""
        if not isinstance(data, Mapping):
            return cls()
        return cls(
            format=clean_format(data.get("format")) or "any",
            max_runtime=clean_runtime(data.get("max_runtime")),
            genres=clean_genres(data.get("genres")),
            exclude_watched=_flag(data.get("exclude_watched")),
        )


def merge(
    wish: Wish, *, format: str, max_runtime: int | None, genres: Sequence[str], exclude_watched: bool
) -> Constraints:
    """The form's values, with the wish filling what the form left open.

    An explicit format wins; "any" takes the wish's. Both runtimes set: the smaller.
    Genres: the form's, then the wish's, each once (compared case-insensitively). The
    watched titles are left out when either asks for it."""
    runtimes = [r for r in (clean_runtime(max_runtime), clean_runtime(wish.max_runtime)) if r is not None]
    return Constraints(
        format=clean_format(format) or clean_format(wish.format) or "any",
        max_runtime=min(runtimes) if runtimes else None,
        genres=clean_genres([*([genres] if isinstance(genres, str) else genres or ()), *wish.genres]),
        exclude_watched=bool(exclude_watched) or wish.exclude_watched is True,
    )


# -- cleaning values (stored JSON, form values, LLM answers) ------------------------------


def clean_format(value: Any) -> str | None:
    """"movie" or "tv", or None for "any" and anything unknown."""
    if isinstance(value, str) and value.strip().lower() in FORMATS:
        return value.strip().lower()
    return None


def clean_runtime(value: Any) -> int | None:
    """Minutes in 1..MAX_RUNTIME, from an int, a whole float or a string of digits; else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            return None
        value = int(value)
    elif isinstance(value, str):
        text = value.strip()
        if not re.fullmatch(r"[0-9]{1,4}", text):
            return None
        value = int(text)
    if isinstance(value, int) and 1 <= value <= MAX_RUNTIME:
        return value
    return None


def clean_genres(value: Any) -> tuple[str, ...]:
    """Genre names from a list: strings only, trimmed, each once (case-insensitively),
    order kept, at most MAX_GENRES of at most MAX_GENRE_NAME characters."""
    if not isinstance(value, (list, tuple)):  # a string, a mapping, a number: not a list of names
        return ()
    names: list[str] = []
    seen: set[str] = set()
    for item in value:
        if not isinstance(item, str):
            continue
        name = " ".join(item.split())
        if not name or len(name) > MAX_GENRE_NAME or name.casefold() in seen:
            continue
        seen.add(name.casefold())
        names.append(name)
        if len(names) >= MAX_GENRES:
            break
    return tuple(names)


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value == 1
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return False


def format_minutes(minutes: int) -> str:
    """90 → "1 h 30 min", 120 → "2 h", 45 → "45 min"."""
    hours, rest = divmod(minutes, 60)
    if not hours:
        return f"{rest} min"
    return f"{hours} h" + (f" {rest} min" if rest else "")


def _describe(format: str | None, max_runtime: int | None, genres: Sequence[str], exclude_watched: bool) -> list[str]:
    labels: list[str] = []
    if format in _FORMAT_LABELS:
        labels.append(_FORMAT_LABELS[format])
    if max_runtime:
        labels.append(f"Under {format_minutes(max_runtime)}")
    if genres:
        labels.append(" or ".join(genres))  # any of them will do, as the deck is filtered
    if exclude_watched:
        labels.append("Nothing anyone has watched")
    return labels


# -- reading the text ----------------------------------------------------------------------


def parse_rules(text: str, known_genres: Sequence[str]) -> Wish:
    """What `text` asks for, by the rules described at the top of this module."""
    if not isinstance(text, str) or not text.strip():
        return Wish()
    words = _normalise(text)
    return Wish(
        format=_format(words),
        max_runtime=_runtime(words),
        genres=_genres(words, known_genres),
        exclude_watched=_exclude_watched(words),
    )


_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'", "\u00b4": "'"})
# Kept: letters, digits, spaces and the punctuation the patterns read; the rest is a space.
_OTHER = re.compile(r"[^\w\s'<>=≤.,:;!?&/+~-]")


def _normalise(text: str) -> str:
    """Lower case, compatibility forms folded (full-width letters, ligatures), one space
    between words, the first MAX_TEXT characters only."""
    text = text[: MAX_TEXT * 2].replace("½", ".5")
    text = unicodedata.normalize("NFKC", text)[:MAX_TEXT].casefold().translate(_APOSTROPHES)
    return " ".join(_OTHER.sub(" ", text).split())


_NEGATORS = frozenset(
    {"no", "not", "nothing", "without", "never", "avoid", "except", "hate", "nor", "neither", "none", "zero",
     "don't", "dont", "isn't", "isnt", "aren't", "arent", "won't", "wont", "skip", "anything_but"}
)
_CLAUSE_BREAK = re.compile(r"[.,;:!?()/]|\bbut\b|\binstead\b|\brather\b|\bthough\b|\bplease\b")


def _negated(text: str, start: int) -> bool:
    """Whether one of the three words before `start`, in the same clause, negates it."""
    before = text[max(0, start - 80) : start]
    before = re.sub(r"\banything\s+but\b", "anything_but", before)
    words = re.findall(r"[\w']+", _CLAUSE_BREAK.split(before)[-1])[-3:]
    return any(word in _NEGATORS for word in words)


def _found(pattern: re.Pattern[str], text: str) -> bool:
    """Whether `pattern` occurs in `text` other than negated."""
    return any(not _negated(text, match.start()) for match in pattern.finditer(text))


# Format --------------------------------------------------------------------------------

_TV = re.compile(
    r"\b(?:tv|television)\b(?!\s*(?:movie|film))"
    r"|\b(?:series|episodes?|sitcoms?|mini-?series|docu-?series|shows)\b"
    r"|\b(?:a|an|one|some|the|another)\s+(?:[\w'-]+\s+){0,2}?show\b"
)
_MOVIE = re.compile(r"\b(?:tv\s+)?(?:films?|movies?|flicks?|feature[- ]length)\b(?!\s+nights?)")


def _format(text: str) -> str | None:
    tv = _found(_TV, text)
    movie = _found(_MOVIE, text)
    if tv == movie:  # neither, or both: "a movie or a show"
        return None
    return "tv" if tv else "movie"


# Watched -------------------------------------------------------------------------------

_UNWATCHED = re.compile(
    r"\bsomething\s+(?:brand\s+|totally\s+|completely\s+)?new\b"
    r"|\bun(?:watched|seen)\b"
    r"|\bnew\s+to\s+(?:us|all\s+of\s+us|everyone|everybody|the\s+group|all)\b"
    r"|\b(?:haven't|havent|have\s+not|hasn't|hasnt|has\s+not|never|not\s+yet|not)\s+"
    r"(?:[\w']+\s+){0,2}?(?:seen|watched)\b"
    r"|\b(?:nothing|no\s*one|nobody|none\s+of\s+us)\s+(?:[\w']+\s+){0,3}?(?:seen|watched)\b"
    r"|\bno\s+re-?watch(?:es)?\b|\bnot\s+a\s+re-?watch\b"
)
_REWATCH = re.compile(
    r"\bre-?watch(?:es|ing)?\b|\bold\s+favou?rites?\b|\bseen\s+(?:it\s+)?before\b"
    r"|\b(?:we've|we\s+have|i've|already)\s+(?:already\s+)?(?:seen|watched)\b"
)


def _exclude_watched(text: str) -> bool | None:
    if _UNWATCHED.search(text):
        return True  # "nothing we've seen" also contains "we've seen": the exclusion wins
    if _REWATCH.search(text):
        return False
    return None


# Runtime -------------------------------------------------------------------------------

_NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
}
_NUMBER_WORD = re.compile(r"\b(" + "|".join(_NUMBER_WORDS) + r")\b")
_HOUR_UNIT = r"(?:hours?|hrs?|h)(?![a-z])"
_MINUTE_UNIT = r"(?:minutes?|mins?|m)(?![a-z])"
_AND_A_HALF = re.compile(
    r"\b([0-9]{1,2}|an?)\s*" + _HOUR_UNIT + r"\s+and\s+a\s+half\b"
    r"|\b([0-9]{1,2})\s+and\s+a\s+half\s+" + _HOUR_UNIT
)
_DURATION = (
    r"(?:(?P<h>[0-9]{1,2}(?:[.,][0-9]{1,2})?|[.,][0-9]{1,2})\s*" + _HOUR_UNIT
    + r"(?:\s*(?:and\s+)?(?P<hm>[0-9]{1,2})\s*" + _MINUTE_UNIT + r"|(?P<hm2>[0-5][0-9])(?![0-9]))?"
    r"|(?P<ch>[0-9]{1,2}):(?P<cm>[0-5][0-9])(?![0-9])"
    r"|(?P<m>[0-9]{1,4})\s*" + _MINUTE_UNIT + r")"
)
_BOUND_BEFORE = re.compile(
    r"(?:\bunder|\bbelow|\bless\s+than|\bshorter\s+than|\bfewer\s+than"
    r"|\b(?:no|not|nothing)\s+(?:longer|more|over)\s+than|\bnot\s+over|\bat\s+most|\bmax(?:imum)?\.?:?"
    r"|\bup\s+to|\bwithin|\btops|<=?|=<|≤)"
    r"\s*(?:of\s+)?(?:about\s+|around\s+|roughly\s+|approximately\s+|~\s*)?"
    + _DURATION
)
_BOUND_AFTER = re.compile(
    r"(?<![0-9.,:])" + _DURATION
    + r"\s*(?:max(?:imum)?\b|tops\b|at\s+(?:the\s+)?most\b|or\s+(?:less|under|shorter)\b|and\s+under\b)"
)
_SHORT = re.compile(
    r"\bshort(?:ish)?\b"
    r"|\b(?:not|nothing)\s+(?:too\s+|very\s+|that\s+|so\s+|overly\s+)?long\b"
    r"|\bquick\s+(?:one|watch)\b"
)


def _spell_out(text: str) -> str:
    """Number words and half hours as digits: "an hour and a half" → "90 min"."""

    def half(match: re.Match[str]) -> str:
        count = match.group(1) or match.group(2)
        hours = 1 if count in ("a", "an") else int(count)
        return f"{hours * 60 + 30} min"

    text = _NUMBER_WORD.sub(lambda m: str(_NUMBER_WORDS[m.group(1)]), text)
    text = re.sub(r"\ba\s+couple\s+(?:of\s+)?hours\b", "2 hours", text)
    text = _AND_A_HALF.sub(half, text)
    text = re.sub(r"\bhalf\s+(?:an?\s+)?hour\b", "30 min", text)
    return re.sub(r"\ban?\s+hour\b", "1 hour", text)


def _minutes(match: re.Match[str]) -> int | None:
    if match.group("h") is not None:
        hours = float(match.group("h").replace(",", "."))
        minutes = round(hours * 60) + int(match.group("hm") or match.group("hm2") or 0)
    elif match.group("ch") is not None:
        minutes = int(match.group("ch")) * 60 + int(match.group("cm"))
    else:
        minutes = int(match.group("m"))
    return minutes if 1 <= minutes <= MAX_RUNTIME else None


def _runtime(text: str) -> int | None:
    spelled = _spell_out(text)
    found = [
        minutes
        for pattern in (_BOUND_BEFORE, _BOUND_AFTER)
        for match in pattern.finditer(spelled)
        if (minutes := _minutes(match)) is not None
    ]
    if found:
        return min(found)
    return SHORT_RUNTIME if _SHORT.search(text) else None


# Genres --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Concept:
    pattern: re.Pattern[str]
    keys: frozenset[str]  # genre names it stands for, as _key() spells them


def _concept(words: str, *keys: str) -> _Concept:
    return _Concept(re.compile(r"\b(?:" + words + r")\b"), frozenset(keys))


# What people say → the genre names it means. Known genres named nowhere here still
# match when the text names them (see _literal).
_CONCEPTS = (
    _concept(r"comed(?:y|ies)|comedic|funny|hilarious|laughs?|rom-?coms?|sitcoms?|light-?hearted", "comedy"),
    _concept(r"horrors?|scary|scare|spooky|creepy|frightening|slashers?", "horror"),
    _concept(r"sci-?fi|sci\s+fi|scifi|science[- ]fiction", "scifi", "sciencefiction"),
    _concept(r"documentar(?:y|ies)|docu-?series|docs?|docos?", "documentary"),
    _concept(r"animated|animation|animes?|cartoons?", "animation"),
    _concept(r"romantic|romances?|rom-?coms?|love\s+stor(?:y|ies)", "romance"),
    _concept(r"thrillers?|suspense(?:ful)?", "thriller"),
    _concept(r"dramas?|dramatic", "drama"),
    _concept(r"action(?:-packed)?", "action"),
    _concept(r"adventures?|adventurous", "adventure"),
    _concept(r"crime|heists?|gangsters?", "crime"),
    _concept(r"myster(?:y|ies)|whodunn?its?", "mystery"),
    _concept(r"fantasy|fantasies", "fantasy"),
    _concept(
        r"family[- ](?:friendly|films?|movies?|shows?|fun)|for\s+(?:the\s+)?(?:whole\s+)?family"
        r"|kids?[- ]friendly|for\s+(?:the\s+)?kids",
        "family",
        "kids",
    ),
    _concept(r"(?<!watch\s)(?<!viewing\s)histor(?:y|ical)|period\s+(?:pieces?|dramas?)", "history"),
    _concept(r"war|wartime", "war"),
    _concept(r"westerns?|cowboys?", "western"),
    _concept(r"musicals?", "musical", "music"),
    _concept(r"biopics?|biograph(?:y|ies|ical)", "biography"),
    _concept(r"sports?|sporty", "sport", "sports"),
    _concept(r"(?:film[- ])?noir", "filmnoir", "noir"),
)
# Genre names too common as plain words to be read as the genre ("something short").
_NOT_LITERAL = frozenset({"short", "talk", "news", "soap", "reality", "tvmovie", "kids", "family", "music", "history"})
_PARTS = re.compile(r"\s*(?:&|/|,|\+|\band\b)\s*")


def _key(name: str) -> str:
    return re.sub(r"[\W_]+", "", unicodedata.normalize("NFKC", name).casefold())


def _literal(part: str) -> re.Pattern[str] | None:
    """A pattern for a genre name as written, plurals included ("westerns")."""
    words = re.findall(r"\w+", unicodedata.normalize("NFKC", part).casefold())
    if not words or _key(part) in _NOT_LITERAL or len(_key(part)) < 3:
        return None
    plural = r"(?:s|es)?" if len(words[-1]) > 3 else ""
    return re.compile(r"\b" + r"[\s-]*".join(map(re.escape, words)) + plural + r"\b")


def _genres(text: str, known_genres: Sequence[str]) -> tuple[str, ...]:
    concepts = [concept for concept in _CONCEPTS if _found(concept.pattern, text)]
    chosen: list[str] = []
    seen: set[str] = set()
    for name in list(known_genres)[:MAX_KNOWN_GENRES]:
        if not isinstance(name, str) or not name.strip() or len(name) > MAX_GENRE_NAME:
            continue
        if name.casefold() in seen:
            continue
        parts = [part for part in _PARTS.split(name) if part.strip()]
        keys = {_key(name), *(_key(part) for part in parts)}
        wanted = any(keys & concept.keys for concept in concepts) or any(
            pattern is not None and _found(pattern, text) for pattern in map(_literal, [name, *parts])
        )
        if wanted:
            seen.add(name.casefold())
            chosen.append(name)
    return tuple(chosen)


__all__ = [
    "Constraints",
    "FORMATS",
    "MAX_RUNTIME",
    "MAX_TEXT",
    "SHORT_RUNTIME",
    "Wish",
    "clean_format",
    "clean_genres",
    "clean_runtime",
    "format_minutes",
    "merge",
    "parse_rules",
]
