"""Tables of results-mutual-recognition's own database."""

from sqlalchemy import BigInteger, Boolean, Column, DateTime, MetaData, Table, Text, func

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
