from django.utils import timezone

from sms.models import Alert

from .worker import worker_is_alive


def staff_status(request):
    """On staff pages: is the background worker alive, and how many alerts wait for me."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_staff:
        return {}
    return {
        "worker_down": not worker_is_alive(now=timezone.now()),
        "unread_alerts": Alert.objects.filter(recipient=user, read_at__isnull=True).count(),
    }
