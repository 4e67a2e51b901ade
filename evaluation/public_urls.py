from django.urls import path

from . import public_views as views

app_name = "rate"
urlpatterns = [
    path("thanks/", views.thanks, name="thanks"),
    path("booking/<str:reference>/", views.rate_booking, name="booking"),
    # A token always holds a colon, so it never meets the two paths above.
    path("<str:token>/", views.rate, name="rate"),
]
