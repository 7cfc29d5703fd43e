"""SPEC section 2 and rule 9: the catalog loads exactly or is refused with a clear message."""
from fractions import Fraction

import pytest

from rating.catalog import CatalogError, load_catalog
from tests.rating.scenario import CATALOG


def test_spec_catalog_loads_prices_as_micro_units():
    plan = load_catalog(CATALOG).plans["SMART10"]
    assert plan.voice_per_minute["premium"] == 1_500_000  # 1.50
    assert plan.data_per_mb == 10_000  # 0.01
    assert plan.roaming["world"].per_mb == 5_000_000
    assert plan.overage_discount_percent == Fraction(10)
    assert plan.offpeak_factor == Fraction(1, 2)


def test_zone_in_allowance_zones_needs_no_roaming_price():
    plan = load_catalog(CATALOG).plans["SMART10"]
    assert "eu" not in plan.roaming


def test_unquoted_yaml_decimals_are_read_exactly():
    text = CATALOG.replace('per_mb: "0.01"', "per_mb: 0.01").replace('tax_rate: "0.20"', "tax_rate: 0.2")
    catalog = load_catalog(text)
    assert catalog.plans["SMART10"].data_per_mb == 10_000
    assert catalog.tax_rate == Fraction(1, 5)


def test_catalog_loads_from_a_path(tmp_path):
    path = tmp_path / "catalog.yaml"
    path.write_text(CATALOG)
    assert set(load_catalog(path).plans) == {"SMART10", "PAYG"}
    assert set(load_catalog(str(path)).plans) == {"SMART10", "PAYG"}


def test_missing_destination_class_price_is_refused_naming_plan_and_class():
    text = CATALOG.replace('premium: "1.50", ', "")
    with pytest.raises(CatalogError, match=r"plan SMART10: voice.per_minute: no price for destination class 'premium'"):
        load_catalog(text)


def test_missing_sms_class_price_is_refused():
    text = CATALOG.replace('international: "0.25"', "")
    with pytest.raises(CatalogError, match=r"plan SMART10: sms.per_message: no price for destination class 'international'"):
        load_catalog(text)


def test_roaming_zone_outside_allowance_zones_without_price_is_refused():
    text = CATALOG.replace('roaming: {world: {per_minute: "1.50", per_message: "0.40", per_mb: "5.00"}}', "")
    with pytest.raises(CatalogError, match=r"plan SMART10: roaming: no price for roaming zone 'world'"):
        load_catalog(text)


def test_roaming_zone_missing_one_price_is_refused_naming_it():
    text = CATALOG.replace('per_message: "0.40", ', "")
    with pytest.raises(CatalogError, match=r"plan SMART10: roaming.world: missing field per_message"):
        load_catalog(text)


def test_bad_decimal_is_refused_naming_the_field():
    text = CATALOG.replace('national: "0.10"', 'national: "ten cents"')
    with pytest.raises(CatalogError, match=r"plan SMART10: voice.per_minute.national: bad decimal"):
        load_catalog(text)


def test_price_with_more_than_six_decimals_is_refused():
    text = CATALOG.replace('per_mb: "0.01"', 'per_mb: "0.0000001"')
    with pytest.raises(CatalogError, match=r"plan SMART10: data.per_mb: bad decimal: more than 6 decimal places"):
        load_catalog(text)


def test_unknown_rounding_format_is_refused():
    text = CATALOG.replace('rounding: "60/1"', 'rounding: "per-minute"')
    with pytest.raises(CatalogError, match=r"plan SMART10: voice.rounding: unknown rounding format"):
        load_catalog(text)


def test_unknown_weekday_is_refused():
    text = CATALOG.replace("days: [sat, sun]", "days: [sat, sunday, fun]")
    with pytest.raises(CatalogError, match=r"offpeak\[0\].days: unknown weekday 'fun'"):
        load_catalog(text)


def test_unknown_timezone_is_refused():
    text = CATALOG.replace("timezone: Europe/London", "timezone: Europe/Atlantis")
    with pytest.raises(CatalogError, match=r"timezone: unknown time zone 'Europe/Atlantis'"):
        load_catalog(text)


def test_bad_clock_time_is_refused():
    text = CATALOG.replace('from: "19:00"', 'from: "7pm"')
    with pytest.raises(CatalogError, match=r"offpeak\[1\].from: expected HH:MM"):
        load_catalog(text)


def test_plan_without_voice_rounding_is_refused():
    text = CATALOG.replace('rounding: "60/1", ', "")
    with pytest.raises(CatalogError, match=r"plan SMART10: voice: missing field rounding"):
        load_catalog(text)


def test_allowance_class_not_in_destination_classes_is_refused():
    text = CATALOG.replace("allowance_classes: [onnet, national]", "allowance_classes: [onnet, local]")
    with pytest.raises(CatalogError, match=r"plan SMART10: allowance_classes: unknown destination class 'local'"):
        load_catalog(text)


def test_plan_may_omit_allowances_discount_and_fee():
    plan = load_catalog(CATALOG).plans["PAYG"]
    assert (plan.allowance_voice_s, plan.allowance_sms, plan.allowance_data_bytes) == (0, 0, 0)
    assert plan.overage_discount_percent == 0
    assert plan.monthly_fee == 0
    assert plan.offpeak_factor == 1
    assert plan.payment == "prepaid"


def test_catalog_that_is_not_yaml_is_refused_in_one_line():
    with pytest.raises(CatalogError) as err:
        load_catalog("plans: [\n  - {id: X")
    assert "\n" not in str(err.value)
