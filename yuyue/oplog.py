"""Operations logging: one line per request and per background task, with its outcome and
duration, as text or as JSON lines (LOG_FORMAT=json) for a log collector.

The lines name what ran (the URL pattern, never the path; the task's function) and how it went,
nothing more: no query strings, phone numbers, names, booking references or codes, which a
path or a task's arguments can carry.
"""

import datetime as dt
import json
import logging
import time

request_logger = logging.getLogger("yuyue.requests")
task_logger = logging.getLogger("yuyue.tasks")

# Attributes every LogRecord has; anything else on a record was passed in ``extra``.
_RECORD_ATTRIBUTES = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonLinesFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, the fields given
    in ``extra`` and, for an exception, its traceback as one string."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": dt.datetime.fromtimestamp(record.created, tz=dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRIBUTES and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class RequestLogMiddleware:
    """First in MIDDLEWARE, so the duration covers every other middleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.monotonic()
        response = self.get_response(request)
        duration_ms = round((time.monotonic() - started) * 1000, 1)
        match = getattr(request, "resolver_match", None)
        # The pattern ("api/v1/appointments/<reference>/"), not the path that filled it in.
        route = f"/{match.route}" if match is not None and match.route else "-"
        request_logger.info(
            "%s %s %s %sms",
            request.method,
            route,
            response.status_code,
            duration_ms,
            extra={
                "method": request.method,
                "route": route,
                "status": response.status_code,
                "duration_ms": duration_ms,
            },
        )
        return response


def task_finished_log(sender, func, task, **kwargs) -> None:
    """django-q2's post_execute_in_worker: one line per task run, in the worker that ran it."""
    started, stopped = task.get("started"), task.get("stopped")
    duration_ms = (
        round((stopped - started).total_seconds() * 1000, 1) if started and stopped else None
    )
    name = task.get("func") if isinstance(task.get("func"), str) else getattr(func, "__name__", "?")
    outcome = "ok" if task.get("success") else "failed"
    task_logger.log(
        logging.INFO if outcome == "ok" else logging.ERROR,
        "task %s %s %sms",
        name,
        outcome,
        duration_ms,
        extra={
            "task": name,
            # django-q2 puts a scheduled task in a group named after its schedule
            # ("sweep no_shows"): which sweep ran, where the function is shared.
            "group": str(task.get("group") or ""),
            "outcome": outcome,
            "duration_ms": duration_ms,
        },
    )
