from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, IntegerField, RadioField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from webapp.forms import IntegerRange
from webapp.groups.forms import MultiCheckboxField
from webapp.tonight import services


class GenreChoices(MultiCheckboxField):
    """Genre names, checked against the catalog by the service."""

    def process_formdata(self, valuelist: list[str]) -> None:
        self.data = [v[:60] for v in valuelist if v.strip()][:20]


class StartForm(FlaskForm):
    format = RadioField("Format", choices={"any": "Anything", "movie": "A film", "tv": "A show"},
                        default="any")
    max_runtime = IntegerField("Longest runtime in minutes (optional)",
                               validators=[Optional(), IntegerRange(1, 1000, message="Choose 1 to 1000 minutes.")])
    genres = GenreChoices("Genres (any of them)", validators=[Optional()])
    exclude_watched = BooleanField("Leave out titles anyone in the group has watched")
    text = StringField("Or just say what you are in the mood for (optional)",
                       validators=[Optional(), Length(max=services.FREE_TEXT_MAX)],
                       description="For example: “a comedy under two hours”, “a show”, “something new”.")
    duration = IntegerField(
        "Voting time in minutes", default=services.DURATION_DEFAULT,
        validators=[InputRequired(message="Choose how long voting stays open."),
                    IntegerRange(services.DURATION_MIN, services.DURATION_MAX,
                                 message=f"Choose {services.DURATION_MIN} to {services.DURATION_MAX} minutes.")],
    )
    candidates = IntegerField(
        "Cards in the deck", default=services.COUNT_DEFAULT,
        validators=[InputRequired(message="Choose how many cards to deal."),
                    IntegerRange(services.COUNT_MIN, services.COUNT_MAX,
                                 message=f"Choose {services.COUNT_MIN} to {services.COUNT_MAX} cards.")],
    )


class VoteForm(FlaskForm):
    """One card's vote (the card-at-a-time view)."""

    candidate = HiddenField(validators=[DataRequired()])
    vote = HiddenField(validators=[DataRequired()])


class WatchedForm(FlaskForm):
    present = MultiCheckboxField("Who was there", coerce=int, validators=[Optional()])
