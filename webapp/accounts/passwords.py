"""Password hashing and strength rules.

Hashing uses Werkzeug's scrypt (a memory-hard KDF, already a Flask dependency); strength
uses zxcvbn, which knows common passwords, dictionary words, keyboard runs and dates,
and explains its verdict in words we can show beside the field.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from werkzeug.security import check_password_hash, generate_password_hash
from zxcvbn import zxcvbn

MIN_LENGTH = 8
MAX_LENGTH = 128
MIN_SCORE = 2  # zxcvbn 0-4: 0-1 are guessable within hours of offline attack
_ZXCVBN_MAX = 72  # zxcvbn refuses longer input; 72 characters are plenty to judge
LABELS = ("Very weak", "Weak", "Fair", "Strong", "Very strong")

# A hash to compare against when the account does not exist, so that a login for an
# unknown name takes as long as one with a wrong password.
_DUMMY_HASH = generate_password_hash("marquee-timing-equaliser")


@dataclass
class Strength:
    score: int
    label: str
    acceptable: bool
    problems: list[str] = field(default_factory=list)
    suggestions: list[str] = field(default_factory=list)


def assess(password: str, user_inputs: list[str] | None = None) -> Strength:
    problems: list[str] = []
    if len(password) < MIN_LENGTH:
        problems.append(f"Use at least {MIN_LENGTH} characters.")
    if len(password) > MAX_LENGTH:
        problems.append(f"Use at most {MAX_LENGTH} characters.")
    if not password:
        return Strength(0, LABELS[0], False, problems)
    result = zxcvbn(password[:_ZXCVBN_MAX], user_inputs=[u for u in (user_inputs or []) if u])
    score = int(result["score"])
    feedback = result.get("feedback") or {}
    if score < MIN_SCORE:
        warning = feedback.get("warning") or "This password is too easy to guess."
        problems.append(warning if warning.endswith(".") else warning + ".")
    return Strength(
        score=score,
        label=LABELS[score],
        acceptable=not problems,
        problems=problems,
        suggestions=list(feedback.get("suggestions") or []),
    )


def hash_password(password: str) -> str:
    return generate_password_hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    if password_hash is None:
        check_password_hash(_DUMMY_HASH, password)
        return False
    return check_password_hash(password_hash, password)
