"""Tables of results-mutual-recognition's own database."""

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Identity,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    false,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

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
    Column("active", Boolean, nullable=False),
    Column("version", BigInteger, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# Catalog versions: immutable once published; a decision uses the version in force at the time.
catalog_versions = Table(
    "catalog_versions",
    metadata,
    Column("version", Integer, primary_key=True),
    Column("effective_from", DateTime(timezone=True), nullable=False, unique=True),
    Column("items", JSONB, nullable=False),
    Column("published_by", Text, nullable=False),
    Column("published_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

qc_periods = Table(
    "qc_periods",
    metadata,
    Column("period_id", BigInteger, Identity(always=True), primary_key=True),
    Column("lab_id", Text, nullable=False),
    Column("item_code", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("effective_from", DateTime(timezone=True), nullable=False),
    Column("effective_to", DateTime(timezone=True)),
    Column("reference", Text, nullable=False),
    Column("recorded_by", Text, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("qc_periods_lab_item", "lab_id", "item_code", "effective_from"),
)

# Pointers and summaries of results (from data-exchange's ResultRecorded), not copies of reports.
result_index = Table(
    "result_index",
    metadata,
    Column("result_id", Text, primary_key=True),
    Column("patient_id", Text, nullable=False),
    Column("item_code", Text, nullable=False),
    Column("hospital_id", Text, nullable=False),
    Column("lab_id", Text, nullable=False),
    Column("value", Text, nullable=False),
    Column("unit", Text, nullable=False),
    Column("effective_at", DateTime(timezone=True), nullable=False),
    Column("report_ref", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("mrn", Text),                                      # the issuing hospital's MRN, when the event said
    # An unmerge could not tell whose result this is: it is never offered for recognition.
    Column("withheld", Boolean, nullable=False, server_default=false()),
    Index("result_index_patient_item", "patient_id", "item_code", "effective_at"),
)

# Which hospital treats which alliance patient (PatientLinked; ReferralAccepted until it ends): who may ask about whom.
patient_relations = Table(
    "patient_relations",
    metadata,
    Column("hospital_id", Text, primary_key=True),
    Column("patient_id", Text, primary_key=True),
    Column("via_merge_of", Text),             # copied from this absorbed patient by a merge; None: the patient's own
    # Opened by an accepted referral (None: the hospital's own MRN): bounded like data-exchange's grant.
    Column("referral_id", Text),
    Column("expires_at", DateTime(timezone=True)),
    Column("revoked_at", DateTime(timezone=True)),
    Index("patient_relations_referral", "referral_id"),
)

# Merges as this service applied them (from PatientsMerged/PatientsUnmerged), so an unmerge undoes exactly
# what its merge did here, and late events for an absorbed patient follow it to the survivor.
patient_merges = Table(
    "patient_merges",
    metadata,
    Column("merge_id", BigInteger, Identity(always=True), primary_key=True),
    Column("survivor_id", Text, nullable=False),
    Column("absorbed_id", Text, nullable=False),
    Column("merged_at", DateTime(timezone=True)),             # None: merged before merges were tracked here
    Column("unmerged_at", DateTime(timezone=True)),           # None while the merge stands
    Index("patient_merges_absorbed", "absorbed_id", "unmerged_at"),
    Index("patient_merges_survivor", "survivor_id", "unmerged_at"),
)

# Results a standing merge concerns: moved from the absorbed patient, or recorded for the survivor meanwhile.
merge_results = Table(
    "merge_results",
    metadata,
    Column("merge_id", BigInteger, primary_key=True),
    Column("result_id", Text, primary_key=True),
    Column("provenance", Text, nullable=False),               # moved | arrived
)

prices = Table(
    "prices",
    metadata,
    Column("hospital_id", Text, primary_key=True),
    Column("item_code", Text, primary_key=True),
    Column("effective_from", DateTime(timezone=True), primary_key=True),
    Column("price_fen", BigInteger, nullable=False),
)

checks = Table(
    "recognition_checks",
    metadata,
    Column("check_id", UUID(as_uuid=True), primary_key=True),
    Column("requesting_hospital", Text, nullable=False),
    Column("subject", Text, nullable=False),
    Column("patient_id", Text, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("outcome", Text, nullable=False),                  # answered | denied
    Column("items", JSONB, nullable=False),                   # [{item_code, reason, recognised: [result ids]}]
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

decisions = Table(
    "recognition_decisions",
    metadata,
    Column("decision_id", UUID(as_uuid=True), primary_key=True),
    Column("check_id", UUID(as_uuid=True), nullable=False),
    Column("item_code", Text, nullable=False),
    Column("requesting_hospital", Text, nullable=False),
    Column("patient_id", Text, nullable=False),
    Column("outcome", Text, nullable=False),
    Column("result_id", Text),
    Column("issuing_hospital", Text),
    Column("saving_fen", BigInteger, nullable=False),
    Column("price_missing", Boolean, nullable=False),
    Column("decline_reason", Text),
    Column("decline_text", Text),
    Column("at", DateTime(timezone=True), nullable=False),
    Index("recognition_decisions_once", "check_id", "item_code", unique=True),
)
