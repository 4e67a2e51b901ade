"""What the apps above ``sms`` declare to it: their alert kinds and their message purposes with
their templates.

``sms`` is the lowest app and knows no domain. Each app fills these registries in its
``AppConfig.ready()``:

- ``alert_kinds.register(AlertKind)``: a ``TextChoices`` of the app's alert kinds;
- ``message_purposes.register(Purpose, templates)``: a ``TextChoices`` of the app's message
  purposes and, for each, its placeholders, the ones it must use and its default wording.

These are declarations. What a message's sending means to the record it is about is not declared
here: ``sms`` sends the signals of ``sms.signals`` and the owning app answers.

``Alert.Kind`` and ``Message.Purpose`` read the registries, so ``Alert.Kind.NO_SHOW_DUE`` is the
member declared by the app that owns it. The database columns hold the values only: a new
domain adds kinds and purposes without an ``sms`` migration.
"""

from collections.abc import Iterable
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
    default wording (translated) used when administrators have not written their own.

    ``provider_params`` are the placeholders sent as the parameters of the template registered
    with an SMS provider (sms.providers), in order: Alibaba Cloud names them (``${reference}``),
    Tencent Cloud numbers them in this order (``{1}``, ``{2}``, …). Keep them short (a provider
    caps a parameter's length): longer wording (materials, address) stays on the citizen's
    booking page, whose address the registered template holds. A new purpose lists its
    parameters here and gets a row in the README's table of provider templates.
    """

    placeholders: frozenset[str]
    required: frozenset[str]
    default: Promise | str
    provider_params: tuple[str, ...] = ()

    def __post_init__(self):
        unknown = set(self.provider_params) - self.placeholders
        if unknown:
            raise ValueError(f"provider parameters that are not placeholders: {sorted(unknown)}")


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


alert_kinds = ChoicesRegistry("alert kind")
message_purposes = PurposeRegistry()


def alert_kind_choices():
    """The registered alert kinds (the ``kind`` field's choices, read when used)."""
    return alert_kinds.choices


def message_purpose_choices():
    """The registered message purposes (the ``purpose`` fields' choices, read when used)."""
    return message_purposes.choices
