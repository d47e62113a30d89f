"""HTTP API of cost-sharing: coefficients, pools, joint services, DRG, ledger, statements, netting, warnings.

Regulators read everything here and write nothing (no computation either); hospitals read what concerns their own
account (their coefficient row, statements, entries, cases, indicators, warnings and scorecard line); suppliers and
the QC centre see no settlement data. Each route declares its roles with one of the dependencies below.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field
from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from alliance.cost_sharing.v1 import settlement_pb2 as pb
from alliance_auth import Principal, Roles
from alliance_auth.fastapi import CurrentPrincipal, require_roles
from alliance_messaging import proto_time
from alliance_service import PastDatetime, Period, Problem, Runtime, not_found

from ..adapters import ledger_store
from ..adapters.orm import (
    checkpoints,
    coefficient_formulas,
    cost_pools,
    cost_warnings,
    drg_cases,
    drg_tables,
    encounters,
    joint_services,
    ledger_entries,
    ledger_postings,
    member_hospitals,
    recognition_decisions,
    referral_episodes,
    resource_inputs,
    statements,
)
from ..domain import drg
from ..domain.allocation import AllocationError, Party, allocate_pool, split_joint_revenue
from ..domain.coefficients import (
    DEFAULT_FORMULA,
    Formula,
    FormulaError,
    HospitalInputs,
    allocation_weights,
    compute_coefficients,
    validate_formula,
)
from ..domain.indicators import Visit, breaches, compute_indicators
from ..domain.ledger import EntryDraft, LedgerError, Leg, period_of, public_key_pem, reversal_of
from ..domain.scorecard import DEFAULT_TARGETS, balanced_scorecard, measure_for
from ..domain.warnings import CostWarning, WarningError, WarningState
from ..service import ledger as ledger_cases
from ..service.indicator_clock import raise_warnings
from ..service.settlement import case_of, grouping_json, table_in_force

Admin = Annotated[Principal, Depends(require_roles(Roles.ALLIANCE_ADMIN))]
Reader = Annotated[Principal, Depends(require_roles(Roles.ALLIANCE_ADMIN, Roles.REGULATOR))]
Hospital = Annotated[Principal, Depends(require_roles(Roles.HOSPITAL, scoped=True))]
Member = Annotated[Principal, Depends(require_roles(Roles.HOSPITAL, Roles.ALLIANCE_ADMIN, scoped=True))]
OwnOrAll = Annotated[Principal, Depends(require_roles(Roles.HOSPITAL, Roles.ALLIANCE_ADMIN, Roles.REGULATOR,
                                                      scoped=True))]
TOPIC = ledger_store.TOPIC
MAX_FEN = 10**15                     # 10 trillion yuan: any larger figure is an input error


class FormulaIn(BaseModel):
    level_factors: dict[str, Decimal] = Field(description='e.g. {"tertiary": 1.2, "secondary": 1.0, "primary": 0.8}')
    volume_weight: Decimal
    resource_weight: Decimal
    volume_metrics: dict[str, Decimal] = Field(description="referrals_handled, case_mix_volume → weight")
    resource_metrics: dict[str, Decimal] = Field(description="equipment_units, experts, beds_shared → weight")


class ResourcesIn(BaseModel):
    hospitals: dict[str, dict[str, Decimal]] = Field(description="hospital id → resource metric → amount")


class WhatIfIn(BaseModel):
    period: Period
    formula: FormulaIn


class PoolIn(BaseModel):
    pool_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
    name: str = Field(min_length=1, max_length=200, description="platform build, expert fees, procurement platform…")
    period: Period
    amount_fen: int = Field(gt=0, le=MAX_FEN)
    hospitals: list[str] | None = Field(None, description="participants (default: every active member)")


class PartyIn(BaseModel):
    hospital_id: str
    role: Literal["expert", "site"]
    resources: Decimal = Decimal(1)
    difficulty: Decimal = Decimal(1)
    satisfaction: Decimal = Decimal(1)


class JointServiceIn(BaseModel):
    service_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
    kind: Literal["remote_consultation", "joint_surgery"]
    amount_fen: int = Field(gt=0, le=MAX_FEN)
    collected_by: str = Field(description="the hospital that collected the revenue and pays the others their share")
    occurred_at: PastDatetime
    parties: list[PartyIn] = Field(min_length=2, max_length=10)


class ReverseIn(BaseModel):
    reason: str = Field(min_length=3, max_length=500)


class DrgTableIn(BaseModel):
    table: dict = Field(description="a rule table (see GET /v1/drg/tables/sample for the shape)")


class SimulateIn(BaseModel):
    draft: dict
    period: Period | None = None


class InStayIn(BaseModel):
    hospital_id: str
    department: str = "unknown"
    principal_dx: str
    secondary_dx: list[str] = []
    procedures: list[str] = []
    los_days: int = Field(0, ge=0, le=3650)
    accumulated_cost_fen: int = Field(ge=0, le=MAX_FEN)


class AnswerIn(BaseModel):
    cause: str = Field(min_length=1, max_length=2000)
    remedy: str = Field(min_length=1, max_length=2000)


class CloseIn(BaseModel):
    note: str = Field("", max_length=2000)


def _formula(body: FormulaIn, version: int) -> Formula:
    f = Formula(version, body.level_factors, body.volume_weight, body.resource_weight, body.volume_metrics,
                body.resource_metrics)
    try:
        validate_formula(f)
    except FormulaError as exc:
        raise Problem(422, "invalid-formula", "Unprocessable Content", exc.message, field=exc.field) from exc
    return f


def _formula_json(f: Formula) -> dict:
    return {"version": f.version, "level_factors": {k: str(v) for k, v in f.level_factors.items()},
            "volume_weight": str(f.volume_weight), "resource_weight": str(f.resource_weight),
            "volume_metrics": {k: str(v) for k, v in f.volume_metrics.items()},
            "resource_metrics": {k: str(v) for k, v in f.resource_metrics.items()}}


def _formula_from_json(body: dict) -> Formula:
    d = {k: (Decimal(v) if isinstance(v, str) else {m: Decimal(x) for m, x in v.items()})
         for k, v in body.items() if k != "version"}
    return Formula(body["version"], **d)


def _prev_period(period: str) -> str:
    year, month = map(int, period.split("-"))
    return f"{year - 1}-12" if month == 1 else f"{year}-{month - 1:02d}"


def _period_bounds(period: str) -> tuple[date, date]:
    year, month = map(int, period.split("-"))
    return date(year, month, 1), date(year + month // 12, month % 12 + 1, 1)


def router(runtime: Runtime) -> APIRouter:
    r = APIRouter(prefix="/v1")

    async def current_formula(conn) -> Formula:
        body = (await conn.execute(select(coefficient_formulas.c.body)
                                   .order_by(coefficient_formulas.c.version.desc()).limit(1))).scalar()
        return _formula_from_json(body) if body else DEFAULT_FORMULA

    async def inputs_for(conn, period: str, hospitals: list[str] | None = None) -> list[HospitalInputs]:
        members = (await conn.execute(select(member_hospitals.c.hospital_id, member_hospitals.c.level)
                                      .where(member_hospitals.c.active))).all()
        chosen = [(h, lvl) for h, lvl in members if hospitals is None or h in hospitals]
        if hospitals is not None and (missing := sorted(set(hospitals) - {h for h, _ in chosen})):
            raise Problem(422, "unknown-hospitals", "Unprocessable Content", "not active members",
                          hospitals=missing)
        start, end = _period_bounds(period)
        referrals = dict((await conn.execute(
            select(referral_episodes.c.receiving_hospital, func.count())
            .where(referral_episodes.c.completed_at >= start, referral_episodes.c.completed_at < end)
            .group_by(referral_episodes.c.receiving_hospital))).all())
        case_mix: dict[str, Decimal] = defaultdict(Decimal)
        for h, g in (await conn.execute(select(drg_cases.c.hospital_id, drg_cases.c.grouping)
                                        .where(drg_cases.c.period == period))).all():
            if g.get("relative_weight"):
                case_mix[h] += Decimal(g["relative_weight"])
        resources = dict((await conn.execute(select(resource_inputs.c.hospital_id, resource_inputs.c.metrics)
                                             .where(resource_inputs.c.period == period))).all())
        return [HospitalInputs(h, lvl, {"referrals_handled": Decimal(referrals.get(h, 0)),
                                        "case_mix_volume": case_mix.get(h, Decimal(0))},
                               {k: Decimal(str(v)) for k, v in resources.get(h, {}).items()})
                for h, lvl in sorted(chosen)]

    def coefficients_json(formula: Formula, cs) -> dict:
        return {"formula": _formula_json(formula),
                "coefficients": [{"hospital_id": c.hospital_id, "level_factor": str(c.level_factor),
                                  "volume_score": str(c.volume_score), "resource_score": str(c.resource_score),
                                  "raw": str(c.raw), "share": str(c.share), "breakdown": list(c.breakdown)}
                                 for c in cs]}

    def _compute(formula: Formula, inputs: list[HospitalInputs]):
        try:
            return compute_coefficients(formula, inputs)
        except FormulaError as exc:
            raise Problem(422, "invalid-formula", "Unprocessable Content", exc.message, field=exc.field) from exc

    # --- contribution coefficients ---------------------------------------------------------------

    @r.post("/coefficients/formulas", status_code=201, tags=["coefficients"],
            summary="Publish a new version of the coefficient formula")
    async def publish_formula(body: FormulaIn, principal: Admin) -> dict:
        async with runtime.engine.begin() as conn:
            version = ((await conn.execute(select(func.max(coefficient_formulas.c.version)))).scalar() or 1) + 1
            f = _formula(body, version)
            done = await conn.execute(pg_insert(coefficient_formulas).values(
                version=version, body=_formula_json(f), created_by=principal.subject)
                .on_conflict_do_nothing().returning(coefficient_formulas.c.version))
            if done.first() is None:
                raise Problem(409, "version-taken", "Conflict",
                              f"another formula was published as version {version} meanwhile; publish again")
        return _formula_json(f)

    @r.put("/coefficients/resources/{period}", tags=["coefficients"],
           summary="Resource input per hospital for a period (equipment, experts, beds shared)")
    async def put_resources(period: Period, body: ResourcesIn, _: Admin) -> dict:
        async with runtime.engine.begin() as conn:
            for h, metrics in body.hospitals.items():
                values = {k: str(v) for k, v in metrics.items()}
                await conn.execute(pg_insert(resource_inputs).values(period=period, hospital_id=h, metrics=values)
                                   .on_conflict_do_update(index_elements=["period", "hospital_id"],
                                                          set_={"metrics": values}))
        return {"period": period, "hospitals": len(body.hospitals)}

    @r.get("/coefficients", tags=["coefficients"],
           summary="Each hospital's contribution coefficient for a period, with its breakdown")
    async def coefficients(period: Period, principal: OwnOrAll) -> dict:
        async with runtime.engine.connect() as conn:
            formula = await current_formula(conn)
            out = coefficients_json(formula, _compute(formula, await inputs_for(conn, period)))
        if not principal.has_role(*Roles.CROSS_HOSPITAL):    # shares are computed alliance-wide, shown per hospital
            out["coefficients"] = [c for c in out["coefficients"] if c["hospital_id"] == principal.hospital_id]
        return out

    @r.post("/coefficients/what-if", tags=["coefficients"],
            summary="Coefficients under a draft formula; nothing is stored or posted")
    async def what_if(body: WhatIfIn, _: Admin) -> dict:
        async with runtime.engine.connect() as conn:
            formula = _formula(body.formula, (await current_formula(conn)).version + 1)   # the draft's number
            return coefficients_json(formula, _compute(formula, await inputs_for(conn, body.period)))

    # --- common costs and joint services ----------------------------------------------------------

    @r.post("/pools", status_code=201, tags=["allocation"],
            summary="Allocate a common-cost pool across hospitals by coefficient (largest remainder, exact)")
    async def allocate(body: PoolIn, principal: Admin) -> dict:
        uow = runtime.uow()
        async with uow:
            formula = await current_formula(uow.conn)
            cs = _compute(formula, await inputs_for(uow.conn, body.period, body.hospitals))
            if not cs:
                raise Problem(422, "no-participants", "Unprocessable Content", "no active member to allocate to")
            try:
                allocation = allocate_pool(body.pool_id, body.amount_fen, allocation_weights(cs))
            except AllocationError as exc:
                raise Problem(422, "invalid-allocation", "Unprocessable Content", exc.message) from exc
            done = await uow.conn.execute(pg_insert(cost_pools).values(
                pool_id=body.pool_id, name=body.name, period=body.period, amount_fen=body.amount_fen,
                formula_version=formula.version, shares=allocation.shares,
                coefficients=coefficients_json(formula, cs)["coefficients"], created_by=principal.subject)
                .on_conflict_do_nothing().returning(cost_pools.c.pool_id))
            if done.first() is None:
                raise Problem(409, "pool-exists", "Conflict", f"pool {body.pool_id} was already allocated")
            start, _ = _period_bounds(body.period)
            legs = tuple(Leg(f"hospital:{h}", debit_fen=fen) for h, fen in sorted(allocation.shares.items()) if fen)
            entry = await ledger_store.post_entry(uow, EntryDraft(
                kind="pool_allocation", reference=f"pool:{body.pool_id}", period=body.period,
                legs=(*legs, Leg(f"pool:{body.pool_id}", credit_fen=body.amount_fen)),
                memo=f"{body.name}: allocated by contribution coefficient (formula v{formula.version})",
                occurred_at=datetime.combine(start, datetime.min.time(), tzinfo=UTC)), datetime.now(UTC))
            await uow.commit()
        return {"pool_id": body.pool_id, "amount_fen": body.amount_fen, "shares": allocation.shares,
                "entry_id": entry.entry_id if entry else None, **coefficients_json(formula, cs)}

    @r.post("/joint-services", status_code=201, tags=["allocation"],
            summary="Split joint-service revenue by role, resources, difficulty and satisfaction (default 6:4)")
    async def joint_service(body: JointServiceIn, principal: Admin) -> dict:
        if body.collected_by not in {p.hospital_id for p in body.parties}:
            raise Problem(422, "collector-not-party", "Unprocessable Content",
                          "collected_by must be one of the parties", field="collected_by")
        try:
            shares, breakdown = split_joint_revenue(body.amount_fen, [
                Party(p.hospital_id, p.role, p.resources, p.difficulty, p.satisfaction) for p in body.parties])
        except (AllocationError, ValueError) as exc:
            raise Problem(422, "invalid-parties", "Unprocessable Content", str(exc)) from exc
        owed = {h: fen for h, fen in shares.items() if h != body.collected_by and fen}
        uow = runtime.uow()
        async with uow:
            done = await uow.conn.execute(pg_insert(joint_services).values(
                service_id=body.service_id, kind=body.kind, period=period_of(body.occurred_at),
                amount_fen=body.amount_fen, collected_by=body.collected_by, shares=shares,
                breakdown=list(breakdown), created_by=principal.subject)
                .on_conflict_do_nothing().returning(joint_services.c.service_id))
            if done.first() is None:
                raise Problem(409, "already-split", "Conflict", f"joint service {body.service_id} was already split")
            entry = None
            if owed:
                entry = await ledger_store.post_entry(uow, EntryDraft(
                    kind="joint_revenue", reference=f"joint:{body.service_id}", period=period_of(body.occurred_at),
                    legs=(Leg(f"hospital:{body.collected_by}", debit_fen=sum(owed.values())),
                          *(Leg(f"hospital:{h}", credit_fen=fen) for h, fen in sorted(owed.items()))),
                    memo=f"{body.kind} {body.service_id}: revenue {body.amount_fen} fen split", 
                    occurred_at=body.occurred_at), datetime.now(UTC))
            await uow.commit()
        return {"service_id": body.service_id, "shares": shares, "breakdown": list(breakdown),
                "entry_id": entry.entry_id if entry else None}

    # --- ledger -----------------------------------------------------------------------------------

    @r.get("/ledger/entries", tags=["ledger"], summary="Ledger entries in chain order (hospitals: their own)")
    async def entries(principal: OwnOrAll, after_seq: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
                      limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> list[dict]:
        q = select(ledger_entries).where(ledger_entries.c.seq > after_seq).order_by(ledger_entries.c.seq).limit(limit)
        if not principal.has_role(*Roles.CROSS_HOSPITAL):   # a hospital reads the entries touching its account
            q = q.where(ledger_entries.c.seq.in_(select(ledger_postings.c.seq).where(
                ledger_postings.c.account == f"hospital:{principal.hospital_id}")))
        async with runtime.engine.connect() as conn:
            rows = (await conn.execute(q)).all()
        return [ledger_store.entry_json(ledger_store.row_to_entry(r)) for r in rows]

    @r.get("/ledger/verify", tags=["ledger"],
           summary="Recompute the hash chain and check the signed checkpoints; names the first broken link")
    async def verify(_: Reader) -> dict:
        async with runtime.engine.connect() as conn:   # one snapshot: posting meanwhile raises no false alarm
            await conn.execution_options(isolation_level="REPEATABLE READ")
            result = await ledger_cases.verify(conn, runtime.extras["ledger_keys"])
        if (counter := runtime.extras.get("ledger_verifications")) is not None:
            counter.add(1, {"result": "ok" if result["ok"] else "failed"})
        return result

    @r.get("/ledger/keys", tags=["ledger"],
           summary="The pinned checkpoint public keys (by key id) verification uses; compare with the announced ones")
    async def pinned_keys(_: Reader) -> list[dict]:
        ring = runtime.extras["ledger_keys"]
        return [{"key_id": key_id, "public_key_pem": public_key_pem(ring[key_id])} for key_id in sorted(ring)]

    @r.get("/ledger/checkpoints", tags=["ledger"], summary="Signed checkpoints of the chain head")
    async def list_checkpoints(_: Reader) -> list[dict]:
        async with runtime.engine.connect() as conn:
            rows = (await conn.execute(select(checkpoints).order_by(checkpoints.c.seq.desc()).limit(100))).all()
        return [{"seq": c.seq, "head_hash": c.head_hash, "entries": c.entries, "signed_at": c.signed_at.isoformat(),
                 "key_id": c.key_id, "signature": c.signature, "public_key_pem": c.public_key_pem} for c in rows]

    @r.post("/ledger/entries/{entry_id}/reverse", status_code=201, tags=["ledger"],
            summary="Correct an entry by posting its reversal (entries are never changed)")
    async def reverse(entry_id: str, body: ReverseIn, _: Admin) -> dict:
        uow = runtime.uow()
        async with uow:
            original = await ledger_store.get_entry(uow.conn, entry_id)
            if original is None:
                raise not_found("entry")
            now = datetime.now(UTC)
            try:
                draft = reversal_of(original, body.reason, now)
            except LedgerError as exc:
                raise Problem(422, "cannot-reverse", "Unprocessable Content", exc.message) from exc
            entry = await ledger_store.post_entry(uow, draft, now, reverses=entry_id)
            if entry is None:
                raise Problem(409, "already-reversed", "Conflict", f"entry {entry_id} was already reversed")
            await uow.commit()
        return ledger_store.entry_json(entry)

    @r.get("/balances", tags=["ledger"], summary="Balances per account (credits − debits), optionally per period")
    async def get_balances(_: Reader, period: Period | None = None) -> dict:
        async with runtime.engine.connect() as conn:
            return await ledger_cases.balances(conn, period)

    @r.get("/netting/{period}", tags=["ledger"],
           summary="Multilateral netting: the fewest transfers that settle every balance of the period")
    async def netting(period: Period, _: Reader) -> dict:
        async with runtime.engine.connect() as conn:
            return await ledger_cases.netting(conn, period)

    @r.post("/netting/{period}", status_code=201, tags=["ledger"],
            summary="Compute the period's netting and publish it on the settlement feed")
    async def publish_netting(period: Period, _: Admin) -> dict:
        uow = runtime.uow()
        async with uow:
            result = await ledger_cases.netting(uow.conn, period)
            head = await ledger_store.head(uow.conn)
            uow.publish(TOPIC, ledger_store.LEDGER_KEY, pb.NettingComputed(
                period=period, gross_fen=result["gross_fen"], net_fen=result["net_fen"], through_seq=head.seq,
                occurred_at=proto_time(datetime.now(UTC)),
                transfers=[pb.Transfer(**t) for t in result["transfers"]]))
            await uow.commit()
        return result | {"through_seq": head.seq}

    @r.get("/statements", tags=["statements"],
           summary="Issued statements (latest per hospital and period); hospitals see their own")
    async def list_statements(principal: OwnOrAll, period: Period | None = None,
                              hospital_id: str | None = None) -> list[dict]:
        if not principal.has_role(*Roles.CROSS_HOSPITAL):
            hospital_id = principal.hospital_id or "-"
        latest = (select(statements.c.account, statements.c.period, func.max(statements.c.through_seq).label("seq"))
                  .group_by(statements.c.account, statements.c.period).subquery())
        q = (select(statements).join(latest, (latest.c.account == statements.c.account)
                                     & (latest.c.period == statements.c.period)
                                     & (latest.c.seq == statements.c.through_seq))
             .order_by(statements.c.period, statements.c.hospital_id))
        if period:
            q = q.where(statements.c.period == period)
        if hospital_id:
            q = q.where(statements.c.hospital_id == hospital_id)
        async with runtime.engine.connect() as conn:
            rows = (await conn.execute(q)).all()
        return [{"statement_id": s.statement_id, "hospital_id": s.hospital_id, "issued_at": s.issued_at.isoformat(),
                 **s.body} for s in rows]

    # --- DRG --------------------------------------------------------------------------------------

    def _table(body: dict) -> drg.RuleTable:
        try:
            return drg.load_rule_table(body)
        except drg.RuleTableError as exc:
            raise Problem(422, "invalid-rule-table", "Unprocessable Content", exc.message, field=exc.field) from exc

    @r.get("/drg/tables/sample", tags=["DRG"], summary="The shipped SAMPLE rule table (illustrative only)")
    async def sample_table(_: CurrentPrincipal) -> dict:
        return drg.dump_rule_table(drg.load_sample_table())

    @r.post("/drg/tables", status_code=201, tags=["DRG"],
            summary="Publish a DRG rule table version (effective-dated, immutable)")
    async def publish_table(body: DrgTableIn, principal: Admin) -> dict:
        table = _table(body.table)
        async with runtime.engine.begin() as conn:
            done = await conn.execute(pg_insert(drg_tables).values(
                version=table.version, effective_from=table.effective_from, body=drg.dump_rule_table(table),
                created_by=principal.subject).on_conflict_do_nothing().returning(drg_tables.c.version))
            if done.first() is None:
                raise Problem(409, "version-exists", "Conflict", f"rule table version {table.version} exists")
        return {"version": table.version, "effective_from": table.effective_from.isoformat(), "label": table.label}

    @r.get("/drg/cases", tags=["DRG"], summary="Grouped cases with their reasoning path (hospitals: their own)")
    async def cases(principal: OwnOrAll, period: Period | None = None,
                    limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> list[dict]:
        q = select(drg_cases).order_by(drg_cases.c.grouped_at.desc()).limit(limit)
        if period:
            q = q.where(drg_cases.c.period == period)
        if not principal.has_role(*Roles.CROSS_HOSPITAL):
            q = q.where(drg_cases.c.hospital_id == principal.hospital_id)
        async with runtime.engine.connect() as conn:
            rows = (await conn.execute(q)).all()
        return [{"case_id": c.case_id, "hospital_id": c.hospital_id, "department": c.department, "period": c.period,
                 "drg": c.drg, "payment_fen": c.payment_fen, "total_cost_fen": c.total_cost_fen, "outlier": c.outlier,
                 "needs_two_approvals": c.needs_two_approvals, "approvals": list(c.approvals),
                 "approved": drg.is_approved(tuple(c.approvals)) if c.needs_two_approvals else None,
                 "grouping": c.grouping} for c in rows]

    @r.post("/drg/cases/{case_id:path}/approve", tags=["DRG"],
            summary="Approve a case above 130% of its standard (two different administrators are needed)")
    async def approve(case_id: str, principal: Admin) -> dict:
        async with runtime.engine.begin() as conn:
            c = (await conn.execute(select(drg_cases).where(drg_cases.c.case_id == case_id)
                                    .with_for_update())).first()
            if c is None:
                raise not_found("case")
            if not c.needs_two_approvals:
                raise Problem(409, "no-approval-needed", "Conflict", "this case is within 130% of its standard")
            try:
                approvals = drg.add_approval(tuple(c.approvals), principal.subject)
            except drg.ApprovalError as exc:
                raise Problem(409, "already-approved-by-you", "Conflict", exc.message) from exc
            await conn.execute(update(drg_cases).where(drg_cases.c.case_id == case_id)
                               .values(approvals=list(approvals)))
        return {"case_id": case_id, "approvals": list(approvals), "approved": drg.is_approved(approvals)}

    @r.post("/drg/in-stay", tags=["DRG"],
            summary="During a stay: group the case so far and say ok / warning (80%) / intervention (110%)")
    async def in_stay(body: InStayIn, principal: Member) -> dict:
        if not principal.can_see_hospital(body.hospital_id):
            raise not_found("hospital")
        async with runtime.engine.connect() as conn:
            table = await table_in_force(conn, datetime.now(UTC).date())
        if table is None:
            raise Problem(409, "no-rule-table", "Conflict", "no DRG rule table is in force")
        try:
            g = drg.group_case(table, drg.Case("in-stay", body.hospital_id, body.department, "default",
                                               body.principal_dx, tuple(body.secondary_dx), tuple(body.procedures),
                                               body.los_days, body.accumulated_cost_fen))
        except drg.CaseError as exc:
            raise Problem(422, "invalid-case", "Unprocessable Content", exc.message, field=exc.field) from exc
        status = (drg.in_stay_status(body.accumulated_cost_fen, g.standard_cost_fen)
                  if g.standard_cost_fen else None)
        return {"status": status, "drg": g.drg, "standard_cost_fen": g.standard_cost_fen,
                "grouping": grouping_json(g)}

    @r.post("/drg/simulate", tags=["DRG"],
            summary="Replay past cases under a draft rule table: change in payment per hospital and department")
    async def simulate(body: SimulateIn, _: Admin) -> dict:
        draft = _table(body.draft)
        async with runtime.engine.connect() as conn:
            current = await table_in_force(conn, datetime.now(UTC).date())
            if current is None:
                raise Problem(409, "no-rule-table", "Conflict", "no DRG rule table is in force to compare with")
            q = select(encounters).where(encounters.c.patient_class == "I", encounters.c.principal_dx != "")
            if body.period:
                q = q.where(encounters.c.period == body.period)
            rows = (await conn.execute(q.order_by(encounters.c.encounter_id).limit(100_000))).mappings().all()
        try:
            sim = drg.simulate([case_of(r) for r in rows], current, draft)
        except drg.CaseError as exc:
            raise Problem(422, "invalid-case", "Unprocessable Content", exc.message, field=exc.field) from exc
        return {"current_version": current.version, "draft_version": draft.version, "cases": len(rows),
                "total_current_fen": sim.total_current_fen, "total_draft_fen": sim.total_draft_fen,
                "rows": [dataclasses.asdict(x) for x in sim.rows],
                "changed_cases": [{"case_id": c[0], "before": c[1], "after": c[2], "delta_fen": c[3]}
                                  for c in sim.changed_cases[:500]]}

    # --- indicators, warnings, scorecard ----------------------------------------------------------

    async def indicators_for(conn, period: str, patient_class: str = "O"):
        """Per-visit figures of one patient class (outpatient visits by default; inpatient costs per case apart)."""
        # the region is the prefecture (first 4 digits of the administrative division code), e.g. 3301 Hangzhou
        regions = {h: (code or "")[:4] for h, code in (await conn.execute(
            select(member_hospitals.c.hospital_id, member_hospitals.c.region_code))).all()}
        rows = (await conn.execute(select(encounters).where(
            encounters.c.period.in_([period, _prev_period(period)])))).all()
        visits = [Visit(r.hospital_id, regions.get(r.hospital_id) or "unassigned", r.period, r.patient_class, r.total_fen,
                        r.drugs_fen, r.consumables_fen) for r in rows]
        return compute_indicators(visits, period, _prev_period(period), patient_class=patient_class)

    def visible(principal: Principal, hospital_id: str) -> bool:
        return principal.has_role(*Roles.CROSS_HOSPITAL) or principal.hospital_id == hospital_id

    @r.get("/indicators", tags=["indicators"],
           summary="Per-visit cost and growth, drug and consumable shares, cost index vs the regional average "
                   "(outpatient visits by default; patient_class=I for inpatient cost per case)")
    async def indicators(period: Period, principal: OwnOrAll,
                         patient_class: Literal["O", "I", "E"] = "O") -> list[dict]:
        async with runtime.engine.connect() as conn:
            out = await indicators_for(conn, period, patient_class)
        return [{k: (str(v) if isinstance(v, Decimal) else v) for k, v in dataclasses.asdict(i).items()}
                for i in out if visible(principal, i.hospital_id)]

    @r.post("/indicators/{period}/evaluate", tags=["warnings"],
            summary="Raise warnings for breaches of outpatient per-visit cost (growth > 8% yellow, > 10% red; "
                    "cost index outside 0.8–1.2)")
    async def evaluate(period: Period, _: Admin) -> dict:
        now = datetime.now(UTC)
        uow = runtime.uow()
        async with uow:
            raised = await raise_warnings(uow, breaches(await indicators_for(uow.conn, period)), now)
            await uow.commit()
        return {"period": period, "raised": raised}

    def warning_json(w) -> dict:
        return {k: (v.isoformat() if isinstance(v, datetime) else str(v) if isinstance(v, Decimal) else v)
                for k, v in w._mapping.items()} | {"overdue": w.state == "raised" and datetime.now(UTC) > w.answer_due}

    @r.get("/warnings", tags=["warnings"], summary="The warnings board (hospitals: their own)")
    async def list_warnings(principal: OwnOrAll, state: WarningState | None = None) -> list[dict]:
        q = select(cost_warnings).order_by(cost_warnings.c.raised_at.desc())
        if state:
            q = q.where(cost_warnings.c.state == state.value)
        if not principal.has_role(*Roles.CROSS_HOSPITAL):
            q = q.where(cost_warnings.c.hospital_id == principal.hospital_id)
        async with runtime.engine.connect() as conn:
            return [warning_json(w) for w in (await conn.execute(q)).all()]

    async def load_warning(conn, warning_id: str) -> CostWarning:
        w = (await conn.execute(select(cost_warnings).where(cost_warnings.c.warning_id == warning_id)
                                .with_for_update())).first()
        if w is None:
            raise not_found("warning")
        return CostWarning.from_row(dict(w._mapping))

    @r.post("/warnings/{warning_id}/answer", tags=["warnings"],
            summary="The warned hospital answers with a cause and a remedy (due in 3 working days)")
    async def answer(warning_id: str, body: AnswerIn, principal: Hospital) -> dict:
        now = datetime.now(UTC)
        uow = runtime.uow()
        async with uow:
            w = await load_warning(uow.conn, warning_id)
            if w.hospital_id != principal.hospital_id:
                raise not_found("warning")
            try:
                w.answer(principal.hospital_id, body.cause, body.remedy, now)
            except WarningError as exc:
                raise Problem(409, "cannot-answer", "Conflict", exc.message) from exc
            await uow.conn.execute(update(cost_warnings).where(cost_warnings.c.warning_id == warning_id).values(
                state=w.state.value, cause=w.cause, remedy=w.remedy, answered_by=principal.subject,
                answered_at=now, answered_late=w.answered_late))
            uow.publish(TOPIC, w.hospital_id, pb.WarningAnswered(warning_id=warning_id, hospital_id=w.hospital_id,
                                                                 late=bool(w.answered_late),
                                                                 occurred_at=proto_time(now)))
            await uow.commit()
        return {"warning_id": warning_id, "state": w.state.value, "late": bool(w.answered_late)}

    @r.post("/warnings/{warning_id}/close", tags=["warnings"], summary="Close an answered warning (administrators)")
    async def close(warning_id: str, body: CloseIn, principal: Admin) -> dict:
        now = datetime.now(UTC)
        uow = runtime.uow()
        async with uow:
            w = await load_warning(uow.conn, warning_id)
            try:
                w.close(principal.subject, now, body.note)
            except WarningError as exc:
                raise Problem(409, "cannot-close", "Conflict", exc.message) from exc
            await uow.conn.execute(update(cost_warnings).where(cost_warnings.c.warning_id == warning_id).values(
                state=w.state.value, closed_by=principal.subject, closed_at=now, note=body.note))
            uow.publish(TOPIC, w.hospital_id, pb.WarningClosed(warning_id=warning_id, hospital_id=w.hospital_id,
                                                               closed_by=principal.subject,
                                                               occurred_at=proto_time(now)))
            await uow.commit()
        return {"warning_id": warning_id, "state": w.state.value}

    @r.get("/scorecard", tags=["indicators"],
           summary="Balanced scorecard of the indicators available (financial 30%, patient 25%, process 30%, "
                   "learning 15%)")
    async def scorecard(period: Period, principal: OwnOrAll, hospital_id: str | None = None) -> dict:
        if hospital_id and not visible(principal, hospital_id):
            raise not_found("hospital")
        if not principal.has_role(*Roles.CROSS_HOSPITAL):    # a hospital's own line, never the alliance's
            hospital_id = principal.hospital_id or "-"
        q = select(cost_warnings).where(cost_warnings.c.period == period)
        decided = select(recognition_decisions.c.outcome, func.count()).where(
            recognition_decisions.c.period == period).group_by(recognition_decisions.c.outcome)
        joint = select(func.count()).select_from(joint_services).where(joint_services.c.period == period)
        if hospital_id:
            q = q.where(cost_warnings.c.hospital_id == hospital_id)
            decided = decided.where(recognition_decisions.c.requesting_hospital == hospital_id)
            joint = joint.where(joint_services.c.shares.has_key(hospital_id))
        # settlement cycle: from a referral's completion to its settlement entry, in days
        cycle = (select(func.avg(func.extract("epoch", ledger_entries.c.posted_at - referral_episodes.c.completed_at)))
                 .select_from(ledger_entries.join(referral_episodes, ledger_entries.c.reference.like(
                     func.concat("referral:", referral_episodes.c.referral_id, ":%"))))
                 .where(ledger_entries.c.period == period))
        if hospital_id:
            cycle = cycle.where((referral_episodes.c.origin_hospital == hospital_id)
                                | (referral_episodes.c.receiving_hospital == hospital_id))
        async with runtime.engine.connect() as conn:
            inds = [i for i in await indicators_for(conn, period) if hospital_id is None or i.hospital_id == hospital_id]
            ws = (await conn.execute(q)).all()
            outcomes = dict((await conn.execute(decided)).all())
            seconds = (await conn.execute(cycle)).scalar()
            joint_count = (await conn.execute(joint)).scalar() or 0
        total_visits = sum(i.visits for i in inds)
        values: dict[str, Decimal | None] = {}
        if total_visits:
            values["drug_share"] = sum((i.drug_share * i.visits for i in inds), Decimal(0)) / total_visits
            values["consumable_share"] = sum((i.consumable_share * i.visits for i in inds), Decimal(0)) / total_visits
            growths = [i.growth for i in inds if i.growth is not None]
            values["cost_growth"] = sum(growths, Decimal(0)) / len(growths) if growths else None
            idx = [i.cost_index for i in inds if i.cost_index is not None]
            values["cost_index"] = sum(idx, Decimal(0)) / len(idx) if idx else None
        if outcomes:
            values["recognition_rate"] = Decimal(outcomes.get("reused", 0)) / sum(outcomes.values())
        if seconds is not None:
            values["settlement_cycle_days"] = (Decimal(str(seconds)) / 86400).quantize(Decimal("0.0001"))
        values["joint_services"] = Decimal(joint_count)
        if ws:
            values["warning_answer_on_time"] = Decimal(sum(1 for w in ws if w.answered_at is not None
                                                           and not w.answered_late)) / len(ws)
        measures = [measure_for(key, values.get(key)) for key in DEFAULT_TARGETS]
        card = balanced_scorecard(measures)
        return {"period": period, "hospital_id": hospital_id, **_jsonify(dataclasses.asdict(card))}

    return r


def _jsonify(value):
    if isinstance(value, dict):
        return {k: _jsonify(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonify(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    return value
