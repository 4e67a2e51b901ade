"""Settings for 预约+无休, driven by environment variables.

Defaults give a working single-machine setup: SQLite and django-q2's database broker.
At scale set DATABASE_URL (PostgreSQL) and REDIS_URL (cache and task broker).
"""

import datetime as dt
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def envbool(name: str, default: str) -> bool:
    return os.environ.get(name, default).strip().lower() in ("1", "true", "yes", "on")


def envint(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def envfloat(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


def envrate(name: str, default: str) -> tuple[int, int]:
    """A rate limit written "requests/seconds", e.g. "20/600"."""
    requests, seconds = os.environ.get(name, default).split("/")
    return int(requests), int(seconds)


DEBUG = envbool("DEBUG", "1")

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "dev-only-insecure-key-never-use-in-production"

ALLOWED_HOSTS = [h for h in os.environ.get("ALLOWED_HOSTS", "localhost,127.0.0.1").split(",") if h]
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "phonenumber_field",
    "django_q",
    # Staff sign-in: lockout after repeated wrong passwords (django-axes, its console pages in
    # Chinese through duty.apps) and two-step verification (django-otp: TOTP, backup codes).
    "duty.apps.AxesConfig",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "ninja",
    "duty",
    "appointments",
    "complaints",
    "evaluation",
    "sms",
    # The project package: connects the per-task operations log line (yuyue/oplog.py).
    "yuyue.apps.ProjectConfig",
]

MIDDLEWARE = [
    # First, so that its one line per request times everything below it (yuyue/oplog.py).
    "yuyue.oplog.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Password spraying: failed staff sign-ins per client address (RATE_LIMIT_STAFF_SIGNIN_...).
    "duty.signin_views.SignInFailuresMiddleware",
    # request.user.is_verified(): has this session entered a code of the user's device?
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Console pages only after the second step, for those who must or chose to take it.
    "duty.signin_views.TwoStepMiddleware",
    # Last, as django-axes requires: turns a lockout into the locked-out page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "yuyue.urls"
WSGI_APPLICATION = "yuyue.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "duty.context_processors.calendar_warnings",
                "yuyue.context_processors.staff_status",
            ],
        },
    },
]

# Database: SQLite file by default. IMMEDIATE transactions take the write lock at BEGIN, so
# "lock the slot, recount, insert" is serialised on SQLite exactly as SELECT ... FOR UPDATE
# serialises it on PostgreSQL; the busy timeout makes a second writer wait instead of failing
# (the booking path's transactions wait BOOKING_LOCK_TIMEOUT_SECONDS instead: yuyue/locks.py).
DATABASE_URL = os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=envint("CONN_MAX_AGE", 0))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {"transaction_mode": "IMMEDIATE", "timeout": 20}
    # A file, not :memory:, so tests that run threads share one database.
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / "test-db.sqlite3")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "yuyue_cache",
            # The default 300 would let cached answers push out the availability version and the
            # worker's heartbeat. (Rate limits count in their own table: yuyue/ratelimit.py.)
            "OPTIONS": {"MAX_ENTRIES": 100_000},
        }
    }

Q_CLUSTER = {
    # django-q2's "name" is the site's: the salt that signs task packages (web processes and
    # workers must agree on it) and the prefix of the cluster statistics; it stays fixed.
    "name": "yuyue",
    # "cluster_name" is the queue: the list key web processes put tasks on and workers take them
    # from, and the cluster a schedule names (Schedule.cluster). django-q2's scheduler runs a
    # schedule only on the cluster it names or, with no cluster named, only on a cluster called
    # like "name" — so setup_schedules writes this name into every schedule and must run with
    # the workers' environment. The same site may run separate queues (tests use their own).
    "cluster_name": os.environ.get("Q_CLUSTER_QUEUE") or "yuyue",
    "workers": envint("Q_WORKERS", 2),
    "timeout": 60,
    "retry": 120,
    "max_attempts": 5,
    "catch_up": False,
    "label": _("Background tasks"),
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

PHONENUMBER_DEFAULT_REGION = "CN"
PHONENUMBER_DB_FORMAT = "E164"
PHONENUMBER_DEFAULT_FORMAT = "NATIONAL"

STATIC_URL = "/static/"
# Where `collectstatic` puts the files (hashed names and compressed copies when DEBUG=0).
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "static-collected"))
# Files the system writes (register exports) and uploads (inspection photos). Never served as
# public URLs: downloads go through permission-checked staff views.
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))
MEDIA_URL = "/media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

