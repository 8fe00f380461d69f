from django.db import migrations, models


def noop(apps, schema_editor):
    pass


class Migration(migrations.Migration):
    dependencies = [("planapp", "0002_nickname")]
    operations = [
        migrations.RenameField("author", "name", "full_name"),
        migrations.AlterField("author", "email", models.CharField(max_length=100, unique=True)),
        migrations.RunPython(noop, noop),
    ]
