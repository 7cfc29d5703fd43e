"""The tariff catalog, rating rules and balance arithmetic of SPEC section 3.

Pure functions on columnar batches: no Kafka, Bytewax or ClickHouse here."""
