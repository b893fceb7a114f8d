"""When a connector runs next: its schedule as a cron line, read by croniter in the
organization's time zone (so "daily at 06:00" stays 06:00 across daylight saving)."""

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from croniter import croniter

WEEKDAYS = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
]


def cron_line(schedule: str, at_time: time, weekday: int, cron: str) -> str:
    """hourly: at the minute of `at_time`; daily: at `at_time`; weekly: on `weekday`
    (0 is Monday) at `at_time`; cron: the expression itself."""
    if schedule == "hourly":
        return f"{at_time.minute} * * * *"
    if schedule == "daily":
        return f"{at_time.minute} {at_time.hour} * * *"
    if schedule == "weekly":
        return f"{at_time.minute} {at_time.hour} * * {(weekday + 1) % 7}"
    if schedule == "cron":
        return cron.strip()
    raise ValueError(f"Unknown schedule {schedule!r}")


def cron_problem(expression: str) -> str:
    """What is wrong with a cron expression, or "" (five fields: minute hour day
    month weekday)."""
    if len(expression.split()) != 5:
        return "Give five fields: minute hour day-of-month month day-of-week, e.g. 0 6 * * 1-5."
    if not croniter.is_valid(expression):
        return f"{expression!r} is not a valid cron expression."
    return ""


def next_run(line: str, after: datetime, tz: ZoneInfo) -> datetime:
    """The first time after `after` that the cron line matches in `tz` (UTC)."""
    start = after.astimezone(tz)
    found: datetime = croniter(line, start).get_next(datetime)
    return found.astimezone(UTC)


def describe(schedule: str, at_time: time, weekday: int, cron: str) -> str:
    if schedule == "hourly":
        return f"every hour at :{at_time.minute:02d}"
    if schedule == "daily":
        return f"every day at {at_time:%H:%M}"
    if schedule == "weekly":
        return f"every {WEEKDAYS[weekday % 7]} at {at_time:%H:%M}"
    return f"cron {cron}"
