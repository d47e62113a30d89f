from datetime import UTC, datetime

import pytest

from data_exchange.domain.facilities import (
    Hospital,
    HospitalLevel,
    HospitalProfile,
    HospitalRegistered,
    HospitalUpdated,
    InvalidHospital,
    VersionMismatch,
)

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def _profile(**kw) -> HospitalProfile:
    base = dict(name="县人民医院", level=HospitalLevel.SECONDARY, region_code="330122",
                specialties=("internal_medicine", "cardiology"), total_beds=300)
    return HospitalProfile(**{**base, **kw})


def test_registration_records_one_event_at_version_one_with_sorted_specialties():
    h = Hospital.register("H002", _profile(), NOW)
    assert h.version == 1
    assert h.profile.specialties == ("cardiology", "internal_medicine")
    assert [type(e) for e in h.events] == [HospitalRegistered]


@pytest.mark.parametrize("hospital_id, profile, field", [
    ("h-lower", _profile(), "hospital_id"),
    ("H002", _profile(name="  "), "name"),
    ("H002", _profile(name="县医院\x00"), "name"),
    ("H002", _profile(region_code="33012"), "region_code"),
    ("H002", _profile(specialties=("Cardiology",)), "specialties"),
    ("H002", _profile(total_beds=-1), "total_beds"),
])
def test_rejects_invalid_registrations_naming_the_field(hospital_id, profile, field):
    with pytest.raises(InvalidHospital) as err:
        Hospital.register(hospital_id, profile, NOW)
    assert err.value.field_name == field


def test_an_update_that_changes_nothing_records_no_event_and_keeps_the_version():
    h = Hospital.register("H002", _profile(), NOW)
    h.events.clear()
    assert h.update(_profile(specialties=("cardiology", "internal_medicine")), NOW) is False
    assert h.version == 1 and h.events == []


def test_an_update_bumps_the_version_and_names_the_changed_fields():
    h = Hospital.register("H002", _profile(), NOW)
    assert h.update(_profile(total_beds=320, active=False), NOW)
    assert h.version == 2
    event = h.events[-1]
    assert isinstance(event, HospitalUpdated)
    assert event.changed_fields == ("total_beds", "active")
    assert event.hospital.version == 2


def test_an_update_against_a_stale_version_is_refused():
    h = Hospital.register("H002", _profile(), NOW)
    h.update(_profile(total_beds=1), NOW)
    with pytest.raises(VersionMismatch):
        h.update(_profile(total_beds=2), NOW, expected_version=1)


def test_repeating_the_same_registration_matches():
    h = Hospital.register("H002", _profile(), NOW)
    assert h.matches(_profile(specialties=("internal_medicine", "cardiology")))
    assert not h.matches(_profile(total_beds=1))


def test_interface_codes_are_validated_and_deduplicated():
    h = Hospital.register("H002", _profile(), NOW)
    h.set_interface_codes(("HIS-A", "HIS-A", "LIS.1"))
    assert h.interface_facility_codes == ("HIS-A", "LIS.1")
    with pytest.raises(InvalidHospital):
        h.set_interface_codes(("bad code",))
