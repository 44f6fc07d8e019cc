"""Account rules. Services take explicit arguments, raise DomainErrors and flush, never commit."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import date, datetime

from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.exc import IntegrityError

from webapp.accounts import passwords
from webapp.accounts.models import LoginSession, OAuthIdentity, User
from webapp.accounts.signals import account_deleting
from webapp.db import db, utcnow
from webapp.errors import Conflict, Invalid, NotFound

USERNAME_RE = re.compile(r"^[a-z0-9_.-]{3,30}$")
USERNAME_HELP = "3 to 30 characters: letters a-z, digits, and _ . -"


def normalise_email(email: str) -> str:
    return email.strip().lower()


def normalise_username(username: str) -> str:
    return username.strip().lower()


# Imported MovieLens rating authors are named ml<number>.
RESERVED_USERNAME_RE = re.compile(r"^ml\d+$")


def username_problem(username: str) -> str | None:
    if not USERNAME_RE.fullmatch(username):
        return f"Usernames are {USERNAME_HELP}."
    if RESERVED_USERNAME_RE.fullmatch(username):
        return "Usernames like ml123 are reserved for imported MovieLens accounts."
    return None


def user_by_login(login: str) -> User | None:
    """Find an account by email or username, case-insensitively."""
    login = login.strip().lower()
    column = User.email if "@" in login else User.username
    return db.session.scalar(select(User).where(column == login))


def email_taken(email: str, *, except_user: User | None = None) -> bool:
    query = select(User.id).where(User.email == normalise_email(email))
    if except_user is not None:
        query = query.where(User.id != except_user.id)
    return db.session.scalar(query) is not None


def username_taken(username: str, *, except_user: User | None = None) -> bool:
    query = select(User.id).where(User.username == normalise_username(username))
    if except_user is not None:
        query = query.where(User.id != except_user.id)
    return db.session.scalar(query) is not None


def _flush_unique(user: User) -> None:
    """Flush, turning a lost race on a unique column into a field error."""
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as exc:
        text = str(exc.orig).lower()
        if "email" in text:
            raise Invalid("That email is already registered.", field="email") from exc
        if "username" in text:
            raise Invalid("That username is taken.", field="username") from exc
        raise Conflict() from exc


def check_password_strength(password: str, *, user_inputs: list[str]) -> None:
    strength = passwords.assess(password, user_inputs)
    if not strength.acceptable:
        raise Invalid(" ".join(strength.problems), field="password")


def register(
    *,
    email: str,
    username: str,
    display_name: str,
    password: str,
    birth_date: date | None = None,
) -> User:
    email = normalise_email(email)
    username = normalise_username(username)
    if problem := username_problem(username):
        raise Invalid(problem, field="username")
    if email_taken(email):
        raise Invalid("That email is already registered.", field="email")
    if username_taken(username):
        raise Invalid("That username is taken.", field="username")
    check_password_strength(password, user_inputs=[email, username, display_name])
    user = User(
        email=email,
        username=username,
        display_name=display_name.strip(),
        password_hash=passwords.hash_password(password),
        birth_date=birth_date,
    )
    db.session.add(user)
    _flush_unique(user)
    return user


def authenticate(login: str, password: str) -> User | None:
    user = user_by_login(login)
    if user is None or not user.can_login:
        passwords.verify_password(None, password)
        return None
    if not passwords.verify_password(user.password_hash, password):
        return None
    return user


def update_profile(
    user: User,
    *,
    display_name: str,
    bio: str,
    is_private: bool,
    email: str,
    username: str,
) -> User:
    email = normalise_email(email)
    username = normalise_username(username)
    if problem := username_problem(username):
        raise Invalid(problem, field="username")
    if email_taken(email, except_user=user):
        raise Invalid("That email is already registered.", field="email")
    if username_taken(username, except_user=user):
        raise Invalid("That username is taken.", field="username")
    user.display_name = display_name.strip()
    user.bio = bio.strip()
    user.is_private = is_private
    user.email = email
    user.username = username
    _flush_unique(user)
    return user


def token_hash(token: str) -> str:
    """What login_sessions stores of a session's token: its SHA-256 (hex)."""
    return hashlib.sha256(token.encode()).hexdigest()


