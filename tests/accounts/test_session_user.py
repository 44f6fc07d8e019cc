"""The session's user is loaded by one Core query on the app context's connection, and
joins the request's ORM session as if an ORM query had loaded it, once there is one
(webapp._init_login, webapp.db.add_when_used). These tests pin that it is an ordinary
persistent account as soon as the session is used: the same object as any later query
for the row, with its changes flushed and nothing else written."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from flask import Flask
from flask_login import current_user
from sqlalchemy import inspect, select
from sqlalchemy.exc import InvalidRequestError

from webapp.accounts import services
from webapp.accounts.models import User
from webapp.db import db


@contextmanager
def signed_in_request(app: Flask, user: User) -> Iterator[None]:
    services.open_login_session(user, user_agent="")
    token = user.get_id()
    db.session.commit()
    with app.test_request_context("/"):
        from flask import session

        session["_user_id"] = token
        session["_fresh"] = True
        app.preprocess_request()
        yield
        db.session.rollback()


def test_the_session_user_is_a_persistent_account_like_any_loaded_one(app, make_user):
    ann = make_user(username="ann", bio="Films on Fridays.")
    ann_id = ann.id
    db.session.remove()  # nothing of the set-up left in the request's session
    with signed_in_request(app, db.session.get(User, ann_id)):
        db.session.remove()
        me = current_user._get_current_object()
        assert not db.session.registry.has()  # loading the account made no ORM session
        assert me.bio == "Films on Fridays." and me.username == "ann"
        assert db.session.get(User, ann_id) is me  # the session's first use takes it in
        state = inspect(me)
        assert state.persistent and not state.modified
        assert db.session.scalars(select(User).where(User.username == "ann")).one() is me
        with pytest.raises(InvalidRequestError):
            me.identities  # noqa: B018  (lazy="raise", as for a queried account)
        me.bio = "Albums on Sundays."
        db.session.commit()
    db.session.remove()
    assert db.session.scalar(select(User.bio).where(User.id == ann_id)) == "Albums on Sundays."


def test_a_change_made_before_the_session_exists_is_flushed_with_it(app, make_user):
    ann_id = make_user(username="ann", bio="Films on Fridays.").id
    db.session.remove()
    with signed_in_request(app, db.session.get(User, ann_id)):
        db.session.remove()
        me = current_user._get_current_object()
        me.bio = "Albums on Sundays."
        assert not db.session.registry.has()
        db.session.commit()
    db.session.remove()
    assert db.session.scalar(select(User.bio).where(User.id == ann_id)) == "Albums on Sundays."


def test_the_account_joins_every_session_of_the_request(app, make_user):
    ann_id = make_user(username="ann").id
    db.session.remove()
    with signed_in_request(app, db.session.get(User, ann_id)):
        me = current_user._get_current_object()
        assert db.session.get(User, ann_id) is me
        db.session.remove()  # closing a session lets its instances go
        assert inspect(me).detached
        assert db.session.get(User, ann_id) is me  # the next session takes it in again
        assert inspect(me).persistent


def test_an_account_the_request_already_loaded_is_reused(app, make_user):
    ann_id = make_user(username="ann").id
    db.session.remove()
    with signed_in_request(app, db.session.get(User, ann_id)):
        db.session.remove()
        loaded_first = db.session.get(User, ann_id)
        assert current_user._get_current_object() is loaded_first


def test_a_deleted_account_does_not_come_back_in_a_later_session(app, make_user):
    ann_id = make_user(username="ann").id
    db.session.remove()
    with signed_in_request(app, db.session.get(User, ann_id)):
        me = current_user._get_current_object()
        db.session.delete(db.session.get(User, ann_id))
        db.session.commit()
        db.session.remove()
        assert db.session.get(User, ann_id) is None
        assert inspect(me).detached
