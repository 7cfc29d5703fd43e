"""Element gaps: silences an element's own history says should have held records."""
from datetime import datetime, timedelta

from assurance.reconcile import reconcile
from tests.assurance.findings import findings_of
from tests.assurance.rows import insert, network_row

START = datetime(2026, 11, 2)  # three days of traffic from midnight
DAYS = 3


def _steady(element: str, every: timedelta, silent: tuple[datetime, datetime] | None = None) -> list[dict]:
    rows, t, n = [], START, 0
    while t < START + timedelta(days=DAYS):
        if silent is None or not (silent[0] <= t < silent[1]):
            rows.append(network_row(f"{element}-{n}", start_time=t, element_id=element))
        t += every
        n += 1
    return rows


def test_two_silent_hours_on_a_busy_element_are_one_gap_from_last_to_next_record(store):
    # a record every 2 minutes = 30 per hour; silent 2026-11-03 10:00 to 12:00 (records at 09:58, 12:00)
    silent = (datetime(2026, 11, 3, 10), datetime(2026, 11, 3, 12))
    insert(store, "network_usage", _steady("msc-01", timedelta(minutes=2), silent))
    reconcile(store)
    [gap] = findings_of(store, "element_gap")
    assert gap["element_id"] == "msc-01"
    assert gap["evidence"]["interval_start"].startswith("2026-11-03T09:58:00")
    assert gap["evidence"]["interval_end"].startswith("2026-11-03T12:00:00")
    # 09:58 to 12:00 is 122 silent minutes at 30 records/hour (same hours, other two days) = 61 expected
    assert gap["evidence"]["expected_records"] == 61


def test_steady_element_without_silence_has_no_gap(store):
    insert(store, "network_usage", _steady("msc-01", timedelta(minutes=2)))
    reconcile(store)
    assert findings_of(store, "element_gap") == []


def test_silence_on_a_quiet_element_is_not_a_gap(store):
    # one record every 30 minutes: a 3-hour silence was expected to hold only ~6 records
    silent = (datetime(2026, 11, 3, 10), datetime(2026, 11, 3, 13))
    insert(store, "network_usage", _steady("msc-02", timedelta(minutes=30), silent))
    reconcile(store)
    assert findings_of(store, "element_gap") == []


def test_gap_of_one_element_does_not_flag_its_neighbour(store):
    silent = (datetime(2026, 11, 3, 10), datetime(2026, 11, 3, 11))
    insert(store, "network_usage", _steady("pgw-01", timedelta(minutes=1), silent) +
           _steady("pgw-02", timedelta(minutes=1)))
    reconcile(store)
    assert [g["element_id"] for g in findings_of(store, "element_gap")] == ["pgw-01"]
