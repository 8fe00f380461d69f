from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("planapp", "0001_initial")]
    operations = [
        migrations.AddField("author", "nickname", models.CharField(max_length=50, null=True)),
        migrations.AddIndex("author", models.Index(fields=["email"], name="planapp_email_idx")),
    ]
