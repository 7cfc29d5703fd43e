"""Revenue and usage forecasts with intervals and backtests, for finance.

Reads the store through `clickhouse`."""
