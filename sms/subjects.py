"""How a message or an alert refers to the record it is about without ``sms`` knowing its model.

A reference is two columns: the model's label ("appointments.appointment", as in
``Model._meta.label_lower``) and the record's primary key, indexed together. We chose a label
string over a ``ContentType`` foreign key: writing and filtering need no content-type lookup
(no extra query on a cold cache, so the sweeps and pages do the same number of queries as with
the old foreign keys), and the rows read plainly in the database. There is no foreign key, so a
deleted record leaves its messages behind (they are then skipped, not sent) and the app that
owns the record removes its alerts (``appointments.receivers``).

Assigning a subject (``Message(subject=booking)``) also records, where the model has such a
column left empty, the subject's ``reference`` (kept when the subject is deleted) and its
``hall_id`` (the duty hall whose staff see the row): the one thing ``sms`` asks of a subject is
these two attributes, when it has them.

``Message.objects.about(record)`` lists the messages about a record; ``about_any(queryset)``
those about any record of a queryset (one query, a subquery on the keys).
"""

from functools import cache

from django.apps import apps
from django.db import models


def subject_label(model_or_record) -> str:
    return model_or_record._meta.label_lower


def subject_fields(model, pk, *, prefix: str = "subject") -> dict:
    """The column values that refer to ``model``'s record ``pk`` (for bulk writes that have the
    id but not the record)."""
    if pk is None:
        return {f"{prefix}_type": "", f"{prefix}_id": None}
    return {f"{prefix}_type": subject_label(model), f"{prefix}_id": pk}


# The subject's attributes copied into a row's empty columns when the subject is assigned.
SUBJECT_COPIES = (("reference", "subject_reference"), ("hall_id", "hall_id"))


@cache
def _copied_columns(model) -> tuple[tuple[str, str], ...]:
    columns = {field.attname for field in model._meta.concrete_fields}
    return tuple((attribute, column) for attribute, column in SUBJECT_COPIES if column in columns)


def _subject_copy(row, record) -> None:
    for attribute, column in _copied_columns(type(row)):
        if getattr(row, column) in (None, ""):
            value = getattr(record, attribute, None)
            if value is not None:
                setattr(row, column, value)


def reference_property(prefix: str) -> property:
    """``record.<prefix>``: the referred record, loaded once (None if there is none or it was
    deleted); assigning a record (or None) sets the two columns (and, for the subject, copies
    its reference and hall, see above)."""
    type_field, id_field, cache = f"{prefix}_type", f"{prefix}_id", f"_{prefix}_cache"

    def get(self):
        if cache not in self.__dict__:
            label, pk = getattr(self, type_field), getattr(self, id_field)
            record = None
            if label and pk is not None:
                model = apps.get_model(label)
                record = model._default_manager.filter(pk=pk).first()
            self.__dict__[cache] = record
        return self.__dict__[cache]

    def set(self, record):
        if record is None:
            setattr(self, type_field, "")
            setattr(self, id_field, None)
        else:
            setattr(self, type_field, subject_label(record))
            setattr(self, id_field, record.pk)
            if prefix == "subject":
                _subject_copy(self, record)
        self.__dict__[cache] = record

    return property(get, set)


class SubjectQuerySet(models.QuerySet):
    def about(self, record):
        """The rows about ``record``."""
        return self.filter(subject_type=subject_label(record), subject_id=record.pk)

    def about_any(self, queryset):
        """The rows about any record of ``queryset``."""
        return self.filter(
            subject_type=subject_label(queryset.model), subject_id__in=queryset.values("pk")
        )
