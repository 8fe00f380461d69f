"""Health view for the load balancer, answered by instance IP.

The target group checks ``http://<instance-ip>:<port>/health/``: the Host header is an IP
address, which ALLOWED_HOSTS rightly rejects, and SECURE_SSL_REDIRECT would answer 301.
``HealthCheckMiddleware``, placed first in MIDDLEWARE, answers the health path itself when
the Host is an IP literal, before any host validation or redirect, and lets every other
request through untouched: ALLOWED_HOSTS stays as strict as it was.

Settings:
- ``FLEET_HEALTH_PATH`` (default ``"/health/"``).
- ``FLEET_RELEASE``: the release name reported in the body (default ``None``).
"""

import ipaddress

from django.conf import settings
from django.db import connections
from django.http import JsonResponse


def health_path():
    return getattr(settings, "FLEET_HEALTH_PATH", "/health/")


def databases_answer():
    """True when ``SELECT 1`` succeeds on every configured database. Why one failed (the
    exception, its class, the host it tried) is never put in the response: the body says only
    ok or not ok; the log has nothing either, so a probe cannot learn the database's set-up."""
    for alias in connections:
        try:
            with connections[alias].cursor() as cursor:
                cursor.execute("SELECT 1")
                cursor.fetchone()
        except Exception:
            try:
                connections[alias].close()
            except Exception:
                pass
            return False
    return True


def health(request):
    """200 {"status": "ok", "release": ...} when every database answers, 503
    {"status": "error", "release": ...} otherwise; nothing else. Never cached. The release name
    lets the release's local health check confirm which version answers."""
    healthy = databases_answer()
    response = JsonResponse(
        {"status": "ok" if healthy else "error", "release": getattr(settings, "FLEET_RELEASE", None)},
        status=200 if healthy else 503,
    )
    response["Cache-Control"] = "no-store"
    return response


def is_ip_literal(host):
    """True for "10.0.1.5", "10.0.1.5:8000", "[::1]", "[::1]:8000"."""
    if not host:
        return False
    if host.startswith("["):
        end = host.find("]")
        if end < 0:
            return False
        host = host[1:end]
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False


class HealthCheckMiddleware:
    """Answers the health path for IP-addressed requests before host validation.

    Place it first in MIDDLEWARE (before SecurityMiddleware and CommonMiddleware). Requests
    addressed by name go through the normal stack (and ALLOWED_HOSTS) as before.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.path = health_path()

    def __call__(self, request):
        if request.path_info == self.path and request.method in ("GET", "HEAD"):
            host = request.META.get("HTTP_HOST") or request.META.get("SERVER_NAME", "")
            if is_ip_literal(host):
                return health(request)
        return self.get_response(request)
