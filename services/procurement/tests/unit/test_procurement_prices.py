import random
import statistics
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import pytest

from procurement.domain.prices import (
    NormalisationError,
    NormalisedPrice,
    Observation,
    PriceReport,
    PriceStats,
    canonical_unit,
    flag_outliers,
    normalise,
    price_stats,
    savings_at,
)

D = Decimal


def report(pack_unit="box", units_per_pack="10", content="each", packs="4", price="35.00"):
    return PriceReport("H001", "1401000000010001", pack_unit, D(units_per_pack), content, D(packs),
                       D(price), "S001", date(2026, 3, 1))


def test_a_box_of_ten_is_priced_per_each():
    assert normalise(report(), "each") == NormalisedPrice("each", D("3.5000"), D("40"), 14000)


def test_unit_prices_are_kept_to_four_decimal_places():
    assert normalise(report(price="3.33", packs="1"), "each").base_unit_price == D("0.3330")
    assert normalise(report(units_per_pack="3", price="1", packs="1"), "each").base_unit_price == D(
        "0.3333")


@pytest.mark.parametrize("raw", ["each", "EA", " pcs ", "Piece", "个", "支", "只", "片", "根",
                                 "套"])
def test_countable_synonyms_are_each(raw):
    assert canonical_unit(raw) == "each"
    assert normalise(report(content=raw), "支").base_unit == "each"


@pytest.mark.parametrize(("raw", "unit"), [
    ("mL", "ml"), ("毫升", "ml"), ("L", "l"), ("升", "l"), ("毫克", "mg"), ("克", "g"),
    ("KG", "kg"), ("盒", "box"), ("ｍｌ", "ml"), ("μg", "ug"), ("µg", "ug"),
])
def test_unit_synonyms_are_recognised(raw, unit):
    assert canonical_unit(raw) == unit


def test_volumes_convert_between_millilitres_and_litres():
    bottle = report(pack_unit="瓶", units_per_pack="500", content="mL", packs="3", price="12.50")
    assert normalise(bottle, "l") == NormalisedPrice("l", D("25.0000"), D("1.5"), 3750)
    assert normalise(bottle, "ml") == NormalisedPrice("ml", D("0.0250"), D("1500"), 3750)


def test_masses_convert_between_milligrams_grams_and_kilograms():
    sachet = report(pack_unit="bag", units_per_pack="250", content="mg", packs="2", price="5.00")
    assert normalise(sachet, "g") == NormalisedPrice("g", D("20.0000"), D("0.5"), 1000)
    assert normalise(sachet, "kg").base_unit_price == D("20000.0000")


def test_the_total_is_the_pack_price_times_the_packs_rounded_once():
    assert normalise(report(packs="3", price="0.335"), "each").total_fen == 101


@pytest.mark.parametrize(("kwargs", "base", "field"), [
    ({"units_per_pack": "0"}, "each", "units_per_pack"),
    ({"units_per_pack": "-10"}, "each", "units_per_pack"),
    ({"units_per_pack": "2.5"}, "each", "units_per_pack"),
    ({"content": "ml"}, "each", "pack_content_unit"),
    ({"content": "g"}, "ml", "pack_content_unit"),
    ({"packs": "0"}, "each", "quantity_packs"),
    ({"price": "0"}, "each", "pack_price"),
    ({"price": "-1"}, "each", "pack_price"),
    ({"price": "0.0004"}, "each", "pack_price"),
    ({"content": "dozen"}, "each", "pack_content_unit"),
    ({"pack_unit": "crate"}, "each", "pack_unit"),
    ({}, "furlong", "base_unit"),
])
def test_reports_that_cannot_be_normalised_are_refused_naming_the_field(kwargs, base, field):
    with pytest.raises(NormalisationError) as err:
        normalise(report(**kwargs), base)
    assert err.value.field == field
    assert err.value.message


def test_a_countable_pack_may_hold_a_fraction_of_a_mass_unit_that_is_whole_in_the_base():
    assert normalise(report(units_per_pack="0.5", content="g", price="1"), "mg").base_quantity == D(
        "2000")


def test_price_statistics_interpolate_linearly_between_ranks():
    prices = [D(v) for v in ("1", "2", "3", "4", "5", "6", "7", "8", "9", "10")]
    assert price_stats(prices) == PriceStats(10, D("1.0000"), D("1.9000"), D("5.5000"),
                                             D("10.0000"), D("9.0000"))


