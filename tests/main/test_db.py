from webapp.db import db, insert_or_ignore
from webapp.social.models import Friendship


def test_insert_or_ignore_reports_whether_it_inserted(make_user):
    a, b = make_user(), make_user()
    assert insert_or_ignore(Friendship, user_low_id=a.id, user_high_id=b.id) is True
    assert insert_or_ignore(Friendship, user_low_id=a.id, user_high_id=b.id) is False
    db.session.commit()
    assert len(db.session.query(Friendship).all()) == 1
