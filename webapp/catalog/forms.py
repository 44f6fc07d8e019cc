from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    SearchField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    URLField,
)
from wtforms.validators import DataRequired, Length, Optional, URL

from webapp.catalog.services import KIND_LABELS, ORDERS, SEARCH_TYPES
from webapp.forms import IntegerRange

YEARS = IntegerRange(1870, 2200, message="Enter a year between 1870 and 2200.")


class SearchForm(FlaskForm):
    class Meta:
        csrf = False

    q = SearchField("Search films, shows and albums", validators=[Optional(), Length(max=200)])
    type = SelectField("Type", choices=dict(SEARCH_TYPES), default="all", validators=[Optional()])


class BrowseForm(FlaskForm):
    class Meta:
        csrf = False

    q = SearchField("Title contains", validators=[Optional(), Length(max=200)])
    genre = SelectField("Genre", choices={"": "Any genre"}, default="", validate_choice=False)
    year = IntegerField("Year", validators=[Optional(), YEARS])
    kind = SelectField("Kind", choices={"": "Any kind", **KIND_LABELS}, default="", validators=[Optional()])
    order = SelectField("Order by", choices=dict(ORDERS), default="title", validators=[Optional()])


class GenreForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=60)])


class TitleForm(FlaskForm):
    kind = SelectField("Kind", choices=dict(KIND_LABELS), validators=[DataRequired()])
    title = StringField("Title", validators=[DataRequired(), Length(max=300)])
    year = IntegerField("Year", validators=[Optional(), YEARS])
    release_date = DateField("Release date", validators=[Optional()])
    runtime_minutes = IntegerField(
        "Runtime (minutes)",
        validators=[Optional(), IntegerRange(1, 10000, message="Enter a runtime from 1 to 10000 minutes.")],
    )
    artist_credit = StringField("Album artist", validators=[Optional(), Length(max=300)])
    genre_ids = SelectMultipleField("Genres", coerce=int, validators=[Optional()])
    overview = TextAreaField("Overview", validators=[Optional(), Length(max=5000)])
    image_url = URLField(
        "Poster or cover URL", validators=[Optional(), Length(max=500), URL(require_tld=False, message="Enter a full http(s) address.")]
    )
    adult = BooleanField("Adult title")

