from django.http import HttpResponse
from django.views.decorators.cache import never_cache


@never_cache
def healthz(request):
    """For load balancers (and the load benchmark's ceiling): the app answers, nothing more."""
    return HttpResponse("ok", content_type="text/plain")
