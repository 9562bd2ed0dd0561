"""The pipeline runs once a day at 06:00 London time, across both 2026 clock changes."""

from __future__ import annotations

import pendulum
import pytest
from airflow.serialization.decoders import decode_timetable
from airflow.serialization.encoders import encode_timetable
from airflow.timetables.base import TimeRestriction

LONDON = "Europe/London"


@pytest.fixture(scope="module")
def timetable(dagbag):
    # The scheduler works on the serialized timetable; round-trip it the same way.
    return decode_timetable(encode_timetable(dagbag.dags["send_pipeline"].timetable))


@pytest.mark.parametrize(
    "first_day",
    [pendulum.date(2026, 3, 27), pendulum.date(2026, 10, 23)],  # clocks change on 29 March and 25 October
    ids=["spring-forward", "fall-back"],
)
def test_one_run_a_day_at_six_london_time_across_the_clock_change(timetable, first_day):
    restriction = TimeRestriction(
        earliest=pendulum.datetime(first_day.year, first_day.month, first_day.day, tz=LONDON), latest=None, catchup=True
    )
    runs, last = [], None
    for _ in range(5):
        info = timetable.next_dagrun_info(last_automated_data_interval=last, restriction=restriction)
        runs.append(info.run_after.in_timezone(LONDON))
        last = info.data_interval
    assert [r.date() for r in runs] == [first_day.add(days=n) for n in range(5)]
    assert {(r.hour, r.minute) for r in runs} == {(6, 0)}
    utc_hours = [r.in_timezone("UTC").hour for r in runs]
    assert len(set(utc_hours)) == 2  # the UTC hour moves with the clocks: London time does not