LOGIN_URL = "admin:login"

# --- Staff sign-in: lockout and two-step verification ------------------------------------------
# django-axes checks every password sign-in first (it refuses locked-out ones before any
# password is compared), then Django's own backend checks the password.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Failures are counted in the database (SQLite or PostgreSQL alike, nothing else to run).
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
# Wrong passwords in a row for one login from one client address before that pair is locked.
AXES_FAILURE_LIMIT = envint("AXES_FAILURE_LIMIT", 5)
# A login is locked together with the client address it was guessed from: a guesser elsewhere
# cannot lock a colleague out of their own desk.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# The lock lifts this many minutes after the last failed try (or when an administrator
# unlocks it in the console, under 登录保护 → 登录失败计数).
AXES_COOLOFF_TIME = dt.timedelta(minutes=envint("AXES_COOLOFF_MINUTES", 30))
# A right password clears the count: typos spread over a day do not add up to a lockout.
AXES_RESET_ON_SUCCESS = True
# The client address as the rate limits see it (X-Forwarded-For only with TRUST_X_FORWARDED_FOR).
AXES_CLIENT_IP_CALLABLE = "yuyue.ratelimit.client_ip"
# The login page again, with the lockout explained in Chinese, answered 429.
AXES_LOCKOUT_CALLABLE = "duty.signin_views.lockout_response"
# Every failed sign-in kept for the record (whether it was locked out), also after an unlock.
AXES_ENABLE_ACCESS_FAILURE_LOG = True
# Password spraying (a few guesses at each of many logins, under the per-login limit above):
# failed staff sign-ins per client address, whatever the login (count/seconds). High enough for
# a hall whose desks share one address behind NAT.
RATE_LIMIT_STAFF_SIGNIN_FAILURES = envrate("RATE_LIMIT_STAFF_SIGNIN_FAILURES", "20/600")
# Two-step verification is required of superusers, administrators and supervisors (they see
# applicants' and complainants' identities in full) when this is on; others may choose it.
# On by default in production (DEBUG=0), off in the demo.
STAFF_2FA_REQUIRED = envbool("STAFF_2FA_REQUIRED", "0" if DEBUG else "1")
# The name authenticator apps show beside the code.
OTP_TOTP_ISSUER = "预约+无休"
# Device secrets are never shown in the console (devices are set up and reset, never edited).
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

# Production hardening: with DEBUG off, `manage.py check --deploy` must report nothing.
if not DEBUG:
    SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", "1")
    SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    if envbool("BEHIND_TLS_PROXY", "0"):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# One line per request and per task (yuyue/oplog.py), as text or, with LOG_FORMAT=json, as JSON
# lines for a log collector; everything goes to standard error (journald under systemd).
LOG_FORMAT = os.environ.get("LOG_FORMAT", "text")
if LOG_FORMAT not in ("text", "json"):
    raise ImproperlyConfigured('LOG_FORMAT must be "text" or "json".')
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "yuyue.oplog.JsonLinesFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        # django-axes says at INFO what it does on every sign-in; its warnings (failures) and
        # ours (duty.signin: lockouts with login and address, unlocks, resets) are what matters.
        "axes": {"level": "WARNING"},
        # Its "Not Found: <path>" lines would put booking references in the log; every request
        # has its line from yuyue.requests already. Server errors (with traceback) stay.
        "django.request": {"level": "ERROR"},
    },
}

