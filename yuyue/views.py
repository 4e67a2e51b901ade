import datetime as dt
import ipaddress
import json
import logging
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import admin
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import (
    Http404,
    HttpResponse,
    HttpResponseForbidden,
    HttpResponseNotAllowed,
    JsonResponse,
)
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.templatetags.static import static
from django.utils import timezone, translation
from django.utils.crypto import constant_time_compare
from django.utils.module_loading import import_string
from django.utils.translation import get_language_from_path
from django.utils.translation import gettext as _
from django.views import defaults
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.i18n import set_language

from sms.backends import BACKENDS
from sms.receipts import PROVIDERS, message_receipt_record

from .errors import is_console
from .ratelimit import client_address
from .worker import worker_is_alive

logger = logging.getLogger(__name__)

READINESS_CACHE_KEY = "readiness-probe"


@never_cache
def healthz(request):
    """For load balancers (and the load benchmark's ceiling): the app answers, nothing more."""
    return HttpResponse("ok", content_type="text/plain")


def _database_reachable() -> bool:
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT 1")
        return cursor.fetchone()[0] == 1


# Once every migration is applied it stays so for this process's code: not asked again.
_migrations_known_applied = False


def _migrations_applied() -> bool:
    global _migrations_known_applied
    if not _migrations_known_applied:
        executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        _migrations_known_applied = not plan
    return _migrations_known_applied


def _cache_reachable() -> bool:
    stamp = str(timezone.now().timestamp())
    cache.set(READINESS_CACHE_KEY, stamp, timeout=60)
    return cache.get(READINESS_CACHE_KEY) == stamp


def _worker_heartbeat_fresh() -> bool:
    return worker_is_alive(now=timezone.now())


READINESS_CHECKS = {
    "database": _database_reachable,
    "migrations": _migrations_applied,
    "cache": _cache_reachable,
    "worker": _worker_heartbeat_fresh,
}


@never_cache
def readyz(request):
    """For the proxy or an orchestrator: is this instance fit to serve? The database answers,
    every migration is applied, the cache answers and the worker's heartbeat is fresh
    (WORKER_HEARTBEAT_MAX_SECONDS). 200 when all are, else 503 naming what failed. Only the
    parts' names and ok/failed: nothing about bookings or people."""
    started = dt.datetime.now(dt.UTC)
    checks = {}
    for name, check in READINESS_CHECKS.items():
        try:
            checks[name] = "ok" if check() else "failed"
        except Exception as error:  # an unreachable part raises: named instead of a 500
            logger.warning("readiness: %s failed: %s", name, type(error).__name__)
            checks[name] = "failed"
    failing = [name for name, state in checks.items() if state != "ok"]
    elapsed_ms = round((dt.datetime.now(dt.UTC) - started).total_seconds() * 1000, 1)
    body = {"ready": not failing, "failing": failing, "checks": checks, "ms": elapsed_ms}
    return JsonResponse(body, status=503 if failing else 200)


def _receipt_source_allowed(request) -> bool:
    networks = settings.SMS_RECEIPT_ALLOWED_NETWORKS
    if not networks:
        return True
    try:
        address = ipaddress.ip_address(client_address(request))
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(network, strict=False) for network in networks)


@csrf_exempt
@never_cache
def sms_receipt(request, provider: str, token: str):
    """A provider's delivery receipts (Aliyun's SmsReport push, Tencent's status callback):
    parsed by the provider's backend, recorded by ``sms.receipts``, answered as the provider
    documents so it stops pushing. Neither provider signs these pushes, so the URL carries the
    secret SMS_RECEIPT_TOKEN and SMS_RECEIPT_ALLOWED_NETWORKS may name the provider's addresses.
    A receipt for an unknown message is logged; nothing here answers 500 (a provider would push
    the same batch again and again)."""
    if provider not in PROVIDERS or not settings.SMS_RECEIPT_TOKEN:
        raise Http404
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if not constant_time_compare(token, settings.SMS_RECEIPT_TOKEN):
        logger.warning("SMS receipt with a wrong secret for %s", provider)
        return HttpResponseForbidden()
    if not _receipt_source_allowed(request):
        logger.warning("SMS receipt for %s from an address not allowed", provider)
        return HttpResponseForbidden()
    backend = import_string(BACKENDS[provider])
    try:
        receipts = backend.callback_receipts(json.loads(request.body))
    except ValueError as error:
        logger.warning("SMS receipt for %s not understood: %s", provider, error)
        status, body = backend.callback_answer(ok=False)
        return JsonResponse(body, status=status, json_dumps_params={"ensure_ascii": False})
    now = timezone.now()
    for receipt in receipts:
        try:
            message_receipt_record(backend=provider, receipt=receipt, now=now)
        except Exception:  # noqa: BLE001 - one bad receipt must not make the provider push all again
            logger.exception("SMS receipt for %s not recorded: %s", provider, receipt)
    status, body = backend.callback_answer(ok=True)
    return JsonResponse(body, status=status, json_dumps_params={"ensure_ascii": False})


def language_switch(request):
    """Django's set_language, with the page the visitor came from read in that page's language.

    set_language maps `next` to the chosen language with translate_url, which resolves the path
    in the language active for the request. /i18n/setlang/ has no language prefix, so that is
    always zh-hans (the unprefixed default) and an /en/… page cannot be resolved: the visitor
    stayed on /en/… after choosing 中文. Resolving in the page's own language fixes both ways.
    """
    page = request.POST.get("next", request.GET.get("next", ""))
    page_language = get_language_from_path(urlsplit(page).path) or settings.LANGUAGE_CODE
    with translation.override(page_language):
        return set_language(request)


def favicon(request):
    """/favicon.ico, which browsers ask for on every page: the collected static file."""
    return redirect(static("yuyue/favicon.ico"), permanent=False)


def page_not_found(request, exception):
    """404 in the look of the part of the site asked for: the console's for staff pages, the
    citizen site's (templates/404.html) everywhere else; both in the request's language."""
    if is_console(request):
        context = {**admin.site.each_context(request), "title": _("Page not found")}
        return TemplateResponse(request, "admin/404.html", context, status=404).render()
    return defaults.page_not_found(request, exception)
