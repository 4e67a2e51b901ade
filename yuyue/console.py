"""The staff console's two ways into the services, shared by every app's admin.

- ``StepAdminMixin``: the steps of a record's state machines (``yuyue.transitions``) as buttons
  on its change page and one page per step, whose form calls the step's service with
  ``now=timezone.now()`` and the user; the service's errors are shown beside their field.
- ``ServiceAddForm`` with ``ServiceAddAdminMixin``: an add page whose row is made by a service.
  The form validates its fields, then its ``create()`` calls the service once, inside the
  admin's transaction; a refusal is shown beside its field like any form error, and the row the
  service made is the form's instance. Nothing is saved twice and no rule is checked twice.

Nothing here decides a rule; it knows no app.
"""

import datetime as dt

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

from .transitions import Transition, TransitionTable

# Django's admin templates read these out to screen readers (the side menu's table headings,
# admin/app_list.html), but its zh_Hans catalogue lacks them (Django 5.2): listed here so that
# makemessages puts them into ours, which Django searches first.
DJANGO_ADMIN_MSGIDS = [
    gettext_noop("Model name"),
    gettext_noop("Add link"),
    gettext_noop("Change or view list link"),
]


def errors_to_form(form: forms.Form, error: ValidationError, error_fields) -> None:
    """Each of a service's errors beside its form field: the field its key names, through
    ``error_fields`` (service key: form field) where the two differ; else on top of the form."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error.messages)
        return
    renamed = dict(error_fields)
    for key, errors in error.message_dict.items():
        field = renamed.get(key, key)
        form.add_error(field if field in form.fields else None, errors)


# --- lifecycle steps ----------------------------------------------------------------------------


class StepForm(forms.Form):
    """A step's input. ``record`` is the console's record (a booking, a complaint, …); the
    service gets ``service_arguments()``, by default the cleaned data under the fields' names."""

    def __init__(self, *args, record, **kwargs):
        self.record = record
        super().__init__(*args, **kwargs)

    def service_arguments(self) -> dict:
        return dict(self.cleaned_data)


class NoInputForm(StepForm):
    """The form of a step that needs no input: a button."""


def step_form_class(transition: Transition) -> type[StepForm]:
    return import_string(transition.form) if transition.form else NoInputForm


