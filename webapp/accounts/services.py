"""Account rules. Services take explicit arguments, raise DomainErrors and flush, never commit."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import bindparam, delete, func, or_, select, update
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
    """An account whose email must be new (the console's create-admin, tests): unlike a
    sign-up through the form, a taken email is an error here."""
    result = sign_up(
        email=email, username=username, display_name=display_name, password=password, birth_date=birth_date
    )
    if result.user is None:
        raise Invalid("That email is already registered.", field="email")
    return result.user


@dataclass(frozen=True)
class SignUp:
    """What a sign-up did: made `user` (unverified), or found that `email_owner` already
    holds the address. The person signing up is told the same in both cases."""

    user: User | None
    email_owner: User | None


def sign_up(
    *,
    email: str,
    username: str,
    display_name: str,
    password: str,
    birth_date: date | None = None,
) -> SignUp:
    """Create an unverified account, unless the email is taken. Usernames are public, so
    a taken one is an error; a taken email is not, and costs the same work."""
    email = normalise_email(email)
    username = normalise_username(username)
    if problem := username_problem(username):
        raise Invalid(problem, field="username")
    if username_taken(username):
        raise Invalid("That username is taken.", field="username")
    check_password_strength(password, user_inputs=[email, username, display_name])
    password_hash = passwords.hash_password(password)
    owner = user_by_email(email)
    if owner is not None:
        return SignUp(None, owner)
    user = User(
        email=email,
        username=username,
        display_name=display_name.strip(),
        password_hash=password_hash,
        birth_date=birth_date,
    )
    db.session.add(user)
    try:
        _flush_unique(user)
    except Invalid as error:  # a simultaneous sign-up took the address first
        if error.field != "email" or (owner := user_by_email(email)) is None:
            raise
        return SignUp(None, owner)
    return SignUp(user, None)


def user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


NOTICE_INTERVAL = timedelta(hours=1)


def claim_address_notice(owner: User) -> bool:
    """May `owner` be told now that someone tried to use their address? At most once an
    hour, decided by one conditional UPDATE, so simultaneous attempts send one notice."""
    now = utcnow()
    result = db.session.execute(
        update(User)
        .where(
            User.id == owner.id,
            or_(User.email_notice_sent_at.is_(None), User.email_notice_sent_at <= now - NOTICE_INTERVAL),
        )
        .values(email_notice_sent_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


class LinkUsed(NotFound):
    default_message = "This link has expired or has already been used."


def verification_pending(user_id: int, email: str) -> bool:
    """Would this verification link still work? (Its page shows that; it writes nothing.)"""
    return db.session.scalar(
        select(User.id).where(User.id == user_id, User.email == email, User.email_verified_at.is_(None))
    ) is not None


def email_change_pending(user_id: int, old_email: str | None) -> bool:
    """Would this email-change link still work (the account still has the old address)?"""
    still = User.email.is_(None) if old_email is None else User.email == old_email
    return db.session.scalar(select(User.id).where(User.id == user_id, still)) is not None


def verify_email(user_id: int, email: str) -> User:
    """Mark the address verified, if it is still this account's and still unverified.
    Of two simultaneous uses of one link exactly one wins; the other raises LinkUsed."""
    result = db.session.execute(
        update(User)
        .where(User.id == user_id, User.email == email, User.email_verified_at.is_(None))
        .values(email_verified_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise LinkUsed()
    user = db.session.get(User, user_id, populate_existing=True)
    assert user is not None
    return user


def email_change_recipient(user: User, new_email: str) -> User | None:
    """Who already holds `new_email`, if anyone: they get a notice instead of a link."""
    owner = user_by_email(new_email)
    return owner if owner is not None and owner.id != user.id else None


def confirm_email_change(user_id: int, old_email: str | None, new_email: str) -> User:
    """Move the account to the new (now verified) address, if its address is still the
    one the link was issued for: a link works once, and not after another change."""
    still = User.email.is_(None) if old_email is None else User.email == old_email
    try:
        with db.session.begin_nested():
            result = db.session.execute(
                update(User)
                .where(User.id == user_id, still)
                .values(email=normalise_email(new_email), email_verified_at=utcnow())
                .execution_options(synchronize_session=False)
            )
    except IntegrityError as exc:
        raise LinkUsed("That address now belongs to another account, so it cannot be yours here.") from exc
    if result.rowcount != 1:
        raise LinkUsed()
    user = db.session.get(User, user_id, populate_existing=True)
    assert user is not None
    return user


def password_fingerprint(password_hash: str | None) -> str:
    """What a reset link remembers of the password it may replace: once the password
    changes (by this link or any other way), the link is spent."""
    return hashlib.sha256((password_hash or "-").encode()).hexdigest()[:20]


def reset_target(user_id: int, email: str, fingerprint: str) -> User:
    """The account a reset link is for, if the link is still good."""
    user = db.session.get(User, user_id)
    if (
        user is None
        or not user.can_login
        or user.email != email
        or password_fingerprint(user.password_hash) != fingerprint
    ):
        raise LinkUsed()
    return user


def reset_password(user_id: int, *, email: str, fingerprint: str, new_password: str) -> User:
    """Set a new password through a mailed link, and end every session of the account.
    The UPDATE matches only the password the link was issued for, so of two simultaneous
    uses exactly one wins. Following the link also proves the address."""
    user = reset_target(user_id, email, fingerprint)
    check_password_strength(new_password, user_inputs=[email, user.username, user.display_name])
    old = User.password_hash.is_(None) if user.password_hash is None else User.password_hash == user.password_hash
    result = db.session.execute(
        update(User)
        .where(User.id == user.id, User.email == email, old)
        .values(
            password_hash=passwords.hash_password(new_password),
            email_verified_at=func.coalesce(User.email_verified_at, utcnow()),
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise LinkUsed()
    db.session.refresh(user)
    revoke_sessions(user)
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
) -> str | None:
    """Save the profile. A new email address is not saved here: it is returned, and
    changes only once the link mailed to it is followed (confirm_email_change). Whether
    another account holds it is not told (answer_email_change decides what is mailed)."""
    email = normalise_email(email)
    username = normalise_username(username)
    if problem := username_problem(username):
        raise Invalid(problem, field="username")
    if username_taken(username, except_user=user):
        raise Invalid("That username is taken.", field="username")
    user.display_name = display_name.strip()
    user.bio = bio.strip()
    user.is_private = is_private
    user.username = username
    _flush_unique(user)
    return email if email != user.email else None


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
    user.email_verified_at = utcnow()  # whoever runs the console vouches for the address
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
