from django.http import HttpResponse
from django.urls import path

from django_fleet.health import health

urlpatterns = [
    path("health/", health),
    path("", lambda request: HttpResponse("home")),
]
