from django.urls import path

from . import public_views as views

app_name = "public"
urlpatterns = [
    path("", views.home, name="home"),
    path("matters/<int:matter_id>/", views.matter_detail, name="matter"),
    path("book/<int:matter_id>/", views.book, name="book"),
    path("book/verify/", views.book_verify, name="book_verify"),
    path("bookings/<str:reference>/", views.booking_detail, name="booking"),
    path("bookings/<str:reference>/calendar.ics", views.booking_calendar, name="booking_calendar"),
    path("bookings/<str:reference>/cancel/", views.booking_cancel, name="booking_cancel"),
    path("my/", views.lookup, name="lookup"),
    path("my/verify/", views.lookup_verify, name="lookup_verify"),
]