class StepAdminMixin:
    """Steps on a ModelAdmin's records: ``step_tables`` lists the state machines whose steps the
    console offers, in the order of their buttons. The record is hall-scoped by the admin's own
    ``get_object`` (a record of another hall is not found)."""

    step_tables: tuple[TransitionTable, ...] = ()
    step_template = ""
    # Shown when the record's state no longer allows the step; %(step)s and %(state)s.
    step_refused_text = _("“%(step)s” is not possible for this record now (%(state)s).")

    # --- hooks --------------------------------------------------------------------------------

    def step_subject(self, record, table: TransitionTable):
        """What ``table``'s steps act on, for this record (the record itself, by default)."""
        return record

    def steps_allowed(self, request, record) -> bool:
        """Whether the console offers this user any step on this record (e.g. only in their hall;
        the service still refuses the rest)."""
        return True

    def step_may_open(self, request, record) -> bool:
        """Whether this user may open a step page on this record at all (it shows the record)."""
        return True

    def change_context(self, request, record, steps: list[Transition]) -> dict:
        """More for the change page's template, given the steps offered on it (the record is
        looked up once)."""
        return {}

    def step_context(self, request, record, transition: Transition) -> dict:
        """More for the step page's template (facts about the record)."""
        return {}

    # --- the steps ----------------------------------------------------------------------------

    def steps_offered(self, request, record, *, now: dt.datetime) -> list[Transition]:
        if not self.steps_allowed(request, record):
            return []
        offered = []
        for table in self.step_tables:
            if not table.may_take_any(request.user):
                continue  # spares looking up the subject for a user without any of its steps
            subject = self.step_subject(record, table)
            if subject is not None:
                offered += table.offered(subject, user=request.user, now=now)
        return offered

    def _step_table(self, name: str) -> TransitionTable | None:
        for table in self.step_tables:
            transition = table.get(name)
            if transition is not None and transition.console:
                return table
        return None

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = dict(extra_context or {})
        record = self.get_object(request, object_id)
        if record is not None:
            steps = self.steps_offered(request, record, now=timezone.now())
            extra_context["steps"] = steps
            extra_context.update(self.change_context(request, record, steps))
        return super().change_view(request, object_id, form_url, extra_context)

    def step_urls(self):
        return [
            path(
                "<path:object_id>/step/<str:step>/",
                self.admin_site.admin_view(self.step_view),
                name=f"{self.opts.app_label}_{self.opts.model_name}_step",
            )
        ]

    def get_urls(self):
        return self.step_urls() + super().get_urls()

    def _record_state(self, record) -> str:
        return getattr(record, f"get_{self.step_tables[0].state}_display")()

    def step_view(self, request, object_id, step):
        """One step on one record: a small form that calls the step's service. A step the state
        no longer allows goes back to the record with a message; the service's refusals stand
        beside their fields, never as a server error."""
        table = self._step_table(step)
        record = self.get_object(request, object_id)  # hall-scoped: None if not visible
        if table is None or record is None:
            raise Http404
        transition = table[step]
        subject = self.step_subject(record, table)
        if not self.step_may_open(request, record):
            raise PermissionDenied
        if not table.actor_permitted(step, record if subject is None else subject, request.user):
            raise PermissionDenied
        record_url = reverse(
            f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=[record.pk]
        )
        now = timezone.now()
        if subject is None or not table.possible(step, subject, now=now):
            state = self._record_state(record)
            messages.error(
                request,
                str(self.step_refused_text)
                % {"step": transition.label, "state": state, "status": state},
            )
            return HttpResponseRedirect(record_url)
        posted = request.method == "POST"  # an empty POST is still one
        form = step_form_class(transition)(
            request.POST if posted else None, request.FILES if posted else None, record=record
        )
        if posted and form.is_valid():
            try:
                table.take(step, subject, actor=request.user, now=now, **form.service_arguments())
            except ValidationError as error:
                errors_to_form(form, error, transition.error_fields)
            except PermissionDenied as error:
                form.add_error(None, str(error))
            else:
                done = transition.done or gettext("%(step)s: done.") % {"step": transition.label}
                messages.success(request, done)
                return HttpResponseRedirect(record_url)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": record,
            "title": transition.label,
            "subtitle": str(record),
            "step": transition,
            "form": form,
            "media": self.media + form.media,
            "record_url": record_url,
            **self.step_context(request, record, transition),
        }
        return TemplateResponse(request, self.step_template, context)


# --- add pages that create through a service ----------------------------------------------------


class ServiceAddForm(forms.ModelForm):
    """An add form whose row a service makes. Subclasses define ``create(data, *, actor, now)``
    calling the ``*_register``/``*_create``/``*_submit`` service and returning the row; it runs
    in ``clean()`` once the fields are valid (``request`` is set by ``ServiceAddAdminMixin``)."""

    # Service error keys that mean one of this form's fields (service key: form field).
    error_fields: dict[str, str] = {}

    def create(self, data: dict, *, actor, now: dt.datetime):
        raise NotImplementedError

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:
            self.instance = self.create(data, actor=self.request.user, now=timezone.now())
        except ValidationError as error:
            errors_to_form(self, error, self.error_fields)
        except PermissionDenied as error:
            self.add_error(None, str(error))
        return data

    def _post_clean(self):
        # The service validated and saved the row; the model's validation is not repeated.
        pass

    def save(self, commit=True):
        return self.instance


class ServiceAddAdminMixin:
    """A ModelAdmin whose add page is ``add_form`` (a ``ServiceAddForm``): the service has saved
    the row by the time the admin would, so the admin saves nothing; ``after_create`` may add a
    message. The add page has no inlines: the admin would validate them after the service has
    made the row, and keep that row when they fail."""

    add_form: type[ServiceAddForm]

    def get_inlines(self, request, obj):
        return super().get_inlines(request, obj) if obj is not None else []

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = self.add_form
        form = super().get_form(request, obj, change=change, **kwargs)
        form.request = request
        return form

    def after_create(self, request, obj) -> None:
        pass

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
        else:
            self.after_create(request, obj)

    def save_related(self, request, form, formsets, change):
        if change:
            super().save_related(request, form, formsets, change)
