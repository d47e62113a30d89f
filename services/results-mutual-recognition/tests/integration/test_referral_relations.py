"""A relation opened by a referral is bounded like data-exchange's grant: it expires, completion shortens it,
cancellation and revocation end it, merges carry the bound, and a hospital's own MRN always wins. Handlers on a
real database (synthetic ids)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alliance.data_exchange.v1 import clinical_pb2 as dx
from alliance.referral.v1 import referral_pb2 as pb
from alliance_messaging import event_from_proto, proto_time
from results_mutual_recognition.adapters import store
from results_mutual_recognition.bootstrap import SPEC
from results_mutual_recognition.service.clinical_events import handlers

T0 = datetime(2026, 12, 1, 8, tzinfo=UTC)
DAY = timedelta(days=1)
HANDLE = handlers(timedelta(days=30), timedelta(days=3))


async def apply(conn, message) -> None:
    await HANDLE[message.DESCRIPTOR.full_name](conn, event_from_proto(message, source="/test", subject="x"))


def ref(referral_id: str, patient: str) -> pb.ReferralRef:
    return pb.ReferralRef(referral_id=referral_id, patient_id=patient, origin_hospital="H002")


def accepted(referral_id: str, patient: str, at: datetime, hospital: str = "H001") -> pb.ReferralAccepted:
    return pb.ReferralAccepted(referral=ref(referral_id, patient), receiving_hospital=hospital,
                               occurred_at=proto_time(at))


async def test_a_referral_relation_holds_for_its_episode_only(start_service):
    rmr = await start_service(SPEC, start=False)
    async with rmr.engine.begin() as conn:
        treating = store.is_treating
        await apply(conn, accepted("R-1", "AP-1", T0))
        assert await treating(conn, "H001", "AP-1", T0 + 29 * DAY)
        assert not await treating(conn, "H001", "AP-1", T0 + 30 * DAY)          # the bound
        await apply(conn, pb.ReferralCompleted(referral=ref("R-1", "AP-1"), receiving_hospital="H001",
                                               occurred_at=proto_time(T0 + DAY)))
        assert await treating(conn, "H001", "AP-1", T0 + 4 * DAY - timedelta(seconds=1))
        assert not await treating(conn, "H001", "AP-1", T0 + 4 * DAY)            # completion + grace
        await apply(conn, accepted("R-2", "AP-1", T0 + 5 * DAY))                 # a new episode opens it again
        assert await treating(conn, "H001", "AP-1", T0 + 6 * DAY)
        await apply(conn, pb.ReferralCancelled(referral=ref("R-2", "AP-1"), by="his-H002",
                                               occurred_at=proto_time(T0 + 6 * DAY)))
        assert not await treating(conn, "H001", "AP-1", T0 + 6 * DAY)

        await apply(conn, accepted("R-3", "AP-2", T0))
        await apply(conn, dx.PatientAccessRevoked(referral_id="R-3", hospital_id="H001", patient_id="AP-2",
                                                  by="admin", occurred_at=proto_time(T0 + DAY)))
        assert not await treating(conn, "H001", "AP-2", T0 + DAY)

        await apply(conn, accepted("R-4", "AP-3", T0))                           # referred, then merged
        await apply(conn, dx.PatientsMerged(survivor_patient_id="AP-4", absorbed_patient_id="AP-3",
                                            occurred_at=proto_time(T0 + DAY)))
        assert await treating(conn, "H001", "AP-4", T0 + 2 * DAY)
        assert not await treating(conn, "H001", "AP-4", T0 + 30 * DAY)           # the merge carried the bound

        await apply(conn, accepted("R-5", "AP-5", T0))                           # referred, then its own MRN
        await apply(conn, dx.PatientLinked(patient_id="AP-5", hospital_id="H001", mrn="M-5"))
        await apply(conn, pb.ReferralCancelled(referral=ref("R-5", "AP-5"), occurred_at=proto_time(T0 + DAY)))
        assert await treating(conn, "H001", "AP-5", T0 + 60 * DAY)
        await apply(conn, accepted("R-6", "AP-5", T0 + 2 * DAY))                 # a referral never narrows it
        assert await treating(conn, "H001", "AP-5", T0 + 60 * DAY)
        assert not await treating(conn, "", "AP-5", T0)                          # no hospital named: never
