"""The tariff catalog, rating rules and balance arithmetic of SPEC section 3.

Pure functions on columnar batches: no Kafka, Bytewax or ClickHouse here."""

from rating.catalog import Catalog, CatalogError, Plan, load_catalog
from rating.engine import ALERT_SCHEMA, BALANCE_SCHEMA, RATED_COLUMNS, RatedBatch, Reference, rate_batch
from rating.records import (
    ADJUSTMENT_SCHEMA,
    NETWORK_SCHEMA,
    PROVISIONING_SCHEMA,
    SUBSCRIBER_SCHEMA,
    ParsedBatch,
    ReferenceDataError,
    Subscriber,
    Subscribers,
    load_subscribers,
    parse_adjustment_lines,
    parse_network_lines,
)
from rating.state import RatingState

__all__ = [
    "ADJUSTMENT_SCHEMA", "ALERT_SCHEMA", "BALANCE_SCHEMA", "NETWORK_SCHEMA", "PROVISIONING_SCHEMA",
    "RATED_COLUMNS", "SUBSCRIBER_SCHEMA",
    "Catalog", "CatalogError", "ParsedBatch", "Plan", "RatedBatch", "RatingState", "Reference",
    "ReferenceDataError", "Subscriber", "Subscribers", "load_catalog", "load_subscribers",
    "parse_adjustment_lines", "parse_network_lines", "rate_batch",
]
