"""What a person is told when a part fails: the 500 and 503 pages and the API's JSON errors.

Three failures are not bugs but moments of a part, and are answered 503 with a way forward:
- the database unavailable (a restart or failover dropped the connection mid-request, or it does
  not answer): the transaction was rolled back whole, try again in a minute (``Retry-After``);
- a statement that ran past STATEMENT_TIMEOUT_SECONDS (PostgreSQL cancelled it; the web worker
  is free again): try again, or ask for less;
- a file that could not be written (a full disk, a folder not writable): nothing was kept.
Anything else is a 500: the error is logged with its traceback, the person is told to try again
and whom to call. Citizens and staff get a page in their language (Chinese, English under
/en/), in the look of the citizen site or of the console; API clients get ``{"detail": …}`` like
every other API error. The pages are rendered without the database or the session (either may
be what failed): no context processors, nothing read but settings.
"""

import logging
import sys

from django.conf import settings
from django.core.exceptions import BadRequest, PermissionDenied, SuspiciousOperation
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.template import loader
from django.utils import translation
from django.utils.translation import gettext as _

from duty.models import Hall
from yuyue.storage import DISK_ERRNOS, file_write_failure

logger = logging.getLogger(__name__)

# PostgreSQL's SQLSTATE for a statement cancelled by statement_timeout.
QUERY_CANCELED = "57014"
# Seconds a client is asked to wait before trying again after a 503.
RETRY_AFTER_SECONDS = 30


def failure_kind(error: BaseException | None) -> str:
    """ "slow" (a statement ran past its timeout), "database" (the database unavailable, the
    connection lost), "disk" (a file could not be written) or "" (a bug: 500)."""
    if isinstance(error, OperationalError | InterfaceError):
        if getattr(error.__cause__, "sqlstate", None) == QUERY_CANCELED:
            return "slow"
        return "database"
    if isinstance(error, OSError) and error.errno in DISK_ERRNOS:
        return "disk"
    return ""


def failure_text(kind: str) -> tuple[str, str]:
    """The title and the explanation a person reads for ``kind``."""
    if kind == "database":
        return (
            _("The service is briefly unavailable"),
            _(
                "The system lost its connection to its database for a moment, so what you "
                "just did was not carried out and nothing of it was saved. Please try again "
                "in a minute."
            ),
        )
    if kind == "slow":
        return (
            _("This took too long"),
            _(
                "The system stopped this request because it took too long, and nothing of it "
                "was saved. Please try again in a minute; if you asked for a long period, ask "
                "for a shorter one."
            ),
        )
    if kind == "disk":
        return _("The file could not be saved"), ""
    return (
        _("Something went wrong on our side"),
        _(
            "The error has been recorded and will be looked into. Please try again in a "
            "minute; what you did before this page was kept."
        ),
    )


def _is_api(request) -> bool:
    return request.path_info.startswith("/api/")


def is_console(request) -> bool:
    """Whether ``request`` is for the staff console (its pages answer in the console's look)."""
    path = request.path_info
    return path.startswith("/admin/") or path.startswith("/en/admin/")


def help_phone(kind: str) -> str:
    """The number a person can call: HELP_PHONE, else the city hall's public phone (read only
    when the database is not what failed)."""
    if settings.HELP_PHONE or kind in ("database", "slow"):
        return settings.HELP_PHONE
    try:
        halls = Hall.objects.exclude(phone="").order_by("-is_city_hall", "pk")
        return halls.values_list("phone", flat=True).first() or ""
    except DatabaseError:
        return ""


def failure_response(request, error: BaseException | None):
    """The answer to ``error`` raised while serving ``request``: JSON for the API, a page for
    people; 503 with Retry-After for a part that failed, 500 for a bug."""
    kind = failure_kind(error)
    status = 503 if kind else 500
    language = translation.get_language_from_path(request.path_info) or settings.LANGUAGE_CODE
    with translation.override(language):
        title, text = failure_text(kind)
        if kind == "disk":
            text = file_write_failure(error)
        if _is_api(request):
            response = JsonResponse({"detail": text}, status=status)
        else:
            template = loader.get_template(f"{status}.html")
            context = {
                "title": title,
                "text": text,
                "phone": help_phone(kind),
                "kind": kind,
                "console": is_console(request),
                # The page again (a form sent with POST shows again, filled in by hand).
                "again": request.get_full_path() if request.method == "GET" else request.path,
                "home": "/en/" if language == "en" else "/",
                "LANGUAGE_CODE": language,
            }
            response = HttpResponse(template.render(context), status=status)
    if status == 503:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def server_error(request):
    """handler500: every uncaught exception ends here (Django logs it with its traceback first);
    the one being handled says which answer it gets."""
    return failure_response(request, sys.exc_info()[1])


def api_failure(request, error: Exception):
    """The API's handler of any exception its own handlers do not answer (yuyue/api.py).
    Those Django answers itself with a 4xx (a refused permission, a bad request) go on to it."""
    if isinstance(error, PermissionDenied | BadRequest | SuspiciousOperation):
        raise error
    if not failure_kind(error):
        logger.error("API error on %s", request.path, exc_info=error)
    else:
        logger.warning("API %s on %s: %s", failure_kind(error), request.path, error)
    return failure_response(request, error)
