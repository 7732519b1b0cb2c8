import json
from datetime import date, timedelta
from pathlib import Path

from django.db import migrations

DATA = Path(__file__).resolve().parent.parent / "data"


def install(apps, schema_editor):
    from puan.sla.engine import DEFAULT_POLICIES

    SlaPolicy = apps.get_model("sla", "SlaPolicy")
    CalendarDay = apps.get_model("sla", "CalendarDay")
    if not SlaPolicy.objects.exists():
        SlaPolicy.objects.bulk_create(
            [
                SlaPolicy(name=name, lane=lane, tier=tier, risk=risk, kind=kind, respond_minutes=respond,
                          resolve_minutes=resolve, working_time=working, extension_minutes=extension)
                for name, lane, tier, risk, kind, respond, resolve, working, extension in DEFAULT_POLICIES
            ]
        )
    for path in sorted(DATA.glob("cn-holidays-*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        year = data["year"]
        if CalendarDay.objects.filter(year=year).exists():
            continue
        rows = []
        for holiday in data["holidays"]:
            start, end = date.fromisoformat(holiday["from"]), date.fromisoformat(holiday["to"])
            for n in range((end - start).days + 1):
                rows.append(CalendarDay(date=start + timedelta(days=n), kind="holiday", name=holiday["name"],
                                        year=year, provisional=bool(data.get("provisional"))))
        for raw in data["makeup_workdays"]:
            rows.append(CalendarDay(date=date.fromisoformat(raw), kind="workday", name="调休上班", year=year,
                                    provisional=bool(data.get("provisional"))))
        CalendarDay.objects.bulk_create(rows)


class Migration(migrations.Migration):
    dependencies = [("sla", "0001_initial")]
    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
