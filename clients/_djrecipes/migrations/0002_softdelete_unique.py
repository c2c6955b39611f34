# README "Coming from the recipes", recipe 3: the unique-suffix trick becomes
# unique values among live rows.  enable() is idempotent: a table created with
# deleted_at after CREATE EXTENSION softdelete is enabled already.
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("recipes", "0001_initial"),
    ]

    operations = [
        migrations.RunSQL(
            "SELECT softdelete.enable('recipes_account');"
            " SELECT softdelete.unique_among_live('recipes_account');",
            reverse_sql="SELECT softdelete.disable('recipes_account');",
        ),
    ]
