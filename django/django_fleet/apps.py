from django.apps import AppConfig


class DjangoFleetConfig(AppConfig):
    name = "django_fleet"
    verbose_name = "Django fleet releases"
