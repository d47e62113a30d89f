"""Tables of data-exchange's own database."""

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

from alliance_messaging import MessagingTables

metadata = MetaData()
messaging = MessagingTables(metadata)

hospitals = Table(
    "hospitals",
    metadata,
    Column("hospital_id", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("level", Text, nullable=False),
    Column("region_code", Text, nullable=False),
    Column("specialties", ARRAY(Text), nullable=False),
    Column("total_beds", Integer, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("interface_facility_codes", ARRAY(Text), nullable=False),
    Column("version", BigInteger, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# --- inbound messages (HL7 de-duplication by sending facility + control id, ACK replay) ---
inbound_messages = Table(
    "inbound_messages",
    metadata,
    Column("message_id", UUID(as_uuid=True), primary_key=True),
    Column("protocol", Text, nullable=False),                 # hl7v2 | fhir
    Column("sending_facility", Text, nullable=False),
    Column("control_id", Text, nullable=False),
    Column("hospital_id", Text),
    Column("message_type", Text, nullable=False),
    Column("status", Text, nullable=False),                   # accepted | rejected
    Column("ack", LargeBinary),
    Column("issues", JSONB, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("protocol", "sending_facility", "control_id", name="inbound_messages_once"),
)

# --- master patient index: no national id or phone in clear ---
patients = Table(
    "patients",
    metadata,
    Column("patient_id", Text, primary_key=True),
    Column("status", Text, nullable=False),                   # active | merged
    Column("merged_into", Text),
    Column("name", Text),
    Column("birth_date", Date),
    Column("sex", Text, nullable=False),
    Column("phone_hash", Text),
    Column("phone_masked", Text),
    Column("national_id_hash", Text, unique=True),
    Column("national_id_masked", Text),
    Column("insurance_hash", Text),
    Column("national_id_from", Text),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

patient_links = Table(
    "patient_links",
    metadata,
    Column("hospital_id", Text, primary_key=True),
    Column("mrn", Text, primary_key=True),
    Column("patient_id", Text, nullable=False, index=True),
    Column("decision", Text, nullable=False),
    Column("score", Float, nullable=False),
    Column("linked_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

patient_blocking_keys = Table(
    "patient_blocking_keys",
    metadata,
    Column("key", Text, primary_key=True),
    Column("patient_id", Text, primary_key=True),
)

match_reviews = Table(
    "match_reviews",
    metadata,
    Column("review_id", UUID(as_uuid=True), primary_key=True),
    Column("hospital_id", Text, nullable=False),
    Column("mrn", Text, nullable=False),
    Column("provisional_patient_id", Text, nullable=False),
    Column("candidates", JSONB, nullable=False),
    Column("reasons", JSONB, nullable=False),
    Column("status", Text, nullable=False),                   # open | resolved
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# --- code mapping ---
code_maps = Table(
    "code_maps",
    metadata,
    Column("hospital_id", Text, primary_key=True),
    Column("kind", Text, primary_key=True),                   # item | department | diagnosis | procedure | charge
    Column("local_code", Text, primary_key=True),
    Column("alliance_code", Text, nullable=False),
    Column("display", Text, nullable=False, server_default=""),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

unmapped_codes = Table(
    "unmapped_codes",
    metadata,
    Column("hospital_id", Text, primary_key=True),
    Column("kind", Text, primary_key=True),
    Column("local_code", Text, primary_key=True),
    Column("display", Text, nullable=False, server_default=""),
    Column("occurrences", BigInteger, nullable=False, server_default="1"),
    Column("first_seen", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("last_seen", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# --- normalised records; `held` ones wait for a code mapping and are re-published when it arrives ---
clinical_records = Table(
    "clinical_records",
    metadata,
    Column("record_id", Text, primary_key=True),              # "<hospital>/<kind>/<source key>"
    Column("hospital_id", Text, nullable=False),
    Column("kind", Text, nullable=False),                     # result | encounter | order | patient
    Column("patient_id", Text, nullable=False, index=True),
    Column("source", Text, nullable=False),                   # hl7v2 | fhir
    Column("status", Text, nullable=False),                   # published | held
    Column("body", JSONB, nullable=False),
    Column("unmapped", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

fhir_resources = Table(
    "fhir_resources",
    metadata,
    Column("resource_type", Text, primary_key=True),
    Column("id", Text, primary_key=True),
    Column("hospital_id", Text, nullable=False),
    Column("patient_id", Text, index=True),
    Column("version", Integer, nullable=False),
    Column("body", JSONB, nullable=False),
    Column("identifiers", ARRAY(Text), nullable=False),       # "system|value"
    Column("codes", ARRAY(Text), nullable=False),             # "system|code"
    Column("effective_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # resources the server derives from HL7 v2 records: the record (or visit) key they are built from
    Column("derived_from", Text, index=True),
    Index("fhir_resources_identifiers", "identifiers", postgresql_using="gin"),
    Index("fhir_resources_codes", "codes", postgresql_using="gin"),
)

# --- append-only audit of every read of patient data ---
audit_log = Table(
    "audit_log",
    metadata,
    Column("audit_id", BigInteger, Identity(always=True), primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("subject", Text, nullable=False),
    Column("hospital_id", Text),
    Column("roles", ARRAY(Text), nullable=False),
    Column("action", Text, nullable=False),
    Column("resource", Text, nullable=False),
    Column("patient_id", Text),
    Column("purpose", Text, nullable=False),
    Column("outcome", Text, nullable=False),
)

# --- administrator merges, remembered so that an unmerge restores exactly what moved ---
patient_merges = Table(
    "patient_merges",
    metadata,
    Column("survivor_id", Text, primary_key=True),
    Column("absorbed_id", Text, primary_key=True),
    Column("moved_links", JSONB, nullable=False),
    Column("national_id_moved", Boolean, nullable=False),
    Column("merged_by", Text, nullable=False),
    Column("merged_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# --- access granted by referrals: the receiving hospital may read the referred patient's data, for that
# episode (one row per referral), until it expires or is revoked (adapters/grants.py decides "active") ---
patient_access_grants = Table(
    "patient_access_grants",
    metadata,
    Column("hospital_id", Text, primary_key=True),
    Column("patient_id", Text, primary_key=True),
    Column("referral_id", Text, primary_key=True),
    Column("granted_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("origin_hospital", Text),                          # the referring hospital (may revoke with its MRN)
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
    Column("revoked_by", Text),
    Column("revoke_reason", Text),
    Index("patient_access_grants_referral", "referral_id"),
)
