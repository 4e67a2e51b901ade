"""What the apps above ``sms`` declare to it: their alert kinds, their message purposes with
their templates, and the handlers of the records their messages are about.

``sms`` is the lowest app and knows no domain. Each app fills these registries in its
``AppConfig.ready()``:

- ``alert_kinds.register(AlertKind)``: a ``TextChoices`` of the app's alert kinds;
- ``message_purposes.register(Purpose, templates)``: a ``TextChoices`` of the app's message
  purposes and, for each, its placeholders, the ones it must use and its default wording;
- ``subject_handlers.register(Model, SubjectHandler(...))``: what a message about a record of
  ``Model`` (its subject or its occasion) means for that record — whether it still applies just
  before it is sent, and what its sending causes. This is the one way ``sms`` causes something
  in a higher app: ``sms.services.message_deliver`` calls these handlers and nothing else.
  Registered today by ``appointments.apps`` (a booking: skipped once cancelled, deleted or
  moved; a change request: skipped unless approved, applied once its notice is sent,
  DB1403/T 6.2.2).

``Alert.Kind`` and ``Message.Purpose`` read the registries, so ``Alert.Kind.NO_SHOW_DUE`` is the
member declared by the app that owns it. The database columns hold the values only: a new
domain adds kinds and purposes without an ``sms`` migration.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db import models
from django.utils.functional import Promise


class ChoicesRegistry:
    """The members of the ``TextChoices`` the apps registered, by name and by value."""

    def __init__(self, what: str):
        self._what = what
        self._by_name: dict[str, models.TextChoices] = {}
        self._by_value: dict[str, models.TextChoices] = {}

    def register(self, choices: Iterable[models.TextChoices]) -> None:
        """Add the members of a ``TextChoices`` (or a list of members). A value that another
        member holds already is refused, and then nothing is added."""
        members = list(choices)
        for member in members:
            known = self._by_value.get(member.value)
            if known is not None and known is not member:
                raise ValueError(f"{self._what} {member.value!r} is registered twice")
        for member in members:
            self._by_name[member.name] = member
            self._by_value[member.value] = member

    def __getattr__(self, name: str):
        # Only called for names that are not attributes: the registered members.
        try:
            return self.__dict__["_by_name"][name]
        except KeyError:
            what = self.__dict__.get("_what", "member")
            raise AttributeError(f"no {what} named {name}") from None

    def __contains__(self, value) -> bool:
        return value in self._by_value

    def __iter__(self):
        return iter(self._by_value.values())

    @property
    def choices(self) -> list[tuple[str, Promise | str]]:
        return [(member.value, member.label) for member in self._by_value.values()]

    def label(self, value: str) -> str:
        member = self._by_value.get(value)
        return member.label if member is not None else value


@dataclass(frozen=True)
class TextTemplate:
    """One purpose's template rules: the placeholders it may use, those it must use, and the
    default wording (translated) used when administrators have not written their own."""

    placeholders: frozenset[str]
    required: frozenset[str]
    default: Promise | str


class PurposeRegistry(ChoicesRegistry):
    def __init__(self):
        super().__init__("message purpose")
        self.templates: dict[str, TextTemplate] = {}

    def register(self, choices, templates: dict[str, TextTemplate] | None = None) -> None:
        templates = templates or {}
        missing = [member for member in choices if member not in templates]
        if missing:
            raise ValueError(f"message purposes without a template: {missing}")
        super().register(choices)
        self.templates.update({str(value): spec for value, spec in templates.items()})


@dataclass(frozen=True)
class SubjectHandler:
    """What messages about one model's records mean to the app that owns the model.

    ``skip_reason(message, record)`` returns why a queued message no longer applies ("" if it
    does); ``record`` is None when the record was deleted after the message was written.
    ``on_sent(message, record)`` runs after the message went out (its ``sent_at`` is set).
    """

    skip_reason: Callable | None = None
    on_sent: Callable | None = None


class SubjectHandlers:
    def __init__(self):
        self._handlers: dict[str, SubjectHandler] = {}

    def register(self, model: type[models.Model], handler: SubjectHandler) -> None:
        self._handlers[model._meta.label_lower] = handler

    def get(self, label: str) -> SubjectHandler | None:
        return self._handlers.get(label)

    def labels(self) -> Iterable[str]:
        return self._handlers.keys()


alert_kinds = ChoicesRegistry("alert kind")
message_purposes = PurposeRegistry()
subject_handlers = SubjectHandlers()


def alert_kind_choices():
    """The registered alert kinds (the ``kind`` field's choices, read when used)."""
    return alert_kinds.choices


def message_purpose_choices():
    """The registered message purposes (the ``purpose`` fields' choices, read when used)."""
    return message_purposes.choices