def open_login_session(user: User, *, user_agent: str, forget_before: datetime | None = None) -> LoginSession:
    """A new signed-in browser for `user`. Its random token is set on `user.login_token`
    (for the cookie, through `user.get_id()`) and is stored nowhere but as a hash.
    The account's sessions last seen before `forget_before` (their cookies have
    expired) are deleted."""
    if forget_before is not None:
        db.session.execute(
            delete(LoginSession).where(LoginSession.user_id == user.id, LoginSession.last_seen_at < forget_before)
        )
    token = secrets.token_urlsafe(32)
    login = LoginSession(user_id=user.id, token_hash=token_hash(token), device=describe_device(user_agent))
    db.session.add(login)
    db.session.flush()
    user.login_token = token
    return login


def login_sessions_of(user: User, *, seen_since: datetime | None = None) -> list[LoginSession]:
    """The account's signed-in browsers (last seen since `seen_since`), the most
    recently seen first."""
    query = select(LoginSession).where(LoginSession.user_id == user.id)
    if seen_since is not None:
        query = query.where(LoginSession.last_seen_at >= seen_since)
    return list(db.session.scalars(query.order_by(LoginSession.last_seen_at.desc(), LoginSession.id.desc())))


def end_login_session(user: User, session_id: int) -> None:
    """Sign one browser of `user` out (404 for a session that is not theirs)."""
    if not 0 < session_id < 2**31:  # no such id, and PostgreSQL would refuse the number
        raise NotFound()
    ended = db.session.execute(
        delete(LoginSession).where(LoginSession.id == session_id, LoginSession.user_id == user.id)
    )
    if ended.rowcount != 1:  # type: ignore[attr-defined]
        raise NotFound()


def revoke_sessions(user: User, *, keep: int | None = None) -> None:
    """End every session of this user, on every device (but the login session `keep`)."""
    statement = delete(LoginSession).where(LoginSession.user_id == user.id)
    if keep is not None:
        statement = statement.where(LoginSession.id != keep)
    db.session.execute(statement)


