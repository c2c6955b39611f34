# README "Coming from the recipes", recipes 1, 2 and 4: the flags stay, the
# database keeps them in step with deleted_at.  Rows the old code had already
# flagged go to the trash here, as one deletion per table.
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("recipes", "0002_softdelete_unique"),
    ]

    operations = [
        migrations.RunSQL(
            "SELECT softdelete.enable('recipes_textbook', live_flag => 'active');"
            " SELECT softdelete.enable('recipes_note', deleted_flag => 'is_deleted');"
            " SELECT softdelete.enable('recipes_post', deleted_flag => 'is_deleted');"
            " SELECT softdelete.enable('recipes_comment', deleted_flag => 'is_deleted');",
            reverse_sql="SELECT softdelete.disable('recipes_comment');"
                        " SELECT softdelete.disable('recipes_post');"
                        " SELECT softdelete.disable('recipes_note');"
                        " SELECT softdelete.disable('recipes_textbook');",
        ),
    ]
