"""Tables of data-exchange's own database."""

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Integer,
    MetaData,
    Table,
    Text,
    func,
)

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
