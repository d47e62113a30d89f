"""Referral domain events → protobuf contracts on alliance.referral.v1 (key = referral id)."""

from __future__ import annotations

from google.protobuf.message import Message

from alliance.referral.v1 import referral_pb2 as pb
from alliance_messaging import proto_time

from ..domain import workflow as wf

TOPIC = "alliance.referral.v1"


def _ref(r: wf.Referral) -> pb.ReferralRef:
    return pb.ReferralRef(referral_id=r.referral_id, patient_id=r.patient_id, origin_hospital=r.origin_hospital,
                          direction=r.direction.value, diagnosis_code=r.diagnosis_code, severity=r.severity.value,
                          urgency=r.urgency.value, rule_id=r.rule_id or "", rule_version=r.rule_version or 0,
                          linked_from=r.linked_from or "")


def to_message(r: wf.Referral, e: wf.ReferralEvent) -> Message | None:
    """The contract message of a domain event (offer withdrawals are internal: None)."""
    ref, at = _ref(r), proto_time(e.at)
    match e:
        case wf.ReferralRequested():
            return pb.ReferralRequested(referral=ref, deadline=proto_time(e.deadline), occurred_at=at)
        case wf.ReferralOffered():
            return pb.ReferralOffered(referral=ref, hospital_ids=list(e.hospital_ids), occurred_at=at)
        case wf.ReferralAccepted():
            return pb.ReferralAccepted(referral=ref, receiving_hospital=e.hospital_id, occurred_at=at)
        case wf.ReferralRejected():
            return pb.ReferralRejected(referral=ref, hospital_id=e.hospital_id, reason=e.reason,
                                       all_rejected=e.all_rejected, occurred_at=at)
        case wf.ReferralTransferred():
            return pb.ReferralTransferred(referral=ref, receiving_hospital=e.hospital_id, occurred_at=at)
        case wf.ReferralArrived():
            return pb.ReferralArrived(referral=ref, receiving_hospital=e.hospital_id, occurred_at=at)
        case wf.ReferralCompleted():
            return pb.ReferralCompleted(referral=ref, receiving_hospital=e.hospital_id,
                                        requested_at=proto_time(r.created_at),
                                        accepted_at=proto_time(r.accepted_at) if r.accepted_at else None,
                                        occurred_at=at)
        case wf.ReferralCancelled():
            return pb.ReferralCancelled(referral=ref, by=e.by, reason=e.reason, occurred_at=at)
        case wf.ReferralExpired():
            return pb.ReferralExpired(referral=ref, occurred_at=at)
        case wf.ReferralEscalated():
            return pb.ReferralEscalated(referral=ref, deadline=proto_time(r.deadline), occurred_at=at)
    return None


def publish_all(uow, r: wf.Referral) -> None:
    for event in r.events:
        message = to_message(r, event)
        if message is not None:
            uow.publish(TOPIC, r.referral_id, message)
    r.events.clear()
