"""Tables of procurement's own database."""

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    Numeric,
    Table,
    Text,
    UniqueConstraint,
    func,
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
    Column("active", Boolean, nullable=False),
    Column("version", BigInteger, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# Unified regional material codes (one item, one code) and their alternate identifiers.
items = Table(
    "items",
    metadata,
    Column("code", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("specification", Text, nullable=False),
    Column("manufacturer", Text, nullable=False),
    Column("base_unit", Text, nullable=False),
    Column("insurance_code", Text),
    Column("udi_di", Text),
    Column("high_value", Boolean, nullable=False, server_default="false"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# A hospital's local item code mapped to a unified code.
local_mappings = Table(
    "local_mappings",
    metadata,
    Column("hospital_id", Text, primary_key=True),
    Column("local_code", Text, primary_key=True),
    Column("unified_code", Text, ForeignKey("items.code"), nullable=False),
    Column("local_name", Text, nullable=False, server_default=""),
    Column("udi_di", Text),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# CSV imports: all-or-nothing, with row errors and the rows processed.
import_jobs = Table(
    "import_jobs",
    metadata,
    Column("job_id", Text, primary_key=True),
    Column("kind", Text, nullable=False),
    Column("owner", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("rows_total", Integer, nullable=False),
    Column("rows_done", Integer, nullable=False),
    Column("errors", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# Reported purchases, normalised to the item's base unit at entry.
price_reports = Table(
    "price_reports",
    metadata,
    Column("report_id", Text, primary_key=True),
    Column("hospital_id", Text, nullable=False),
    Column("hospital_level", Text, nullable=False),
    Column("invoice_ref", Text),
    Column("item_code", Text, ForeignKey("items.code"), nullable=False),
    Column("local_code", Text),
    Column("pack_unit", Text, nullable=False),
    Column("units_per_pack", Numeric(18, 4), nullable=False),
    Column("pack_content_unit", Text, nullable=False),
    Column("quantity_packs", Numeric(18, 4), nullable=False),
    Column("pack_price", Numeric(18, 4), nullable=False),
    Column("base_unit", Text, nullable=False),
    Column("base_unit_price", Numeric(18, 4), nullable=False),
    Column("base_quantity", Numeric(18, 4), nullable=False),
    Column("total_fen", BigInteger, nullable=False),
    Column("supplier_id", Text, nullable=False),
    Column("purchased_on", Date, nullable=False),
    Column("period", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("hospital_id", "invoice_ref", name="uq_price_reports_invoice"),
    Index("ix_price_reports_item_period", "item_code", "period"),
)

# Outliers already announced (a constraint, not code, makes the event once per item/period/hospital).
price_outliers = Table(
    "price_outliers",
    metadata,
    Column("item_code", Text, primary_key=True),
    Column("period", Text, primary_key=True),
    Column("hospital_id", Text, primary_key=True),
    Column("score", Numeric(18, 4), nullable=False),
    Column("direction", Text, nullable=False),
    Column("detected_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

rounds = Table(
    "rounds",
    metadata,
    Column("round_id", Text, primary_key=True),
    Column("title", Text, nullable=False),
    Column("status", Text, nullable=False),              # open | awarded
    Column("deadline", DateTime(timezone=True), nullable=False),
    Column("max_suppliers", Integer, nullable=False),
    Column("supplier_share", Numeric(6, 4), nullable=False),
    Column("created_by", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("award", JSONB),
    Column("awarded_at", DateTime(timezone=True)),
)

round_items = Table(
    "round_items",
    metadata,
    Column("round_id", Text, ForeignKey("rounds.round_id"), primary_key=True),
    Column("item_code", Text, ForeignKey("items.code"), primary_key=True),
    Column("baseline_unit_price", Numeric(18, 4)),
)

commitments = Table(
    "commitments",
    metadata,
    Column("round_id", Text, primary_key=True),
    Column("item_code", Text, primary_key=True),
    Column("hospital_id", Text, primary_key=True),
    Column("quantity", BigInteger, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    ForeignKeyConstraint(["round_id", "item_code"], ["round_items.round_id", "round_items.item_code"]),
    CheckConstraint("quantity >= 0", name="ck_commitments_quantity"),
)

bids = Table(
    "bids",
    metadata,
    Column("bid_id", Text, primary_key=True),
    Column("round_id", Text, nullable=False),
    Column("item_code", Text, nullable=False),
    Column("supplier_id", Text, nullable=False),
    Column("semantics", Text, nullable=False),
    Column("tiers", JSONB, nullable=False),
    Column("capacity", BigInteger),
    Column("submitted_at", DateTime(timezone=True), nullable=False),
    ForeignKeyConstraint(["round_id", "item_code"], ["round_items.round_id", "round_items.item_code"]),
    UniqueConstraint("round_id", "item_code", "supplier_id", name="uq_bids_supplier_item"),
)

# An awarded supplier's agreed price for an item; prices over time live in contract_prices.
contracts = Table(
    "contracts",
    metadata,
    Column("contract_id", Text, primary_key=True),
    Column("round_id", Text, nullable=False),
    Column("item_code", Text, nullable=False),
    Column("supplier_id", Text, nullable=False),
    Column("base_unit", Text, nullable=False),
    Column("quantity", BigInteger, nullable=False),
    Column("supplier_share", Numeric(6, 4), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_contracts_item", "item_code"),
)

contract_prices = Table(
    "contract_prices",
    metadata,
    Column("contract_id", Text, ForeignKey("contracts.contract_id"), primary_key=True),
    Column("effective_from", Date, primary_key=True),
    Column("unit_price", Numeric(18, 4), nullable=False),
    Column("adjustment_id", Text),
)

# Each hospital's share of each contract (its commitment split across the awarded suppliers).
allocations = Table(
    "allocations",
    metadata,
    Column("contract_id", Text, ForeignKey("contracts.contract_id"), primary_key=True),
    Column("hospital_id", Text, primary_key=True),
    Column("quantity", BigInteger, nullable=False),
)

adjustments = Table(
    "adjustments",
    metadata,
    Column("adjustment_id", Text, primary_key=True),
    Column("contract_id", Text, ForeignKey("contracts.contract_id"), nullable=False),
    Column("status", Text, nullable=False),              # requested | approved | rejected
    Column("current_unit_price", Numeric(18, 4), nullable=False),
    Column("requested_unit_price", Numeric(18, 4), nullable=False),
    Column("index_reference", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("effective_from", Date, nullable=False),
    Column("requested_by", Text, nullable=False),
    Column("requested_at", DateTime(timezone=True), nullable=False),
    Column("decided_by", Text),
    Column("decided_at", DateTime(timezone=True)),
    Column("decision", JSONB),
)

overruns = Table(
    "overruns",
    metadata,
    Column("attribution_id", Text, primary_key=True),
    Column("contract_id", Text, ForeignKey("contracts.contract_id"), nullable=False),
    Column("hospital_id", Text, nullable=False),
    Column("cause", Text, nullable=False),
    Column("overrun_fen", BigInteger, nullable=False),
    Column("hospital_fen", BigInteger, nullable=False),
    Column("supplier_fen", BigInteger, nullable=False),
    Column("note", Text, nullable=False),
    Column("recorded_by", Text, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
)

# Idempotency-Keys: a key is bound to the hash of the first request that used it (method, path, canonical body)
# within a scope (the caller's hospital, or the alliance for administrators); request_hash is NULL for keys
# recorded before it was kept.
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("scope", Text, primary_key=True),
    Column("key", Text, primary_key=True),
    Column("request_hash", Text),
    Column("resource_id", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

orders = Table(
    "orders",
    metadata,
    Column("order_id", Text, primary_key=True),
    Column("hospital_id", Text, nullable=False),
    Column("supplier_id", Text, nullable=False),
    Column("idempotency_key", Text),
    Column("total_fen", BigInteger, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("hospital_id", "idempotency_key", name="uq_orders_idempotency"),
)

order_lines = Table(
    "order_lines",
    metadata,
    Column("order_id", Text, ForeignKey("orders.order_id"), primary_key=True),
    Column("line_no", Integer, primary_key=True),
    Column("item_code", Text, nullable=False),
    Column("contract_id", Text, ForeignKey("contracts.contract_id"), nullable=False),
    Column("quantity", BigInteger, nullable=False),
    Column("unit_price", Numeric(18, 4), nullable=False),
    Column("total_fen", BigInteger, nullable=False),
    Column("received", BigInteger, nullable=False, server_default="0"),
    CheckConstraint("received <= quantity", name="ck_order_lines_received"),
)

receipts = Table(
    "receipts",
    metadata,
    Column("receipt_id", Text, primary_key=True),
    Column("order_id", Text, nullable=False),
    Column("line_no", Integer, nullable=False),
    Column("quantity", BigInteger, nullable=False),
    Column("lot", Text),
    Column("udi", Text),
    Column("received_at", DateTime(timezone=True), nullable=False),
    ForeignKeyConstraint(["order_id", "line_no"], ["order_lines.order_id", "order_lines.line_no"]),
)
