"""Background schedule: fold new case events into the command-centre roll-ups every
minute. Figures over a period are therefore at most a minute (plus the fold's run time,
milliseconds at a district's pace) behind the timeline."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from puan.command.rollup import rollup_fold


@db_periodic_task(crontab(minute="*"))
@lock_task("command-rollup")
def command_rollup_task() -> int:
    # The compare-and-set on the watermark row guards against a second consumer too.
    return rollup_fold().events
