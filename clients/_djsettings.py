"""Django settings for the client tests (clients/test_django*.py): a
standalone Django on the Sandbox's database, as its application role."""

import django


def configure(sb, app_config):
    """settings.configure() with one installed app, then django.setup()."""
    from django.conf import settings
    p = sb.params()
    settings.configure(
        DEBUG=False,
        USE_TZ=True,
        TIME_ZONE="UTC",
        INSTALLED_APPS=[app_config],
        DATABASES={"default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": p["dbname"],
            "USER": p["user"],
            "HOST": p.get("host", ""),
            "PORT": p.get("port", ""),
        }},
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
    )
    django.setup()
