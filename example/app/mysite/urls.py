from django.urls import path

from catalog.views import index
from django_fleet.health import health

urlpatterns = [
    path("", index),
    path("health/", health),
]
