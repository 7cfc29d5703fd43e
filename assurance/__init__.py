"""Revenue-assurance controls run in ClickHouse, their findings, and ML scoring.

Reads the store through `clickhouse`; never reaches into a running flow."""
