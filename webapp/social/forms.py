from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import IntegerField, SearchField, StringField
from wtforms.validators import DataRequired, Length, Optional

from webapp.forms import IntegerRange
from webapp.social.services import INVITE_DAYS_DEFAULT, INVITE_DAYS_MAX


class InviteForm(FlaskForm):
    days = IntegerField(
        "Valid for (days)",
        default=INVITE_DAYS_DEFAULT,
        validators=[Optional(), IntegerRange(1, INVITE_DAYS_MAX, message=f"Choose 1 to {INVITE_DAYS_MAX} days.")],
    )


class RedeemForm(FlaskForm):
    code = StringField(
        "Friend code",
        validators=[DataRequired(message="Enter the code your friend gave you."), Length(max=40)],
        description="Ten letters and digits, like 7KQ2M-XW4PD. Case and dashes don't matter.",
    )


class UserSearchForm(FlaskForm):
    """A GET search form: nothing is written, so no CSRF token."""

    class Meta:
        csrf = False

    q = SearchField("Find people", validators=[Optional(), Length(max=100)])
