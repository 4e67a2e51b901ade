"""The console's hall scoping (every hall's data in one console, DB1403/T 7.2 supervision by
hall): the admin base classes every app's console pages use, limiting lists, detail pages,
searches, choice lists and raw-id boxes to the user's hall(s)."""

from django.contrib import admin
from django.contrib.admin.widgets import ForeignKeyRawIdWidget
from django.core.exceptions import ValidationError

from ..scoping import hall_lookup_for, scope_to_user


class ScopedRawIdWidget(ForeignKeyRawIdWidget):
    """A raw-id box that names the chosen record only if it is in ``queryset`` (the user's
    halls): the stock widget looks the id up among all halls and prints the record."""

    def __init__(self, rel, admin_site, queryset, **kwargs):
        super().__init__(rel, admin_site, **kwargs)
        self.queryset = queryset

    def label_and_url_for_value(self, value):
        key = self.rel.get_related_field().name
        try:
            visible = self.queryset.filter(**{key: value}).exists()
        except (ValueError, TypeError, ValidationError):
            visible = False
        return super().label_and_url_for_value(value) if visible else ("", "")


class HallScopedMixin:
    """Limit lists, detail pages, searches and choice lists to the user's hall(s)."""

    def get_queryset(self, request):
        return scope_to_user(super().get_queryset(request), request.user)

    def _scope_field(self, field, db_field, request):
        if field is not None and hall_lookup_for(db_field.related_model) is not None:
            field.queryset = scope_to_user(field.queryset, request.user)
            widget = field.widget
            if type(widget) is ForeignKeyRawIdWidget:
                field.widget = ScopedRawIdWidget(
                    widget.rel,
                    widget.admin_site,
                    field.queryset,
                    attrs=widget.attrs,
                    using=widget.db,
                )
        return field

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        return self._scope_field(field, db_field, request)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        return self._scope_field(field, db_field, request)


class HallScopedAdmin(HallScopedMixin, admin.ModelAdmin):
    pass


class ScopedTabularInline(HallScopedMixin, admin.TabularInline):
    extra = 0
