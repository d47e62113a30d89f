"""A referral needs a care relationship: the use case against a fake patient index (no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from referral.domain.rules import Severity
from referral.service.ports import Caller, CareCheckUnavailable, NoCareRelationship
from referral.service.referrals import referred_patient, request_referral

H002 = Caller("H002", "token-of-h002")


class FakePatientIndex:
    """Which hospital holds which MRN for which alliance patient, and which grants are active."""

    def __init__(self, mrns: dict[tuple[str, str], str], grants: set[tuple[str, str]] = frozenset()) -> None:
        self.mrns, self.grants, self.asked = mrns, set(grants), []

    def _treats(self, hospital: str, patient_id: str) -> bool:
        return any(h == hospital and p == patient_id for (h, _), p in self.mrns.items()) or \
            (hospital, patient_id) in self.grants

    async def by_patient_id(self, caller: Caller, patient_id: str) -> str:
        self.asked.append(("patient_id", caller, patient_id))
        if not self._treats(caller.hospital_id, patient_id):
            raise NoCareRelationship()
        return patient_id

    async def by_mrn(self, caller: Caller, mrn: str) -> str:
        self.asked.append(("mrn", caller, mrn))
        if (caller.hospital_id, mrn) not in self.mrns:
            raise NoCareRelationship()
        return self.mrns[(caller.hospital_id, mrn)]


class Unreachable:
    async def by_patient_id(self, caller: Caller, patient_id: str) -> str:
        raise CareCheckUnavailable("UNAVAILABLE")

    async def by_mrn(self, caller: Caller, mrn: str) -> str:
        raise CareCheckUnavailable("UNAVAILABLE")


class UntouchableUnitOfWork:
    """A referral refused for want of a care relationship must never open a transaction."""

    async def __aenter__(self):
        raise AssertionError("the unit of work was entered")

    async def __aexit__(self, *exc):
        return False


INDEX = {("H002", "MRN-7"): "AP-7", ("H003", "MRN-9"): "AP-9"}


async def test_a_hospital_refers_its_own_patient_by_alliance_id():
    assert await referred_patient(FakePatientIndex(INDEX), H002, patient_id="AP-7", mrn=None) == "AP-7"


async def test_a_hospital_refers_its_own_patient_by_its_own_mrn_and_gets_the_alliance_id():
    index = FakePatientIndex(INDEX)
    assert await referred_patient(index, H002, patient_id=None, mrn="MRN-7") == "AP-7"
    assert index.asked == [("mrn", H002, "MRN-7")]          # asked with the caller's own hospital and token


async def test_a_hospital_with_an_active_grant_may_refer_onwards():
    index = FakePatientIndex({}, grants={("H002", "AP-5")})
    assert await referred_patient(index, H002, patient_id="AP-5", mrn=None) == "AP-5"


@pytest.mark.parametrize(("patient_id", "mrn"), [("AP-9", None), ("AP-404", None), (None, "MRN-9"),
                                                 (None, "MRN-404")])
async def test_a_patient_not_treated_or_unknown_cannot_be_referred(patient_id, mrn):
    with pytest.raises(NoCareRelationship):
        await referred_patient(FakePatientIndex(INDEX), H002, patient_id=patient_id, mrn=mrn)


async def test_no_referral_and_no_transaction_without_a_care_relationship():
    with pytest.raises(NoCareRelationship):
        await request_referral(UntouchableUnitOfWork(), FakePatientIndex(INDEX), H002, patient_id="AP-9",
                               diagnosis_code="I21.0", severity=Severity.SEVERE, specialty_hint=None,
                               now=datetime.now(UTC))


async def test_an_unconfigured_or_unreachable_index_refuses_rather_than_skipping_the_check():
    for care in (None, Unreachable()):
        with pytest.raises(CareCheckUnavailable):
            await request_referral(UntouchableUnitOfWork(), care, H002, patient_id="AP-7", diagnosis_code="I21.0",
                                   severity=Severity.SEVERE, specialty_hint=None, now=datetime.now(UTC))


@pytest.mark.parametrize(("patient_id", "mrn"), [(None, None), ("AP-7", "MRN-7")])
async def test_exactly_one_of_alliance_id_and_mrn(patient_id, mrn):
    with pytest.raises(ValueError, match="exactly one"):
        await referred_patient(FakePatientIndex(INDEX), H002, patient_id=patient_id, mrn=mrn)
