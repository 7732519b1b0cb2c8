from django.db import migrations


def install(apps, schema_editor):
    from puan.cases.risk import DEFAULT_RULES

    RiskRule = apps.get_model("cases", "RiskRule")
    have = set(RiskRule.objects.values_list("code", flat=True))
    RiskRule.objects.bulk_create(
        [
            RiskRule(code=c, dimension=d, fact=f, threshold=t, colour=str(col), reason=r)
            for c, d, f, t, col, r in DEFAULT_RULES
            if c not in have
        ]
    )


class Migration(migrations.Migration):
    dependencies = [("cases", "0001_initial")]
    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
