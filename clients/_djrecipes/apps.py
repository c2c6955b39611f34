"""The recipes' models, adopted as README "Coming from the recipes" says
(label "recipes"; used by clients/test_django_recipes.py)."""
from django.apps import AppConfig


class RecipesConfig(AppConfig):
    name = "_djrecipes"
    label = "recipes"
    default_auto_field = "django.db.models.AutoField"
