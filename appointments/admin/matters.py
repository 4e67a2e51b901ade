"""Matters and slots in the console: what can be booked, and a slot's own capacity."""

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from duty.admin import HallScopedAdmin

from ..models import (
    Matter,
    Slot,
)
from ..slots import slot_at


@admin.register(Matter)
class MatterAdmin(HallScopedAdmin):
    list_display = ["name", "hall", "duration_minutes", "is_active"]
    list_filter = [
        ("hall", admin.RelatedOnlyFieldListFilter),
        "is_active",
        ("departments", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = ["name"]
    filter_horizontal = ["departments", "windows"]
    list_select_related = ["hall"]


class SlotForm(forms.ModelForm):
    """Set one slot's capacity ahead of time, e.g. 0 to close it for maintenance."""

    start = forms.SplitDateTimeField(label=_("start"), widget=admin.widgets.AdminSplitDateTime)

    class Meta:
        model = Slot
        fields = ["window", "start", "capacity"]

    def clean(self):
        data = super().clean()
        window, start = data.get("window"), data.get("start")
        if window is not None and start is not None:
            slot = slot_at(window=window, start=start)
            if slot is None:
                self.add_error(
                    "start",
                    _("Window %(window)s has no slot starting at this time.") % {"window": window},
                )
            else:
                self.instance.end = slot.end
        return data


@admin.register(Slot)
class SlotAdmin(HallScopedAdmin):
    list_display = ["window", "start", "end", "capacity"]
    list_filter = [("window", admin.RelatedOnlyFieldListFilter)]
    date_hierarchy = "start"
    list_select_related = ["window"]
    form = SlotForm

    def get_readonly_fields(self, request, obj=None):
        # A slot's place in the grid is fixed once it exists; only its capacity changes.
        return ["window", "start", "end"] if obj is not None else []

    def get_fields(self, request, obj=None):
        return ["window", "start", "end", "capacity"] if obj is not None else SlotForm.Meta.fields
