"""Element gaps: silences and partial drops against what an element's peers (or, without
peers, its own other days) say it should have sent. Expected values computed by hand from
the rows each test makes."""
import math
from datetime import datetime, timedelta

from assurance.reconcile import reconcile
from tests.assurance.findings import findings_of
from tests.assurance.rows import insert, network_row, rated_row

START = datetime(2026, 11, 2)  # three days of traffic from midnight
DAYS = 3


def _steady(element: str, every: timedelta, silent: tuple[datetime, datetime] | None = None, *,
            kept: tuple[datetime, datetime, int] | None = None, days: int = DAYS,
            quiet_hours: range = range(0), service: str = "voice") -> list[dict]:
    """A record every `every`; none inside `silent`; inside `kept` = (from, to, k) only k of
    each 10 consecutive records; none at `quiet_hours` of any day."""
    rows, t, n = [], START, 0
    while t < START + timedelta(days=days):
        lost = silent is not None and silent[0] <= t < silent[1]
        if kept is not None and kept[0] <= t < kept[1]:
            lost = n % 10 >= kept[2]
        if not lost and t.hour not in quiet_hours:
            rows.append(network_row(f"{element}-{n}", start_time=t, element_id=element, service=service))
        t += every
        n += 1
    return rows


def _runs_threshold(bins: int) -> float:
    """The z a partial drop needs: sqrt(2 ln(bins x 48 runs / 0.01))."""
    return math.sqrt(2 * math.log(bins * 48 / 0.01))


def test_two_silent_hours_on_a_busy_element_are_one_gap_from_last_to_next_record(store):
    # a record every 2 minutes = 5 per 10-minute bin; silent 2026-11-03 10:00 to 12:00 (records at 09:58, 12:00)
    silent = (datetime(2026, 11, 3, 10), datetime(2026, 11, 3, 12))
    insert(store, "network_usage", _steady("msc-01", timedelta(minutes=2), silent))
    reconcile(store)
    [gap] = findings_of(store, "element_gap")
    assert gap["element_id"] == "msc-01"
    assert gap["evidence"]["interval_start"].startswith("2026-11-03T09:58:00")
    assert gap["evidence"]["interval_end"].startswith("2026-11-03T12:00:00")
    # msc-01 has no peer: 5 per bin on the same bins of the other two days; 09:58 to 12:00 is
    # 0.2 of the 09:50 bin and twelve whole bins: 1 + 60 = 61 expected
    assert gap["evidence"]["expected_records"] == 61
    assert (gap["evidence"]["outage"], gap["evidence"]["baseline"]) == ("silence", "same time on other days")


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
    [gap] = findings_of(store, "element_gap")
    # pgw-02 sends what pgw-01 does (share 1): 10 a bin, 09:59 to 11:00 = 0.1 x 10 + 6 x 10
    assert gap["element_id"] == "pgw-01"
    assert (gap["evidence"]["outage"], gap["evidence"]["baseline"]) == ("silence", "peers")
    assert gap["evidence"]["expected_records"] == 61


def test_half_the_records_lost_for_two_hours_is_a_partial_drop_with_its_estimated_revenue(store):
    # both send a record every 20 s (30 a bin); pgw-01 keeps 5 of each 10 from 10:00 to 12:00
    drop = (datetime(2026, 11, 3, 10), datetime(2026, 11, 3, 12), 5)
    insert(store, "network_usage", _steady("pgw-01", timedelta(seconds=20), kept=drop, service="data")
           + _steady("pgw-02", timedelta(seconds=20), service="data"))
    insert(store, "rated_usage", [rated_row(f"r{i}", charge, element_id="pgw-01", service="data")
                                  for i, charge in enumerate(("0.05", "0.15", "0.10", "0.10"))])
    reconcile(store)
    [gap] = findings_of(store, "element_gap")
    evidence = gap["evidence"]
    assert gap["element_id"] == "pgw-01" and gap["amount"] == 0
    assert evidence["outage"] == "partial_drop"
    # the run of highest z is the twelve bins of the drop: 360 expected (share 1 of pgw-02's
    # 360), 180 received, variance 360 x (1 + 1) = 720, z = 180 / sqrt(720) = 6.708
    assert evidence["interval_start"].startswith("2026-11-03T10:00:00")
    assert evidence["interval_end"].startswith("2026-11-03T12:00:00")
    assert (evidence["expected_records"], evidence["received_records"], evidence["lost_share"]) == (360, 180, 0.5)
    assert evidence["z"] == 6.71
    # 432 bins x 2 elements x 48 run lengths scanned
    assert evidence["z_needed"] == round(_runs_threshold(864), 2) == 5.52
    # 180 records missing x the element's average charge 0.10
    assert evidence["estimated_missing_revenue"] == "18.000000"


def test_a_dip_of_less_than_a_third_is_not_far_fewer(store):
    # 30 % lost for 8 hours: z = 432 / sqrt(2880) = 8.05 clears 5.52, but 70 % still came
    dip = (datetime(2026, 11, 3, 8), datetime(2026, 11, 3, 16), 7)
    insert(store, "network_usage", _steady("pgw-01", timedelta(seconds=20), kept=dip, service="data")
           + _steady("pgw-02", timedelta(seconds=20), service="data"))
    reconcile(store)
    assert findings_of(store, "element_gap") == []


def test_a_drop_too_small_to_tell_from_chance_is_not_a_gap(store):
    # half lost for 30 min on 3 a bin: 9 expected, z = 4.5 / sqrt(18) = 1.06
    drop = (datetime(2026, 11, 3, 10), datetime(2026, 11, 3, 10, 30), 5)
    insert(store, "network_usage", _steady("pgw-01", timedelta(seconds=200), kept=drop, service="data")
           + _steady("pgw-02", timedelta(seconds=200), service="data"))
    reconcile(store)
    assert findings_of(store, "element_gap") == []


def test_a_quiet_night_its_peers_share_is_no_gap_even_on_one_day(store):
    # one day, no history: both elements busy by day and silent from 00:00 to 06:00. Against
    # the element's own median hour this night was a silence; its peers expect nothing then.
    quiet = range(0, 6)
    insert(store, "network_usage", _steady("msc-01", timedelta(minutes=1), days=1, quiet_hours=quiet)
           + _steady("msc-02", timedelta(minutes=1), days=1, quiet_hours=quiet))
    reconcile(store)
    assert findings_of(store, "element_gap") == []
