"""The JSON API's root (/api/v1/): one django-ninja API with the answers to errors that every
part shares, and the parts mounted on it — bookings (appointments/api.py) at the root, complaints
(complaints/api.py) under /complaints/. Assembled here, at the top of the layers, so that no app
mounts another app's routes."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from ninja import NinjaAPI

from appointments.api import RateLimited, field_errors
from appointments.api import router as bookings_router
from appointments.citizen import BookingNotFound
from appointments.services import SlotFullError
from complaints.api import router as complaints_router
from yuyue.errors import api_failure
from yuyue.locks import BusyError, busy_retry_after

api = NinjaAPI(
    title="预约+无休 API",
    version="1",
    description=(
        "Citizen booking for the government service hall's off-hours and holiday service "
        "(DB1403/T). Times are ISO 8601. Answers give them in Beijing time with the offset "
        "(2026-12-10T09:00:00+08:00), as the hall's pages and register show them; requests may "
        "use any offset (…Z, +08:00), and a time without one is read as Asia/Shanghai."
    ),
    urls_namespace="api-v1",
)
api.add_router("/complaints/", complaints_router)  # GB/T 36113, DB1403/T 7.3
api.add_router("", bookings_router)


@api.exception_handler(ValidationError)
def _validation_error(request, error: ValidationError):
    if isinstance(error, BusyError):
        # A lock on the booking path stayed taken (yuyue/locks.py): nothing was saved, and the
        # same request may be sent again.
        response = api.create_response(request, {"detail": field_errors(error, "body")}, status=503)
        response["Retry-After"] = str(busy_retry_after())
        return response
    if isinstance(error, SlotFullError):
        return api.create_response(request, {"detail": field_errors(error, "body")}, status=409)
    return api.create_response(request, {"detail": field_errors(error, "body")}, status=422)


@api.exception_handler(BookingNotFound)
def _not_found(request, error):
    return api.create_response(request, {"detail": _("No booking matches.")}, status=404)


@api.exception_handler(RateLimited)
def _rate_limited(request, error):
    return api.create_response(
        request, {"detail": _("Too many requests; try again in a few minutes.")}, status=429
    )


# Anything else: the database unavailable, a statement over its timeout, a file not written (503
# with Retry-After), or a bug (500, logged): the same {"detail": …} shape (yuyue/errors.py).
api.add_exception_handler(Exception, api_failure)
