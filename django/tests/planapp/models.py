from django.db import models


class Author(models.Model):
    full_name = models.CharField(max_length=100)
    nickname = models.CharField(max_length=50, null=True)
    email = models.CharField(max_length=100, unique=True)
