"""Referral access grants on a real database: per episode, bounded, shortened on completion, revoked on
cancellation, never extended by a late event, applied once, audited; one definition of 'active'."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from alliance.referral.v1 import referral_pb2 as pb
from alliance_auth import Principal
from alliance_messaging import event_from_proto, proto_time
from data_exchange.adapters import grants
from data_exchange.adapters.orm import audit_log, patient_access_grants
from data_exchange.bootstrap import SPEC
from data_exchange.service.referral_events import handlers

T0 = datetime(2026, 12, 1, 8, tzinfo=UTC)
DAY = timedelta(days=1)


def ref(referral_id: str, patient: str = "AP-1") -> pb.ReferralRef:
    return pb.ReferralRef(referral_id=referral_id, patient_id=patient, origin_hospital="H002")


def accepted(referral_id: str, at: datetime, hospital: str = "H001") -> pb.ReferralAccepted:
    return pb.ReferralAccepted(referral=ref(referral_id), receiving_hospital=hospital, occurred_at=proto_time(at))


async def apply(conn, message, handle=handlers(timedelta(days=30), timedelta(days=3))) -> None:
    await handle[message.DESCRIPTOR.full_name](conn, event_from_proto(message, source="/test", subject="x"))


async def test_a_grant_lasts_its_bound_ends_with_the_episode_and_is_never_extended(start_service):
    dx = await start_service(SPEC, start=False)
    async with dx.engine.begin() as conn:
        await apply(conn, accepted("R-1", T0))
        await apply(conn, accepted("R-1", T0))                                # a replay: nothing new
        await apply(conn, accepted("R-2", T0 + DAY))                         # a second episode, same patient
        await apply(conn, pb.ReferralCompleted(referral=ref("R-1"), receiving_hospital="H001",
                                               occurred_at=proto_time(T0 + 2 * DAY)))
        await apply(conn, pb.ReferralCompleted(referral=ref("R-1"), receiving_hospital="H001",
                                               occurred_at=proto_time(T0 + 20 * DAY)))   # never extends
        rows = {r.referral_id: r for r in await conn.execute(select(patient_access_grants))}
        assert rows["R-1"].expires_at == T0 + 5 * DAY and rows["R-1"].origin_hospital == "H002"
        assert rows["R-2"].expires_at == T0 + 31 * DAY
        assert await grants.has_active_grant(conn, "H001", "AP-1", T0 + 4 * DAY)
        await apply(conn, pb.ReferralCancelled(referral=ref("R-2"), by="his-H002", reason="patient declined",
                                               occurred_at=proto_time(T0 + 3 * DAY)))
        r2 = (await conn.execute(select(patient_access_grants).where(
            patient_access_grants.c.referral_id == "R-2"))).one()
        assert (r2.revoked_at, r2.revoked_by) == (T0 + 3 * DAY, "referral:his-H002")
        # R-1 still runs until completion + grace; then nothing is active
        assert await grants.has_active_grant(conn, "H001", "AP-1", T0 + 4 * DAY)
        assert not await grants.has_active_grant(conn, "H001", "AP-1", T0 + 5 * DAY)
        assert not await grants.has_active_grant(conn, None, "AP-1", T0)          # a token naming no hospital
        listed = await grants.list_grants(conn, Principal("reg", None, frozenset({"regulator"})), T0 + 4 * DAY)
        assert {(x.referral_id, x.active) for x in listed} == {("R-1", True), ("R-2", False)}
        assert await grants.list_grants(conn, Principal("sup", "H001", frozenset({"supplier"})), T0) == []
        actions = [r.action for r in await conn.execute(select(audit_log.c.action).order_by(audit_log.c.audit_id))]
    assert actions == ["grant", "grant", "shorten", "revoke"]
