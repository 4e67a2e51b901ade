"""Texts the system writes into a record — a history note such as "Cancelled by the applicant.",
why a text message was not sent — kept as their msgid and parameters and translated when shown,
in the reader's language, not frozen in the language of whoever caused them (a citizen on
/en/, the worker).

``stored_text(gettext_noop("…%(x)s…"), x=…)`` gives the value to store (a string with a marker,
so it fits the text columns free text is also kept in); ``shown_text(value)`` gives it
translated into the active language, and returns anything else unchanged. A parameter may itself
be a stored text or a lazy label (a choice's label), translated in its turn. ``StoredTextField``
is a text column whose values come out of the database translated (a ``ShownText``) and go back
stored, so every page, export and form that reads it shows it in its reader's language.
"""

import json

from django.db import models
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext

MARK = "\u2063msgid:"  # an invisible separator nobody types, then JSON


def msgid_of(text) -> str:
    """The untranslated msgid of a lazy translation (a label), or the string itself."""
    if isinstance(text, Promise):
        with translation.override(None):
            return str(text)
    return str(text)


def stored_text(msgid, **params) -> str:
    """The value to store for ``msgid`` % ``params``, translated only when shown."""
    values = {
        key: stored_text(value) if isinstance(value, Promise) else value
        for key, value in params.items()
    }
    return MARK + json.dumps(
        {"msgid": msgid_of(msgid), "params": values}, ensure_ascii=False, default=str
    )


def is_stored_text(value) -> bool:
    return isinstance(value, str) and value.startswith(MARK)


def shown_text(value) -> str:
    """``value`` translated into the active language if it is a stored text, else as it is."""
    if not is_stored_text(value):
        return value
    try:
        data = json.loads(value[len(MARK) :])
        translated = gettext(data["msgid"])
        params = {key: shown_text(item) for key, item in (data.get("params") or {}).items()}
        return translated % params if params else translated
    except (ValueError, KeyError, TypeError):
        return value


class ShownText(str):
    """A stored text as read from the database: it reads as its translation and is written
    back as it was stored (``StoredTextField``)."""

    stored: str

    def __new__(cls, stored: str):
        text = super().__new__(cls, shown_text(stored))
        text.stored = stored
        return text


class StoredTextField(models.TextField):
    """A text column holding free text or a ``stored_text``; the latter reads translated."""

    def from_db_value(self, value, expression, connection):
        return ShownText(value) if is_stored_text(value) else value

    def get_prep_value(self, value):
        if isinstance(value, ShownText):
            return value.stored
        return super().get_prep_value(value)
