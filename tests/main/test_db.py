import pytest
from flask_migrate import upgrade
from sqlalchemy import create_engine, select, text

from tests.conftest import login, make_app
from webapp.accounts import services as accounts
from webapp.accounts.models import User
from webapp.db import db, insert_or_ignore
from webapp.social.models import Friendship


def test_insert_or_ignore_reports_whether_it_inserted(make_user):
    a, b = make_user(), make_user()
    assert insert_or_ignore(Friendship, user_low_id=a.id, user_high_id=b.id) is True
    assert insert_or_ignore(Friendship, user_low_id=a.id, user_high_id=b.id) is False
    db.session.commit()
    assert len(db.session.query(Friendship).all()) == 1


def test_a_sql_ascii_postgresql_database_keeps_unicode(database_url):
    """initdb under the C locale makes SQL_ASCII databases. Marquee asks for UTF-8 on the
    wire, so it starts, migrates and keeps any text there too (without that, psycopg
    returns bytes and SQLAlchemy fails at the first connection)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only: SQLite databases have no server encoding")
    base, _, name = database_url.rpartition("/")
    probe = f"{name}_sql_ascii"
    admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{probe}" WITH (FORCE)'))
        conn.execute(text(f"CREATE DATABASE \"{probe}\" ENCODING 'SQL_ASCII' TEMPLATE template0 "
                          "LC_COLLATE 'C' LC_CTYPE 'C'"))
    name_shown = "Zoë 映画 ✨"
    try:
        app = make_app(f"{base}/{probe}")
        with app.app_context():
            upgrade()
            user = accounts.register(email="zoe@example.com", username="zoe", display_name=name_shown,
                                     password="velvet-marquee-42", birth_date=None)
            db.session.commit()
            assert db.session.scalar(select(User.display_name).where(User.id == user.id)) == name_shown
            client = app.test_client()
            login(client, user)
            assert name_shown in client.get("/u/zoe").get_data(as_text=True)
            db.session.remove()
            db.engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{probe}" WITH (FORCE)'))
        admin.dispose()
