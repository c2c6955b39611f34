from django.apps import AppConfig


class DjAppConfig(AppConfig):
    name = "_djapp"
    label = "app"
    default_auto_field = "django.db.models.AutoField"
