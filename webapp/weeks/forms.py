from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import HiddenField, IntegerField, SearchField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from webapp.forms import IntegerRange
from webapp.weeks.services import NOTES_MAX

SLOT = IntegerRange(1, 2, message="Choose slot 1 or 2.")


class ChooseSearchForm(FlaskForm):
    """The search on the page that fills a slot: a GET form, so no CSRF token."""

    class Meta:
        csrf = False

    q = SearchField("Search", validators=[Optional(), Length(max=200)])
    position = IntegerField("Slot", validators=[Optional(), SLOT])


class PickForm(FlaskForm):
    ref = HiddenField("Title", validators=[DataRequired(message="Choose a title from the search results."),
                                           Length(max=80)])
    position = IntegerField("Slot", validators=[Optional(), SLOT])


class ManualPickForm(FlaskForm):
    title = StringField("Title", validators=[DataRequired(message="Give the title."), Length(max=300)])
    year = IntegerField("Year", validators=[Optional(), IntegerRange(1870, 2200, message="Enter a year between 1870 and 2200.")])
    artist = StringField("Artist", validators=[Optional(), Length(max=300)])
    position = IntegerField("Slot", validators=[Optional(), SLOT])


class NotesForm(FlaskForm):
    notes = TextAreaField(
        "Notes for the week",
        validators=[Optional(), Length(max=NOTES_MAX, message=f"Keep notes to {NOTES_MAX} characters.")],
        description="What you thought, where you watched or listened. Only what you write here is shown.",
    )


class ImportForm(FlaskForm):
    file = FileField("Export file (JSON)", validators=[FileRequired(message="Choose the .json file of an export.")],
                     description="A file downloaded from “Download as JSON” here or on another Marquee account.")

