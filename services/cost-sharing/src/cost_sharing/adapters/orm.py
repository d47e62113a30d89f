"""Tables of cost-sharing's own database."""

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from alliance_messaging import MessagingTables

metadata = MetaData()
messaging = MessagingTables(metadata)

# Read model of the facility registry (owned by data-exchange), kept from its events.
member_hospitals = Table(
    "member_hospitals",
    metadata,
    Column("hospital_id", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("level", Text, nullable=False),
    Column("region_code", Text, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("version", BigInteger, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# Discharged stays from data-exchange (EncounterDischarged): costs for settlement, DRG and indicators.
encounters = Table(
    "encounters",
    metadata,
    Column("encounter_id", Text, primary_key=True),
    Column("patient_id", Text, nullable=False),
    Column("hospital_id", Text, nullable=False),
    Column("patient_class", Text, nullable=False),
    Column("department", Text, nullable=False),
    Column("admitted_at", DateTime(timezone=True)),
    Column("discharged_at", DateTime(timezone=True), nullable=False),
    Column("los_days", Integer, nullable=False),
    Column("principal_dx", Text, nullable=False),
    Column("secondary_dx", ARRAY(Text), nullable=False),
    Column("procedures", ARRAY(Text), nullable=False),
    Column("total_fen", BigInteger, nullable=False),
    Column("drugs_fen", BigInteger, nullable=False),
    Column("consumables_fen", BigInteger, nullable=False),
    Column("period", Text, nullable=False),
    Index("ix_encounters_patient", "patient_id"),
    Index("ix_encounters_period", "period"),
)

# Completed referrals (ReferralCompleted); each episode encounter is settled once (ledger reference).
referral_episodes = Table(
    "referral_episodes",
    metadata,
    Column("referral_id", Text, primary_key=True),
    Column("patient_id", Text, nullable=False),
    Column("direction", Text, nullable=False),
    Column("origin_hospital", Text, nullable=False),
    Column("receiving_hospital", Text, nullable=False),
    Column("requested_at", DateTime(timezone=True), nullable=False),
    Column("completed_at", DateTime(timezone=True), nullable=False),
    Column("settled_fen", BigInteger, nullable=False, server_default="0"),
    Column("explanation", JSONB, nullable=False, server_default="[]"),
    Index("ix_referral_episodes_patient", "patient_id"),
)

# The ledger: append-only (a trigger refuses UPDATE/DELETE), hash-chained, one row per entry.
ledger_entries = Table(
    "ledger_entries",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("entry_id", Text, nullable=False, unique=True),
    Column("kind", Text, nullable=False),
    Column("reference", Text, nullable=False, unique=True),
    Column("period", Text, nullable=False),
    Column("legs", JSONB, nullable=False),
    Column("memo", Text, nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("posted_at", DateTime(timezone=True), nullable=False),
    Column("reverses", Text, unique=True),
    Column("prev_hash", Text, nullable=False),
    Column("hash", Text, nullable=False),
)

# One row per leg, for statements and balances (append-only like the entries).
ledger_postings = Table(
    "ledger_postings",
    metadata,
    Column("seq", BigInteger, ForeignKey("ledger_entries.seq"), primary_key=True),
    Column("leg_no", Integer, primary_key=True),
    Column("account", Text, nullable=False),
    Column("period", Text, nullable=False),
    Column("debit_fen", BigInteger, nullable=False),
    Column("credit_fen", BigInteger, nullable=False),
    Index("ix_ledger_postings_account_period", "account", "period"),
)

# The chain head, locked by every posting so entries are chained one after another.
ledger_head = Table(
    "ledger_head",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("hash", Text, nullable=False),
)

checkpoints = Table(
    "checkpoints",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("head_hash", Text, nullable=False),
    Column("entries", BigInteger, nullable=False),
    Column("signed_at", DateTime(timezone=True), nullable=False),
    Column("key_id", Text, nullable=False),
    Column("signature", Text, nullable=False),
    Column("public_key_pem", Text, nullable=False),
)

statements = Table(
    "statements",
    metadata,
    Column("statement_id", Text, primary_key=True),
    Column("account", Text, nullable=False),
    Column("hospital_id", Text),
    Column("period", Text, nullable=False),
    Column("through_seq", BigInteger, nullable=False),
    Column("body", JSONB, nullable=False),
    Column("issued_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("account", "period", "through_seq", name="uq_statements_account_period_seq"),
)

coefficient_formulas = Table(
    "coefficient_formulas",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("body", JSONB, nullable=False),
    Column("created_by", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

resource_inputs = Table(
    "resource_inputs",
    metadata,
    Column("period", Text, primary_key=True),
    Column("hospital_id", Text, primary_key=True),
    Column("metrics", JSONB, nullable=False),
)

cost_pools = Table(
    "cost_pools",
    metadata,
    Column("pool_id", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("period", Text, nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    Column("formula_version", Integer, nullable=False),
    Column("shares", JSONB, nullable=False),
    Column("coefficients", JSONB, nullable=False),
    Column("created_by", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

joint_services = Table(
    "joint_services",
    metadata,
    Column("service_id", Text, primary_key=True),
    Column("kind", Text, nullable=False),
    Column("period", Text, nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    Column("collected_by", Text, nullable=False),
    Column("shares", JSONB, nullable=False),
    Column("breakdown", JSONB, nullable=False),
    Column("created_by", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

drg_tables = Table(
    "drg_tables",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("effective_from", Date, nullable=False),
    Column("body", JSONB, nullable=False),
    Column("created_by", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

drg_cases = Table(
    "drg_cases",
    metadata,
    Column("case_id", Text, primary_key=True),
    Column("hospital_id", Text, nullable=False),
    Column("department", Text, nullable=False),
    Column("period", Text, nullable=False),
    Column("table_version", Integer, nullable=False),
    Column("drg", Text),
    Column("payment_fen", BigInteger, nullable=False),
    Column("total_cost_fen", BigInteger, nullable=False),
    Column("outlier", Text),
    Column("needs_two_approvals", Boolean, nullable=False),
    Column("approvals", ARRAY(Text), nullable=False, server_default="{}"),
    Column("grouping", JSONB, nullable=False),
    Column("grouped_at", DateTime(timezone=True), nullable=False),
    Index("ix_drg_cases_hospital_period", "hospital_id", "period"),
)

cost_warnings = Table(
    "cost_warnings",
    metadata,
    Column("warning_id", Text, primary_key=True),
    Column("hospital_id", Text, nullable=False),
    Column("period", Text, nullable=False),
    Column("indicator", Text, nullable=False),
    Column("level", Text, nullable=False),
    Column("value", Numeric(18, 6), nullable=False),
    Column("threshold", Numeric(18, 6), nullable=False),
    Column("message", Text, nullable=False),
    Column("state", Text, nullable=False),
    Column("raised_at", DateTime(timezone=True), nullable=False),
    Column("answer_due", DateTime(timezone=True), nullable=False),
    Column("cause", Text),
    Column("remedy", Text),
    Column("answered_by", Text),
    Column("answered_at", DateTime(timezone=True)),
    Column("answered_late", Boolean),
    Column("closed_by", Text),
    Column("closed_at", DateTime(timezone=True)),
    Column("note", Text),
    # an in-stay DRG warning names its stay, the department when known, and its stage
    Column("encounter_id", Text),
    Column("department", Text),
    Column("stage", Text),
    Index("uq_cost_warnings_once", "hospital_id", "period", "indicator", unique=True,
          postgresql_where=text("encounter_id IS NULL")),
    Index("uq_cost_warnings_stay_stage", "encounter_id", "stage", unique=True,
          postgresql_where=text("encounter_id IS NOT NULL")),
)

# Each inpatient stay followed from admission (in-stay DRG monitoring): its newest snapshot of coding and cost, the
# provisional DRG and standard, and when each threshold was crossed ({stage: ISO time}).
monitored_stays = Table(
    "monitored_stays",
    metadata,
    Column("encounter_id", Text, primary_key=True),
    Column("patient_id", Text, nullable=False),
    Column("hospital_id", Text, nullable=False),
    Column("department", Text, nullable=False, server_default=""),
    Column("admitted_at", DateTime(timezone=True)),
    Column("principal_dx", Text, nullable=False, server_default=""),
    Column("secondary_dx", ARRAY(Text), nullable=False, server_default="{}"),
    Column("procedures", ARRAY(Text), nullable=False, server_default="{}"),
    Column("cost_fen", BigInteger, nullable=False, server_default="0"),
    Column("as_of", DateTime(timezone=True)),
    Column("drg", Text),
    Column("table_version", Integer),
    Column("standard_cost_fen", BigInteger),
    Column("crossed", JSONB, nullable=False, server_default="{}"),
    Column("discharged_at", DateTime(timezone=True)),
    CheckConstraint("cost_fen >= 0", name="ck_monitored_stays_cost"),
    Index("ix_monitored_stays_hospital_open", "hospital_id", postgresql_where=text("discharged_at IS NULL")),
)

# An encounter's costs are settled once, by the first completed referral whose episode covers it.
settled_encounters = Table(
    "settled_encounters",
    metadata,
    Column("encounter_id", Text, primary_key=True),
    Column("referral_id", Text, nullable=False),
    Column("settled_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# Every reuse decision from results-mutual-recognition (reused or declined), for the recognition rate.
recognition_decisions = Table(
    "recognition_decisions",
    metadata,
    Column("decision_id", Text, primary_key=True),
    Column("requesting_hospital", Text, nullable=False),
    Column("issuing_hospital", Text, nullable=False),
    Column("outcome", Text, nullable=False),
    Column("saving_fen", BigInteger, nullable=False),
    Column("period", Text, nullable=False),
    Index("ix_recognition_decisions_period", "period"),
)

# Every analytics question (statistics without rows): who asked what, when, and how much of the answer was withheld.
analytics_queries = Table(
    "analytics_queries",
    metadata,
    Column("query_id", Text, primary_key=True),
    Column("subject", Text, nullable=False),
    Column("roles", ARRAY(Text), nullable=False),
    Column("question", JSONB, nullable=False),
    Column("min_count", Integer, nullable=False),
    Column("cells_returned", Integer, nullable=False),
    Column("cells_suppressed", Integer, nullable=False),
    Column("totals_suppressed", Integer, nullable=False),
    Column("asked_at", DateTime(timezone=True), nullable=False),
    Index("ix_analytics_queries_asked_at", "asked_at"),
)

# Months the service's clock has closed and evaluated (once each), with the growth basis used.
indicator_evaluations = Table(
    "indicator_evaluations",
    metadata,
    Column("period", Text, primary_key=True),
    Column("basis", Text, nullable=False),
    Column("compared_with", Text, nullable=False),
    Column("evaluated_at", DateTime(timezone=True), nullable=False),
)