# --- Rules of DB1403/T that the standard fixes or leaves to local practice ---------------------
# 5.1.1: bookings at least this many hours ahead (staff may go below with a recorded reason).
BOOKING_MIN_LEAD_HOURS = 24
# 6.2.2: a change must reach the applicant at least this many hours before the original start.
CHANGE_NOTICE_MIN_HOURS = 8
# 6.2.3: minutes after the start without arrival before the no-show follow-up is due.
NO_SHOW_FOLLOW_UP_MINUTES = 30
# 6.2.1: a duty check-in later than the start plus this many minutes is late.
DUTY_LATE_GRACE_MINUTES = envint("DUTY_LATE_GRACE_MINUTES", 0)
# 6.2.1, 7.2: no check-in this many minutes after the start of a duty is an absence.
DUTY_ABSENT_AFTER_MINUTES = envint("DUTY_ABSENT_AFTER_MINUTES", 15)
# Check-in for a duty opens this many minutes before its start.
DUTY_CHECK_IN_EARLY_MINUTES = envint("DUTY_CHECK_IN_EARLY_MINUTES", 30)
# Local practice: a citizen may cancel online up to this many hours before the start.
CITIZEN_CANCEL_MIN_HOURS = envint("CITIZEN_CANCEL_MIN_HOURS", 2)
# How far ahead citizens may book (days).
BOOKING_HORIZON_DAYS = envint("BOOKING_HORIZON_DAYS", 60)
# The longest a booking, a move or a staff step waits for the lock of its slot or booking (held
# by a rival or a stuck transaction) before the person is told to try again (yuyue/locks.py):
# PostgreSQL's lock_timeout, and SQLite's busy timeout for these transactions.
BOOKING_LOCK_TIMEOUT_SECONDS = envfloat("BOOKING_LOCK_TIMEOUT_SECONDS", 3)

# --- Citizen booking: SMS, verification codes and abuse limits ------------------------------
# console (log), file (one file per message in SMS_FILE_PATH), db (outbox table), http (gateway).
SMS_BACKEND = os.environ.get("SMS_BACKEND", "console" if DEBUG else "db")
SMS_FILE_PATH = os.environ.get("SMS_FILE_PATH", str(BASE_DIR / "sms-outbox"))
SMS_HTTP_URL = os.environ.get("SMS_HTTP_URL", "")
SMS_HTTP_KEY = os.environ.get("SMS_HTTP_KEY", "")
SMS_HTTP_TIMEOUT = envint("SMS_HTTP_TIMEOUT", 5)
VERIFICATION_CODE_MINUTES = envint("VERIFICATION_CODE_MINUTES", 5)
VERIFICATION_CODE_MAX_TRIES = envint("VERIFICATION_CODE_MAX_TRIES", 5)
VERIFICATION_CODE_RESEND_SECONDS = envint("VERIFICATION_CODE_RESEND_SECONDS", 60)
VERIFICATION_CODES_PER_NUMBER_PER_HOUR = envint("VERIFICATION_CODES_PER_NUMBER_PER_HOUR", 5)
VERIFICATION_CODES_PER_ADDRESS_PER_HOUR = envint("VERIFICATION_CODES_PER_ADDRESS_PER_HOUR", 20)
# A citizen who proved their number may act on their bookings for this long without a new code.
CITIZEN_SESSION_MINUTES = envint("CITIZEN_SESSION_MINUTES", 30)
# Open (not yet served or cancelled) online bookings one mobile number may hold.
ONLINE_OPEN_BOOKINGS_PER_PHONE = envint("ONLINE_OPEN_BOOKINGS_PER_PHONE", 3)
# Requests per client address (count/seconds), counted atomically in Redis when REDIS_URL is set,
# else in the database (sms.RateLimitCounter; yuyue/ratelimit.py).
RATE_LIMIT_VERIFICATION = envrate("RATE_LIMIT_VERIFICATION", "10/600")
RATE_LIMIT_BOOKING = envrate("RATE_LIMIT_BOOKING", "20/600")
RATE_LIMIT_LOOKUP = envrate("RATE_LIMIT_LOOKUP", "60/600")
# Behind a reverse proxy, the client address is the last hop it appends to X-Forwarded-For.
TRUST_X_FORWARDED_FOR = envbool("TRUST_X_FORWARDED_FOR", "0")

