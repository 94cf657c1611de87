#!/usr/bin/env python3
"""An independent reading of an iCalendar file, for the tests of Plenum's calendar writer.

Usage: ical_check.py FILE.ics FROM TO
  FROM, TO: ISO 8601 instants with an offset, e.g. 2024-01-01T00:00:00Z.

Prints a JSON array with one object per occurrence that overlaps [FROM, TO) as Python's
`icalendar` and `recurring_ical_events` see it (a single VEVENT is one occurrence; a series
is expanded with its RRULE, EXDATEs and RECURRENCE-ID overrides):
  {"uid": ..., "summary": ..., "start": "2024-03-29T08:00:00Z", "end": ...}
start and end in UTC, whole seconds; sorted by (start, end, uid, summary).

Fails loudly (a message on stderr, exit status 1) when:
  - a physical line does not end with CRLF or is longer than 75 octets (RFC 5545 3.1);
  - icalendar cannot parse the file, or records an error for any property;
  - a date-time is floating (no zone) or a date where Plenum writes date-times;
  - a VTIMEZONE, read on its own (dateutil's tzical, through icalendar), disagrees with
    the tz database (zoneinfo) on the UTC offset at any of its transitions, or at any hour
    in [FROM, TO) from its first transition to a day after its last (to TO if it has only
    one observance).

Needs the pip packages icalendar and recurring-ical-events (scripts/install-test-deps.sh
puts them in .venv-test).
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events


class CheckFailed(Exception):
    pass


def parse_instant(raw: str) -> datetime:
    value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise CheckFailed(f"{raw!r} has no offset")
    return value.astimezone(timezone.utc)


def utc_iso(value, what: str) -> str:
    if not isinstance(value, datetime):
        raise CheckFailed(f"{what} is a {type(value).__name__}, not a date-time: {value!r}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise CheckFailed(f"{what} is a floating date-time: {value!r}")
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def check_lines(data: bytes) -> None:
    if not data.endswith(b"\r\n"):
        raise CheckFailed("the file does not end with CRLF")
    for number, line in enumerate(data[:-2].split(b"\r\n"), start=1):
        if b"\n" in line or b"\r" in line:
            raise CheckFailed(f"line {number} has a bare CR or LF")
        if len(line) > 75:
            raise CheckFailed(f"line {number} has {len(line)} octets, more than 75")
        try:
            line.decode("utf-8")
        except UnicodeDecodeError as e:
            raise CheckFailed(f"line {number} is not UTF-8 on its own (split character?): {e}")


def check_errors(component) -> None:
    for sub in component.walk():
        errors = getattr(sub, "errors", None)
        if errors:
            raise CheckFailed(f"icalendar reports errors in {sub.name}: {errors}")


def check_vtimezone(vtz, window_from: datetime, window_to: datetime) -> None:
    tzid = str(vtz["TZID"])
    ours = vtz.to_tz(lookup_tzid=False)
    reference = ZoneInfo(tzid)
    onsets = []
    for observance in vtz.subcomponents:
        if observance.name not in ("STANDARD", "DAYLIGHT"):
            raise CheckFailed(f"{tzid}: unexpected {observance.name} in VTIMEZONE")
        if "RRULE" in observance or "RDATE" in observance:
            raise CheckFailed(f"{tzid}: expected an explicit list of transitions")
        local = observance["DTSTART"].dt
        offset_from = observance["TZOFFSETFROM"].td
        offset_to = observance["TZOFFSETTO"].td
        onset = (local - offset_from).replace(tzinfo=timezone.utc)
        onsets.append(onset)
        # Only transitions inside the reference's range can be compared (the first
        # observance of a zone without transitions starts in 1601).
        if onset.year < 1900:
            continue
        just_before = (onset - timedelta(seconds=1)).astimezone(reference).utcoffset()
        after = onset.astimezone(reference).utcoffset()
        if (just_before, after) != (offset_from, offset_to):
            raise CheckFailed(
                f"{tzid}: transition at {onset.isoformat()} is {offset_from}->{offset_to} "
                f"in the VTIMEZONE but {just_before}->{after} in zoneinfo"
            )
    if not onsets:
        raise CheckFailed(f"{tzid}: VTIMEZONE without observances")
    start = max(window_from, min(onsets))
    end = window_to if len(onsets) == 1 else min(window_to, max(onsets) + timedelta(days=1))
    t = start
    while t < end:
        a = t.astimezone(ours).utcoffset()
        b = t.astimezone(reference).utcoffset()
        if a != b:
            raise CheckFailed(f"{tzid}: at {t.isoformat()} the VTIMEZONE gives {a}, zoneinfo {b}")
        t += timedelta(hours=1)


def main(argv: list[str]) -> int:
    if len(argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    path, raw_from, raw_to = argv[1:]
    window_from, window_to = parse_instant(raw_from), parse_instant(raw_to)
    with open(path, "rb") as f:
        data = f.read()
    check_lines(data)
    try:
        calendar = icalendar.Calendar.from_ical(data)
    except Exception as e:  # noqa: BLE001 - any parse failure is a failed check
        raise CheckFailed(f"icalendar cannot parse {path}: {type(e).__name__}: {e}") from e
    check_errors(calendar)
    for vtz in calendar.walk("VTIMEZONE"):
        check_vtimezone(vtz, window_from, window_to)
    occurrences = []
    for event in recurring_ical_events.of(calendar).between(window_from, window_to):
        uid = str(event["UID"])
        occurrences.append(
            {
                "uid": uid,
                "summary": str(event.get("SUMMARY", "")),
                "start": utc_iso(event["DTSTART"].dt, f"DTSTART of {uid}"),
                "end": utc_iso(event["DTEND"].dt, f"DTEND of {uid}"),
            }
        )
    occurrences.sort(key=lambda o: (o["start"], o["end"], o["uid"], o["summary"]))
    json.dump(occurrences, sys.stdout, indent=1, ensure_ascii=False)
    print()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except CheckFailed as e:
        print(f"ical_check: {e}", file=sys.stderr)
        sys.exit(1)