# (pattern in the User-Agent, name shown), the first that matches wins: Edge and Opera
# also say Chrome, Chrome also says Safari.
_BROWSERS = [
    ("Edg", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"), ("FxiOS/", "Firefox"),
    ("Chrome/", "Chrome"), ("CriOS/", "Chrome"), ("Safari/", "Safari"),
]
_SYSTEMS = [
    ("Android", "Android"), ("iPhone", "iPhone"), ("iPad", "iPad"), ("Windows", "Windows"),
    ("CrOS", "ChromeOS"), ("Mac OS X", "macOS"), ("Macintosh", "macOS"), ("Linux", "Linux"),
]


def describe_device(user_agent: str) -> str:
    """A short description of a browser from its User-Agent, such as "Firefox on Linux"."""
    browser = next((name for mark, name in _BROWSERS if mark in user_agent), None)
    system = next((name for mark, name in _SYSTEMS if mark in user_agent), None)
    if browser and system:
        return f"{browser} on {system}"
    return browser or (f"A browser on {system}" if system else "An unknown browser")


def change_password(user: User, *, current_password: str | None, new_password: str) -> None:
    if user.has_password and not passwords.verify_password(user.password_hash, current_password or ""):
        raise Invalid("That is not your current password.", field="current_password")
    check_password_strength(
        new_password, user_inputs=[user.email or "", user.username, user.display_name]
    )
    user.password_hash = passwords.hash_password(new_password)
    revoke_sessions(user)


def delete_account(user: User) -> None:
    """Remove the account and its personal data. Features that own data subscribe to
    `account_deleting` (for example to hand groups over) before the row goes."""
    account_deleting.send(user)
    db.session.delete(user)
    db.session.flush()


def create_admin(*, email: str, username: str, display_name: str, password: str) -> User:
    existing = user_by_login(username)
    if existing is not None:
        existing.is_admin = True
        existing.tier = "admin"
        db.session.flush()
        return existing
    user = register(email=email, username=username, display_name=display_name, password=password)
    user.is_admin = True
    user.tier = "admin"
    db.session.flush()
    return user


# Built once (see "Statements built once" in webapp/db.py): every /u/<username> page.
_USER_BY_USERNAME = select(User).where(User.username == bindparam("username"))


def get_user(username: str) -> User:
    user = db.session.scalar(_USER_BY_USERNAME, {"username": normalise_username(username)})
    if user is None or user.is_imported:
        raise NotFound()
    return user


def _unique_username(seed: str) -> str:
    base = re.sub(r"[^a-z0-9_.-]", "", seed.lower())[:24] or "user"
    if len(base) < 3 or RESERVED_USERNAME_RE.fullmatch(base):
        base = (base + "user")[:24]
    candidate = base
    while username_taken(candidate):
        candidate = f"{base}{secrets.randbelow(10**5)}"
    return candidate


UNCONFIRMED_ACCOUNT = (
    "A Marquee account already uses this email, but its address was never confirmed, "
    "so this sign-in cannot be added to it. Log in to it with its password (or reset "
    "the password by email), then link this sign-in from your settings."
)


def oauth_sign_in(
    *,
    provider: str,
    subject: str,
    email: str | None,
    email_verified: bool,
    name: str | None,
    current: User | None = None,
) -> tuple[User, str]:
    """Resolve a provider identity to an account.

    Returns the account and what happened: "existing", "linked" or "created".
    An identity links to an existing account only while that account is logged in, or
    when both sides proved the same address: the provider says it verified it, and the
    account's owner confirmed it (email_verified_at). An account whose address is
    unconfirmed is never linked automatically: whoever typed it there may not own it.
    The person is asked to log in to that account and link from settings; nothing is
    created, so the real owner is not left with a second account that cannot have their
    address. A provider address that is not verified is never looked up (that would say
    which addresses are registered) and never given to a new account (that would keep
    the address from its owner): such a sign-in starts an account without an email.
    """
    subject = str(subject)
    identity = db.session.scalar(
        select(OAuthIdentity).where(OAuthIdentity.provider == provider, OAuthIdentity.subject == subject)
    )
    if identity is not None:
        owner = db.session.get(User, identity.user_id)
        assert owner is not None
        if current is not None and owner.id != current.id:
            raise Invalid("That account is already linked to another Marquee user.")
        return owner, "existing"

    email = normalise_email(email) if email else None
    trusted = email if email and email_verified else None
    if current is not None:
        target = current
        outcome = "linked"
        if trusted is not None and current.email == trusted and current.email_verified_at is None:
            # The provider vouches for the address the logged-in owner gave: confirmed.
            current.email_verified_at = utcnow()
    else:
        target = db.session.scalar(select(User).where(User.email == trusted)) if trusted else None
        if target is not None and not target.can_login:
            raise Invalid("That account cannot sign in.")
        if target is not None and target.email_verified_at is None:
            raise Invalid(UNCONFIRMED_ACCOUNT)
        outcome = "linked" if target is not None else "created"
        if target is None:
            local_part = (email or "").split("@")[0]
            target = User(
                email=trusted,
                email_verified_at=utcnow() if trusted else None,
                username=_unique_username(local_part or name or "member"),
                display_name=(name or "").strip()[:50] or local_part[:50] or "New member",
                password_hash=None,
            )
            db.session.add(target)
            _flush_unique(target)
    db.session.add(OAuthIdentity(user_id=target.id, provider=provider, subject=subject, email=email))
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as exc:  # the same identity linked by a simultaneous request
        raise Conflict("That sign-in was already being processed. Please try again.") from exc
    return target, outcome


def unlink_identity(user: User, identity_id: int) -> None:
    identity = db.session.scalar(
        select(OAuthIdentity).where(OAuthIdentity.id == identity_id, OAuthIdentity.user_id == user.id)
    )
    if identity is None:
        raise NotFound()
    others = db.session.scalar(
        select(func.count(OAuthIdentity.id)).where(
            OAuthIdentity.user_id == user.id, OAuthIdentity.id != identity.id
        )
    )
    if not user.has_password and not others:
        raise Invalid("Set a password before removing your only way to sign in.")
    db.session.delete(identity)
    db.session.flush()


def identities_of(user: User) -> list[OAuthIdentity]:
    return list(
        db.session.scalars(
            select(OAuthIdentity).where(OAuthIdentity.user_id == user.id).order_by(OAuthIdentity.provider)
        )
    )
