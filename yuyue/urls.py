from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.urls import include, path

from evaluation.reporting.urls import public_urlpatterns, staff_urlpatterns
from yuyue.api import api
from yuyue.retention_views import retention_view
from yuyue.views import favicon, healthz, language_switch, readyz, sms_receipt

# A 404 in the console's look on staff pages, in the citizen site's elsewhere.
handler404 = "yuyue.views.page_not_found"

urlpatterns = [
    path("i18n/setlang/", language_switch, name="set_language"),
    path("favicon.ico", favicon, name="favicon"),
    path("api/v1/", api.urls),
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    # The SMS providers' delivery receipts (README: the callback URLs for the proxy).
    path("sms/receipts/<str:provider>/<str:token>/", sms_receipt, name="sms_receipt"),
]
# zh-hans without a prefix, English under /en/.
urlpatterns += i18n_patterns(
    path("admin/dashboard/", include(staff_urlpatterns)),
    path("admin/two-step/", include("duty.signin_views")),
    path("admin/retention/", admin.site.admin_view(retention_view), name="retention"),
    path("admin/", admin.site.urls),
    path("complaints/", include("complaints.public_urls")),
    path("rate/", include("evaluation.public_urls")),
    path("ratings/", include(public_urlpatterns)),
    path("", include("appointments.public_urls")),
    prefix_default_language=False,
)

# 500 and 503 pages in the person's language and the look of the site or the console; JSON for
# the API (yuyue/errors.py).
handler500 = "yuyue.errors.server_error"
