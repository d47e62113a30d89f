"""Tables of referral's own database."""

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

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
    Column("specialties", ARRAY(Text), nullable=False),
    Column("total_beds", Integer, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("version", BigInteger, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# Referral rules as versioned data; a decision records the version it used.
rule_versions = Table(
    "rule_versions",
    metadata,
    Column("version", Integer, primary_key=True),
    Column("effective_from", DateTime(timezone=True), nullable=False, unique=True),
    Column("rules", JSONB, nullable=False),
    Column("published_by", Text, nullable=False),
    Column("published_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

bed_status = Table(
    "bed_status",
    metadata,
    Column("hospital_id", Text, primary_key=True),
    Column("specialty", Text, primary_key=True),
    Column("available", Integer, nullable=False),
    Column("total", Integer, nullable=False),
    Column("reported_at", DateTime(timezone=True), nullable=False),
)

# One row per referral: key columns for queries, the aggregate's full state as JSON, and a version
# for optimistic locking (two concurrent accepts: one UPDATE ... WHERE version = n wins).
referrals = Table(
    "referrals",
    metadata,
    Column("referral_id", Text, primary_key=True),
    Column("patient_id", Text, nullable=False),
    Column("origin_hospital", Text, nullable=False),
    Column("accepted_by", Text),
    Column("offered_to", ARRAY(Text), nullable=False),
    Column("status", Text, nullable=False),
    Column("direction", Text, nullable=False),
    Column("deadline", DateTime(timezone=True), nullable=False),
    Column("escalated", Boolean, nullable=False),
    Column("version", BigInteger, nullable=False),
    Column("state", JSONB, nullable=False),
    Column("routing", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("referrals_open_deadline", "deadline", postgresql_where=text("status IN ('requested', 'offered')")),
)

# Discharged stays (from data-exchange's EncounterDischarged): the denominator of the referral rate and
# the input of the siphoning signal. Principal diagnosis only; no patient identity beyond the alliance id.
encounters = Table(
    "encounters",
    metadata,
    Column("encounter_id", Text, primary_key=True),
    Column("patient_id", Text, nullable=False),
    Column("hospital_id", Text, nullable=False),
    Column("diagnosis_code", Text, nullable=False),
    Column("discharged_at", DateTime(timezone=True), nullable=False),
)
