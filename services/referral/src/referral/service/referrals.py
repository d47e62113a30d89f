"""Referral use cases: request (route + offer), transitions with optimistic locking, and the deadline timer."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from alliance_service import UnitOfWork

from ..adapters import store
from ..adapters.events import publish_all
from ..domain.routing import RoutingDecision, RoutingPolicy, RoutingRequest, route
from ..domain.rules import Severity
from ..domain.workflow import Referral, ReferralError
from .ports import Caller, CareCheckUnavailable, CareRelationships

log = logging.getLogger(__name__)


def routing_view(decision: RoutingDecision, version: int | None) -> dict:
    return {"rule_id": decision.rule.rule_id if decision.rule else None, "rule_version": version,
            "rule": decision.rule.description if decision.rule else None,
            "ranked": [{"hospital_id": c.hospital_id, "score": c.score, "reasons": list(c.reasons)}
                       for c in decision.ranked],
            "excluded": [{"hospital_id": h, "reason": why} for h, why in decision.excluded],
            "reason_if_none": decision.reason_if_none}


async def referred_patient(care: CareRelationships | None, caller: Caller, *, patient_id: str | None,
                           mrn: str | None) -> str:
    """The alliance id of a patient the caller may refer: its own MRN's patient, or one it has an active grant for.

    A request alone never opens access: without a care relationship (or an unknown patient) NoCareRelationship;
    when the check cannot be made, CareCheckUnavailable — never a referral without the check.
    """
    if (patient_id is None) == (mrn is None):
        raise ValueError("give exactly one of patient_id and mrn")
    if care is None:
        raise CareCheckUnavailable("the patient index (data-exchange) is not configured")
    if mrn is not None:
        return await care.by_mrn(caller, mrn)
    return await care.by_patient_id(caller, patient_id)  # type: ignore[arg-type]


async def request_referral(uow: UnitOfWork, care: CareRelationships | None, caller: Caller, *,
                           patient_id: str | None = None, mrn: str | None = None, diagnosis_code: str,
                           severity: Severity, specialty_hint: str | None, now: datetime,
                           policy: RoutingPolicy | None = None) -> tuple[Referral | None, dict]:
    """Check the care relationship, route under the rules in force and offer the best-placed hospitals.

    No capable hospital is an answer, not an error; the referral stores the resolved alliance id.
    """
    patient_id = await referred_patient(care, caller, patient_id=patient_id, mrn=mrn)
    origin = caller.hospital_id
    async with uow:
        rules = (await store.load_rulebook(uow.conn)).in_force(now)
        if rules is None:
            return None, {"reason_if_none": "no referral rules are published yet", "ranked": [], "excluded": []}
        matched = rules.match(diagnosis_code, severity)
        specialty = (matched[0].required_specialty if matched else None) or specialty_hint
        candidates = await store.candidates(uow.conn, specialty)
        region = await store.region_of(uow.conn, origin) or ""
        decision = route(RoutingRequest(origin, diagnosis_code, severity, specialty_hint, region), rules,
                         candidates, policy, now)
        view = routing_view(decision, rules.version if decision.rule else None)
        if decision.rule is None or not decision.ranked:
            return None, view
        r = Referral.request(f"R-{uuid.uuid4().hex[:16].upper()}", patient_id, origin, decision.rule.direction,
                             diagnosis_code, severity, decision.rule.urgency, decision.rule.rule_id, rules.version,
                             now)
        r.offer(decision.hospital_ids, now)
        await store.add(uow.conn, r, view)
        publish_all(uow, r)
        await uow.commit()
        return r, view


async def transition(make_uow: Callable[[], UnitOfWork], referral_id: str,
                     act: Callable[[Referral], None], attempts: int = 3) -> Referral | None:
    """Load, apply one domain command, save if nobody changed it meanwhile; retry on a lost race.

    A retried command sees the winner's state, so a second accept fails in the domain (AlreadyAccepted).
    """
    for attempt in range(attempts):
        uow = make_uow()
        async with uow:
            found = await store.get(uow.conn, referral_id)
            if found is None:
                return None
            r, _ = found
            before = r.version
            act(r)
            try:
                await store.save(uow.conn, r, before)
            except store.StaleReferral:
                if attempt == attempts - 1:
                    raise
                continue
            publish_all(uow, r)
            await uow.commit()
            return r
    return None


class AlreadyReturned(Exception):
    """This up-referral already has its down-referral."""


async def refer_back(uow: UnitOfWork, up_id: str, by_hospital: str, now: datetime) -> Referral | None:
    """A completed up-referral's receiver sends the patient back to the origin: one linked down-referral."""
    async with uow:
        found = await store.get(uow.conn, up_id, for_update=True)
        if found is None or found[0].accepted_by != by_hospital:
            return None
        up = found[0]
        if await store.has_down_referral(uow.conn, up_id):
            raise AlreadyReturned(up_id)
        down = up.down_referral(f"R-{uuid.uuid4().hex[:16].upper()}", now)
        await store.add(uow.conn, down, {"rule_id": None, "ranked": [{"hospital_id": down.origin_hospital,
                                                                     "score": None,
                                                                     "reasons": ["returns to the referring hospital"]}],
                                         "excluded": [], "reason_if_none": None, "linked_from": up_id})
        publish_all(uow, down)
        await uow.commit()
        return down


class DeadlineTimer:
    """Escalates and expires referrals from the database, so deadlines survive restarts and fire once."""

    def __init__(self, make_uow: Callable[[], UnitOfWork], interval: float = 1.0) -> None:
        self._make_uow = make_uow
        self._interval = interval
        self._stop = asyncio.Event()
        self._task: asyncio.Task | None = None
        self.fired = 0

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="referral-deadlines")

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await asyncio.wait_for(self._task, 10)

    async def tick(self, now: datetime | None = None) -> int:
        """One pass: every due referral escalated or expired, each in the pass's one transaction."""
        now = now or datetime.now(UTC)
        uow = self._make_uow()
        async with uow:
            changed = 0
            for referral_id in await store.due(uow.conn, now):
                r, _ = await store.get(uow.conn, referral_id)
                before = r.version
                try:
                    if now >= r.deadline:
                        r.expire(now)
                    elif not r.escalation_due(now):
                        continue
                except ReferralError:
                    continue
                await store.save(uow.conn, r, before)
                publish_all(uow, r)
                changed += 1
            await uow.commit()
        self.fired += changed
        return changed

    async def _run(self) -> None:
        while not self._stop.is_set():
            try:
                await self.tick()
            except Exception:  # noqa: BLE001 - the timer keeps going through outages
                log.warning("deadline pass failed", exc_info=True)
            try:
                await asyncio.wait_for(self._stop.wait(), self._interval)
            except TimeoutError:
                pass
