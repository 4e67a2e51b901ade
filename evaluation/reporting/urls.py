"""The supervisors' dashboard (staff, beside the console) and the public 好评率 page."""

from django.contrib import admin
from django.urls import path

from .dashboard_views import dashboard_gaps_view, dashboard_view
from .public_ratings import public_ratings_view

# Mounted at /admin/dashboard/: the console's login protects it.
staff_urlpatterns = [
    path("", admin.site.admin_view(dashboard_view), name="evaluation_dashboard"),
    path("gaps/", admin.site.admin_view(dashboard_gaps_view), name="evaluation_dashboard_gaps"),
]
# Mounted at /ratings/ on the citizen site (i18n: /en/ratings/ in English).
public_urlpatterns = [
    path("", public_ratings_view, name="public_ratings"),
]
