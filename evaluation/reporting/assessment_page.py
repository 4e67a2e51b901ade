"""The assessment page in the staff console (DB1403/T 7.4): the month's assessment of a hall's
windows and staff at ``/admin/evaluation/selfevaluation/assessment/`` and its Excel export.

The page is a view of the self-evaluation's admin (``SelfEvaluationAdmin`` mixes
``AssessmentPageMixin`` in and mounts ``assessment_view`` as ``admin:evaluation_assessment``), so
its address and permissions stay those of the console's evaluation section.
"""

import io

from django import forms
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.http import content_disposition_header, urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from duty.calendar import local
from duty.models import Hall
from duty.scoping import user_hall_id, visible_halls

from ..months import month_clean, month_started_check, previous_month
from .assessment import assessment_compute, assessment_scope
from .assessment_export import assessment_download_name, assessment_write
from .assessment_links import assessment_links

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class AssessmentPageMixin:
    """For a ``ModelAdmin`` of the evaluation section: the assessment page as ``assessment_view``
    (the admin mounts it in ``get_urls``)."""

    def assessment_view(self, request):
        """DB1403/T 7.4: the month's assessment of a hall's windows and staff, with the formula
        next to every score, every number linking to the records behind it, and its Excel
        export; each user sees the rows ``assessment_scope`` gives them (6.2.5)."""
        scope = assessment_scope(user=request.user)
        if scope is None:
            raise PermissionDenied
        now = timezone.now()
        defaults = {
            "hall": user_hall_id(request.user) or "",
            "month": previous_month(local(now).date()).strftime("%Y-%m"),
        }
        data = {**defaults, **{k: v for k, v in request.GET.items() if k in defaults}}
        form = AssessmentForm(data, user=request.user, now=now)
        assessment = None
        if form.is_valid():
            assessment = scope.limit(
                assessment_compute(
                    hall_id=form.cleaned_data["hall"].pk,
                    month=form.cleaned_data["month"],
                    now=now,
                )
            )
            if request.GET.get("export"):
                buffer = io.BytesIO()
                assessment_write(assessment=assessment, out=buffer)
                response = HttpResponse(buffer.getvalue(), content_type=XLSX)
                response["Content-Disposition"] = content_disposition_header(
                    True, assessment_download_name(assessment=assessment)
                )
                return response
            assessment_links(assessment=assessment, user=request.user, now=now)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Assessment of windows and staff (DB1403/T 7.4)"),
            "form": form,
            "assessment": assessment,
            "scope": scope,
            "may_list": self.has_view_permission(request),
            "export_url": "?" + urlencode({**data, "export": "1"}),
        }
        return TemplateResponse(request, "admin/evaluation/assessment.html", context)


def user_sees_assessment(user) -> bool:
    """DB1403/T 7.4, 6.2.5: whether ``user`` may open the assessment at all (the rows they see
    are ``assessment_scope``'s)."""
    return assessment_scope(user=user) is not None


class AssessmentForm(forms.Form):
    hall = forms.ModelChoiceField(queryset=Hall.objects.none(), label=gettext_lazy("hall"))
    month = forms.CharField(label=gettext_lazy("month (YYYY-MM)"), max_length=7)

    def __init__(self, *args, user, now, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["hall"].queryset = visible_halls(user)
        self.now = now

    def clean_month(self):
        try:
            month = month_clean(self.cleaned_data["month"])
            month_started_check(month=month, now=self.now)
        except ValidationError as error:
            raise forms.ValidationError(error.messages) from None
        return month
