from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("catalog", "0002_product_description")]
    operations = [
        migrations.RenameField("product", "name", "title"),
    ]