def test_percentiles_agree_with_the_inclusive_method_of_statistics_quantiles():
    rng = random.Random(3)
    for _ in range(200):
        prices = [D(rng.randint(1, 10**6)).scaleb(-4) for _ in range(rng.randint(2, 40))]
        stats = price_stats(prices)
        deciles = statistics.quantiles(prices, n=10, method="inclusive")
        assert stats.p10 == deciles[0].quantize(D("0.0001"), ROUND_HALF_UP)
        assert stats.median == statistics.median(prices).quantize(D("0.0001"), ROUND_HALF_UP)
        assert (stats.min, stats.max, stats.n) == (min(prices), max(prices), len(prices))


def test_the_spread_is_relative_to_the_minimum():
    assert price_stats([D("2.00"), D("2.70"), D("2.10")]).spread == D("0.3500")
    assert price_stats([D("3")]) == PriceStats(1, D("3.0000"), D("3.0000"), D("3.0000"),
                                               D("3.0000"), D("0.0000"))


def test_price_statistics_need_positive_prices():
    with pytest.raises(ValueError):
        price_stats([])
    with pytest.raises(ValueError):
        price_stats([D("1"), D("0")])


def obs(hospital, price, level="secondary"):
    return Observation(hospital, level, D(price))


def test_a_price_far_above_its_peers_is_flagged_high():
    group = [obs("H1", "10"), obs("H2", "11"), obs("H3", "9"), obs("H4", "10.5"), obs("H5", "30")]
    [outlier] = flag_outliers(group)
    assert (outlier.hospital_id, outlier.direction) == ("H5", "high")
    assert outlier.peer_median == D("10.5000")
    assert outlier.score == D("26.3055")  # 0.6745 × 19.5 / MAD 0.5 (deviations 0.5 0.5 0 1.5 19.5)


def test_a_price_far_below_its_peers_is_flagged_low():
    group = [obs(f"H{i}", p) for i, p in enumerate(["10", "10.2", "9.9", "10.1", "1"])]
    [outlier] = flag_outliers(group)
    assert (outlier.hospital_id, outlier.direction) == ("H4", "low")
    assert outlier.score < 0


def test_when_the_mad_is_zero_the_mean_absolute_deviation_is_used():
    group = [obs("H1", "10"), obs("H2", "10"), obs("H3", "10"), obs("H4", "10"), obs("H5", "20")]
    [outlier] = flag_outliers(group)
    assert outlier.score == D("3.9894")  # 10 / (1.253314 × 2)


def test_identical_prices_have_no_outliers():
    assert flag_outliers([obs(f"H{i}", "7.5") for i in range(6)]) == []


def test_the_threshold_is_strict():
    group = [obs("H1", "10"), obs("H2", "11"), obs("H3", "9"), obs("H4", "10"), obs("H5", "15")]
    assert flag_outliers(group, threshold=D("3.3725")) == []  # |M| = 0.6745 × 5 / 1 exactly
    group[-1] = obs("H5", "15.0001")
    assert [o.hospital_id for o in flag_outliers(group, threshold=D("3.3725"))] == ["H5"]


def test_peer_groups_are_hospital_levels_and_small_groups_are_skipped():
    tertiary = [obs(f"T{i}", p, "tertiary") for i, p in enumerate(["30", "31", "29", "30"])]
    secondary = [obs(f"S{i}", p) for i, p in enumerate(["10", "10.5", "9.5", "10"])]
    primary = [obs("P1", "1", "primary"), obs("P2", "100", "primary")]
    assert flag_outliers(tertiary + secondary + primary) == []
    flagged = flag_outliers([*secondary, obs("S9", "31"), *tertiary, obs("T9", "10", "tertiary")])
    assert [(o.level, o.hospital_id, o.direction) for o in flagged] == [
        ("secondary", "S9", "high"), ("tertiary", "T9", "low")]


def test_savings_are_summed_per_hospital_and_rounded_once():
    purchases = [("H2", D("10.005"), D("1")), ("H2", D("10.005"), D("1")), ("H1", D("9"), D("5")),
                 ("H3", D("12.5"), D("4"))]
    assert savings_at(D("10"), purchases) == {"H1": 0, "H2": 1, "H3": 1000}
    assert list(savings_at(D("10"), purchases)) == ["H1", "H2", "H3"]
