"""HTTP API of referral: rules (administrators), requests with routing reasons, and the workflow."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime
from typing import Annotated, Literal

import grpc
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, model_validator
from sqlalchemy import any_, literal, or_, select

from alliance_auth import Principal, Roles
from alliance_auth.fastapi import CurrentPrincipal, require_roles
from alliance_service import Problem, Runtime, not_found
from alliance_service.bounds import BoundedDatetime

from ..adapters import store
from ..adapters.orm import referrals
from ..adapters.peers import AccessEnded, NotYetVisible
from ..domain.rules import Direction, Level, Rule, RuleError, Severity, Urgency
from ..domain.workflow import (
    AlreadyAccepted,
    Encounter,
    Referral,
    ReferralError,
    Status,
    referral_indicators,
    siphoning_signal,
)
from ..service import referrals as use_cases
from ..service.ports import Caller, CareCheckUnavailable, NoCareRelationship

Admin = Annotated[Principal, Depends(require_roles(Roles.ALLIANCE_ADMIN))]
Hospital = Annotated[Principal, Depends(require_roles(Roles.HOSPITAL, scoped=True))]
Party = Annotated[Principal, Depends(require_roles(Roles.HOSPITAL, Roles.ALLIANCE_ADMIN, scoped=True))]
Overseer = Annotated[Principal, Depends(require_roles(Roles.ALLIANCE_ADMIN, Roles.REGULATOR))]


class RuleIn(BaseModel):
    rule_id: str
    icd10: str = Field(description='exact "I10", prefix "I21*" or range "I20-I25"')
    severities: list[Severity] = Field(min_length=1)
    direction: Direction
    required_specialty: str | None = None
    target_levels: list[Level] = Field(min_length=1)
    urgency: Urgency
    description: str = ""


class RulesIn(BaseModel):
    effective_from: BoundedDatetime
    rules: list[RuleIn] = Field(min_length=1, max_length=5000)


class ReferralIn(BaseModel):
    """Exactly one of `patient_id` and `mrn` names the patient; the referring hospital must treat them."""

    patient_id: str | None = Field(None, min_length=1, max_length=64, description="alliance patient id (AP-…)")
    mrn: str | None = Field(None, min_length=1, max_length=64,
                            description="the referring hospital's own MRN, resolved in its own hospital")
    diagnosis_code: str = Field(min_length=3, max_length=16, description="ICD-10")
    severity: Severity
    specialty_hint: str | None = None

    @model_validator(mode="after")
    def _one_patient(self) -> ReferralIn:
        if (self.patient_id is None) == (self.mrn is None):
            raise ValueError("give exactly one of patient_id and mrn")
        return self


class ActionIn(BaseModel):
    reason: str = Field("", max_length=500)


Action = Literal["accept", "reject", "transfer", "arrive", "complete", "cancel"]


def _visible(principal: Principal, r: Referral) -> bool:
    """Administrators, and the parties: origin, offered or accepting hospital (never a token without one)."""
    if principal.has_role(Roles.ALLIANCE_ADMIN):
        return True
    parties = {h for h in (r.origin_hospital, r.accepted_by, *r.offers) if h}
    return principal.has_role(Roles.HOSPITAL) and bool(principal.hospital_id) and principal.hospital_id in parties


def router(runtime: Runtime) -> APIRouter:
    r = APIRouter(prefix="/v1")

    @r.post("/rules/versions", status_code=201, tags=["referral rules"],
            summary="Publish a version of the referral rules (effective-dated, immutable afterwards)")
    async def publish_rules(body: RulesIn, principal: Admin) -> dict:
        try:
            rules = [Rule(x.rule_id, x.icd10, frozenset(x.severities), x.direction, x.required_specialty,
                          frozenset(x.target_levels), x.urgency, x.description) for x in body.rules]
            async with runtime.engine.begin() as conn:
                book = (await store.load_rulebook(conn)).publish(rules, body.effective_from, datetime.now(UTC))
                await store.save_ruleset(conn, book.latest, principal.subject)
        except (RuleError, ValueError) as exc:
            raise Problem(422, "invalid-rules", "Unprocessable Content", str(exc)) from exc
        return {"version": book.latest.version, "effective_from": book.latest.effective_from.isoformat(),
                "rules": len(book.latest.rules)}

    @r.get("/rules", tags=["referral rules"], summary="The rules in force at `at` (default now)")
    async def rules_at(_: CurrentPrincipal, at: BoundedDatetime | None = None) -> dict:
        async with runtime.engine.connect() as conn:
            rules = (await store.load_rulebook(conn)).in_force(at or datetime.now(UTC))
        if rules is None:
            raise not_found("rule version")
        return {"version": rules.version, "effective_from": rules.effective_from.isoformat(),
                "rules": [store.rule_to_json(x) for x in rules.rules]}

    @r.post("/referrals", tags=["referrals"], status_code=201,
            summary="Refer a patient: route under the rules in force, offer the best-placed hospitals, say why",
            response_model=None,
            responses={200: {"description": "no rule or no capable hospital: the answer says why; nothing created"},
                       404: {"description": "unknown patient, or no care relationship with it (not told apart)"},
                       503: {"description": "the patient index cannot be asked now; retry (Retry-After)"}})
    async def create(body: ReferralIn, principal: Hospital, request: Request) -> dict | JSONResponse:
        if not principal.hospital_id:
            raise Problem(403, "forbidden", "Forbidden", "a hospital token must name its hospital (hospital_id)")
        caller = Caller(principal.hospital_id, request.headers["authorization"].split(" ", 1)[1])
        try:
            referral, routing = await use_cases.request_referral(
                runtime.uow(), runtime.extras.get("care"), caller, patient_id=body.patient_id, mrn=body.mrn,
                diagnosis_code=body.diagnosis_code, severity=body.severity, specialty_hint=body.specialty_hint,
                now=datetime.now(UTC))
        except NoCareRelationship as exc:
            raise not_found("patient") from exc
        except CareCheckUnavailable as exc:
            raise Problem(503, "care-check-unavailable", "Service Unavailable",
                          "the patient index cannot be asked now; retry shortly", headers={"Retry-After": "5"}) from exc
        except (RuleError, ReferralError) as exc:
            raise Problem(422, "invalid-referral", "Unprocessable Content", str(exc)) from exc
        if referral is None:
            return JSONResponse({"referral": None, "routing": routing}, status_code=200)
        return {"referral": store.as_view(referral), "routing": routing}

    @r.get("/referrals", tags=["referrals"], summary="Referrals this hospital sent or was offered (all, for admins)")
    async def list_referrals(principal: Party, status: str | None = None) -> list[dict]:
        stmt = select(referrals.c.state, referrals.c.routing).order_by(referrals.c.created_at.desc()).limit(500)
        if not principal.has_role(Roles.ALLIANCE_ADMIN):
            h = principal.hospital_id
            stmt = stmt.where(or_(referrals.c.origin_hospital == h, literal(h) == any_(referrals.c.offered_to)))
        if status:
            stmt = stmt.where(referrals.c.status == status)
        async with runtime.engine.connect() as conn:
            return [row.state | {"routing": row.routing} for row in await conn.execute(stmt)]

    @r.get("/referrals/{referral_id}", tags=["referrals"], summary="One referral (its parties only)",
           responses={403: {"description": "not a hospital or administrator token (regulators read /v1/indicators)"}})
    async def get_referral(referral_id: str, principal: Party) -> dict:
        async with runtime.engine.connect() as conn:
            found = await store.get(conn, referral_id)
        if found is None or not _visible(principal, found[0]):
            raise not_found(f"referral {referral_id}")
        return store.as_view(*found)

    @r.post("/referrals/{referral_id}/down-referral", tags=["referrals"], status_code=201,
            summary="Send a patient of a completed up-referral back to the referring hospital for recovery")
    async def down_referral(referral_id: str, principal: Hospital) -> dict:
        try:
            down = await use_cases.refer_back(runtime.uow(), referral_id, principal.hospital_id or "",
                                              datetime.now(UTC))
        except use_cases.AlreadyReturned as exc:
            raise Problem(409, "already-returned", "Conflict", "this referral already has a down-referral") from exc
        except ReferralError as exc:
            raise Problem(409, "illegal-transition", "Conflict", str(exc)) from exc
        if down is None:
            raise not_found(f"referral {referral_id}")
        return store.as_view(down)

    @r.get("/referrals/{referral_id}/handoff", tags=["referrals"],
           summary="The handoff packet for the receiving hospital: patient summary and results it may reuse",
           responses={404: {"description": "not the accepting hospital, the referral was cancelled, or its access "
                                           "grant expired or was revoked"},
                      503: {"description": "a peer is not reachable or the acceptance is still propagating; retry"}})
    async def handoff(referral_id: str, principal: Hospital, request: Request) -> dict:
        async with runtime.engine.connect() as conn:
            found = await store.get(conn, referral_id)
        if found is None or found[0].accepted_by is None or found[0].accepted_by != principal.hospital_id or \
                found[0].status == Status.CANCELLED:
            raise not_found(f"referral {referral_id}")
        referral = found[0]
        peers = runtime.extras.get("handoff")
        if peers is None:
            raise Problem(503, "handoff-unavailable", "Service Unavailable", "handoff peers are not configured")
        token = request.headers["authorization"].split(" ", 1)[1]
        answers = await asyncio.gather(peers.summary(referral.patient_id, referral_id, token),
                                       peers.recognisable(referral.patient_id, token), return_exceptions=True)
        failures = [x for x in answers if isinstance(x, BaseException)]
        if any(isinstance(x, AccessEnded) for x in failures):       # the grant expired or was revoked
            raise not_found(f"referral {referral_id}")
        for exc in failures:
            if isinstance(exc, NotYetVisible):
                raise Problem(503, "not-yet-visible", "Service Unavailable", f"{exc} not visible yet; retry shortly",
                              headers={"Retry-After": "1"}) from exc
            if isinstance(exc, grpc.aio.AioRpcError):
                raise Problem(503, "peer-unavailable", "Service Unavailable", "a peer service did not answer") from exc
            raise exc
        summary, reusable = answers
        return {"referral_id": referral_id, "patient": {
            "patient_id": summary.patient_id, "name": summary.name, "sex": summary.sex,
            "birth_date": summary.birth_date, "national_id_masked": summary.national_id_masked},
            "recognisable_results": [
                {"item_code": item.item_code, "result_id": x.result_id, "hospital_id": x.hospital_id,
                 "value": x.value, "unit": x.unit, "effective_at": x.effective_at.ToJsonString(),
                 "report_ref": x.report_ref} for item in reusable.items for x in item.recognised]}

    @r.get("/indicators", tags=["indicators"],
           summary="Referral rate against eligible cases (target 30%), down-referral share, time to acceptance, "
                   "expiries and the siphoning signal (administrators and regulators)")
    async def indicators(_: Overseer, since: BoundedDatetime | None = None) -> dict:
        async with runtime.engine.connect() as conn:
            found = await store.all_referrals(conn, since)
            stays = await store.discharged_encounters(conn, since)
            rules = (await store.load_rulebook(conn)).in_force(datetime.now(UTC))
        # Discharge data carries no severity: a discharged stay counts as stabilised ("stable"), and it is
        # eligible when any rule covers its principal diagnosis at some severity.
        eligible = sum(1 for s in stays if rules and any(rules.match(s.diagnosis_code, sev) for sev in Severity))
        result = referral_indicators(found, eligible)
        signal = siphoning_signal([Encounter(s.hospital_id, Level(s.level), s.diagnosis_code, Severity.STABLE,
                                             s.referred_down) for s in stays], rules) if rules else []
        return dataclasses.asdict(result) | {"siphoning": [dataclasses.asdict(x) for x in signal]}

    @r.post("/referrals/{referral_id}/{action}", tags=["referrals"],
            summary="Move a referral on: accept / reject (offered hospital), transfer / cancel (origin), "
                    "arrive / complete (receiving hospital)")
    async def act(referral_id: str, action: Action, principal: Hospital, body: ActionIn | None = None) -> dict:
        hospital, reason, now = principal.hospital_id or "", (body.reason if body else ""), datetime.now(UTC)

        def command(ref: Referral) -> None:
            allowed = {"accept": hospital in ref.offers, "reject": hospital in ref.offers,
                       "transfer": hospital == ref.origin_hospital, "cancel": hospital == ref.origin_hospital,
                       "arrive": hospital == ref.accepted_by, "complete": hospital == ref.accepted_by}[action]
            if not allowed:
                raise LookupError(referral_id)
            match action:
                case "accept":
                    ref.accept(hospital, now)
                case "reject":
                    ref.reject(hospital, reason or "no reason given", now)
                case "transfer":
                    ref.start_transfer(now)
                case "arrive":
                    ref.arrive(now)
                case "complete":
                    ref.complete(now)
                case "cancel":
                    ref.cancel(principal.subject, reason or "cancelled by the referring hospital", now)

        try:
            referral = await use_cases.transition(runtime.uow, referral_id, command)
        except LookupError as exc:
            raise not_found(f"referral {referral_id}") from exc
        except AlreadyAccepted as exc:
            raise Problem(409, "already-accepted", "Conflict", "another hospital accepted this referral first") from exc
        except ReferralError as exc:
            raise Problem(409, "illegal-transition", "Conflict", str(exc)) from exc
        except store.StaleReferral as exc:
            raise Problem(409, "concurrent-change", "Conflict", "the referral changed meanwhile; retry") from exc
        if referral is None:
            raise not_found(f"referral {referral_id}")
        return store.as_view(referral)

    return r