# --- Background work (django-q2) ------------------------------------------------------------
# SMS delivery: tries per message, first retry delay (doubling), when "sending" counts as stuck.
SMS_MAX_ATTEMPTS = envint("SMS_MAX_ATTEMPTS", 5)
SMS_RETRY_BASE_SECONDS = envint("SMS_RETRY_BASE_SECONDS", 60)
SMS_STUCK_MINUTES = envint("SMS_STUCK_MINUTES", 10)
# A delivery run stops starting new sends after this many seconds (the task timeout is 60 s).
SMS_BATCH_SECONDS = envint("SMS_BATCH_SECONDS", 30)
# Reminder to the applicant: at this local time, this many days before the booking.
REMINDER_TIME = os.environ.get("REMINDER_TIME", "18:00")
REMINDER_DAYS_BEFORE = envint("REMINDER_DAYS_BEFORE", 1)
# DB1403/T 5.1.3 c, 6.1.1 a: an online booking unconfirmed after this many working hours alerts
# the window head; still unconfirmed 24 h before its start, the agency approver.
UNCONFIRMED_ALERT_WORKING_HOURS = envint("UNCONFIRMED_ALERT_WORKING_HOURS", 2)
UNCONFIRMED_AGENCY_ALERT_HOURS = envint("UNCONFIRMED_AGENCY_ALERT_HOURS", 24)
# DB1403/T 6.1.3: a booking not handed over to a window this many minutes after it was accepted
# alerts the desk.
HAND_OVER_ALERT_MINUTES = envint("HAND_OVER_ALERT_MINUTES", 30)
# DB1403/T 6.1.3: the one-time notice is given at the latest this many hours before the start
# (6.2.2's 8 h of warning); past it, the contact and the window head are alerted.
ONE_TIME_NOTICE_DEADLINE_HOURS = envint("ONE_TIME_NOTICE_DEADLINE_HOURS", 8)
# DB1403/T 7.2: an inspection finding is dealt with (handler, outcome) within this many working
# days of the inspection; later, the handler and the hall's supervisors are alerted.
INSPECTION_FINDING_WORKING_DAYS = envint("INSPECTION_FINDING_WORKING_DAYS", 5)
# Personal data over time (个人信息保护法 art. 19; yuyue/retention.py): days after which the
# daily sweep anonymises each kind of record (the README says why each default).
RETENTION_BOOKING_DAYS = envint("RETENTION_BOOKING_DAYS", 3 * 365)
RETENTION_COMPLAINT_DAYS = envint("RETENTION_COMPLAINT_DAYS", 3 * 365)
RETENTION_RATING_DAYS = envint("RETENTION_RATING_DAYS", 3 * 365)
RETENTION_SMS_DAYS = envint("RETENTION_SMS_DAYS", 180)
RETENTION_VERIFICATION_CODE_DAYS = envint("RETENTION_VERIFICATION_CODE_DAYS", 30)
RETENTION_SIGNIN_LOG_DAYS = envint("RETENTION_SIGNIN_LOG_DAYS", 180)
# DB1403/T 5.2, 6.2.4: the roster sweep checks this many days ahead (hourly; alerts once a day).
ROSTER_CHECK_DAYS = envint("ROSTER_CHECK_DAYS", 14)
# GB/T 36113, DB1403/T 7.3 (local rules): accept a complaint within this many working days, reply
# within this many for an ordinary one and this many for a complex or multi-department one.
COMPLAINT_ACCEPT_WORKING_DAYS = envint("COMPLAINT_ACCEPT_WORKING_DAYS", 1)
COMPLAINT_REPLY_WORKING_DAYS = envint("COMPLAINT_REPLY_WORKING_DAYS", 2)
COMPLAINT_REPLY_COMPLEX_WORKING_DAYS = envint("COMPLAINT_REPLY_COMPLEX_WORKING_DAYS", 5)
# GB/T 36113 调查核实: an investigation attachment (JPEG, PNG or PDF) may be at most this large.
COMPLAINT_ATTACHMENT_MAX_BYTES = envint("COMPLAINT_ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024)
# DB1403/T 7.3: complaints filed and progress look-ups per client address (count/seconds).
RATE_LIMIT_COMPLAINT = envrate("RATE_LIMIT_COMPLAINT", "10/600")
# Staff pages warn when the worker has not written its heartbeat for this long.
WORKER_HEARTBEAT_MAX_SECONDS = envint("WORKER_HEARTBEAT_MAX_SECONDS", 120)
# 附录A: a register export from the web with more rows than this runs as a background job.
REGISTER_EXPORT_SYNC_MAX_ROWS = envint("REGISTER_EXPORT_SYNC_MAX_ROWS", 2000)
# 附录A: the list's export action takes at most this many bookings (the job keeps their ids).
REGISTER_ACTION_MAX_ROWS = envint("REGISTER_ACTION_MAX_ROWS", 20000)

# --- 好差评 ratings (DB1403/T 8.2; 国办发〔2019〕51号) ------------------------------------
# The absolute address of the citizen site, for links sent by SMS and shown as QR codes.
SITE_URL = os.environ.get("SITE_URL", "http://localhost:8000").rstrip("/")
# A served booking may be rated (SMS link, QR code, "My booking") for this many days.
RATING_LINK_DAYS = envint("RATING_LINK_DAYS", 7)
# A bad review: contact and verify within this many working days, rectify within this many
# (local rules; counted with the holiday calendar from the day the rating came in).
BAD_REVIEW_CONTACT_WORKING_DAYS = envint("BAD_REVIEW_CONTACT_WORKING_DAYS", 1)
BAD_REVIEW_RECTIFY_WORKING_DAYS = envint("BAD_REVIEW_RECTIFY_WORKING_DAYS", 5)

# --- Self-evaluation, improvement and assessment (DB1403/T 7.4, 8.1, 8.3) --------------------
# 5.1.2, 6.2.1 (按时办理): a booking is served on time when its service is recorded as finished
# (served_at) within this many minutes of the booked start, or of the applicant's arrival when
# they came after the start (their lateness is not the window's).
SERVED_ON_TIME_MINUTES = envint("SERVED_ON_TIME_MINUTES", 60)
# 6.2.3: a no-show follow-up is on time when its outcome is recorded within this many minutes of
# its due time (the start plus NO_SHOW_FOLLOW_UP_MINUTES).
NO_SHOW_FOLLOW_UP_RECORD_MINUTES = envint("NO_SHOW_FOLLOW_UP_RECORD_MINUTES", 30)
# 8.1: the self-evaluation checklist's target for the good-review rate (好评率), a share.
SELF_EVALUATION_GOOD_REVIEW_TARGET = 0.9
# 7.4: the assessment score of a window or staff member for a month
# (evaluation/reporting/assessment.py):
#   score = base
#           - sum(rates[r] * (1 - rate r))          for each rate with data
#           - sum(deductions[c] * count c)          for each counted breach
#   never below floor. A rate without data (no check-ins, no bookings served, ...) costs nothing
#   ("no data" is not a failure); counts always apply. Rates: punctuality, served_on_time,
#   follow_ups_on_time, good_review_rate. Counts: change_breaches (8 h rule, emergencies
#   excluded), substantiated_complaints, findings (inspection findings).
ASSESSMENT_FORMULA = {
    "base": 100,
    "rates": {
        "punctuality": 10,
        "served_on_time": 10,
        "follow_ups_on_time": 10,
        "good_review_rate": 20,
    },
    "deductions": {
        "change_breaches": 5,
        "substantiated_complaints": 10,
        "findings": 5,
    },
    "floor": 0,
}
