from django.urls import path

from . import public_views as views

app_name = "complaints_public"
urlpatterns = [
    path("", views.complaint_new, name="new"),
    path("verify/", views.complaint_verify, name="verify"),
    path("track/", views.complaint_lookup, name="lookup"),
    path("track/verify/", views.complaint_lookup_verify, name="lookup_verify"),
    path("<str:tracking_number>/", views.complaint_detail, name="detail"),
]
