-- Revenue forecasts for finance (SPEC section 7), one row per run, series and day.
-- A run is written once; replaying it replaces its rows. Interval ends not asked for in
-- a run are NULL.
CREATE TABLE IF NOT EXISTS revguard.revenue_forecasts
(
    run_id     String,
    series     LowCardinality(String),          -- total, service=voice, plan=SMART10, ...
    date       Date,
    point      Decimal(18, 6),                  -- ex tax, catalog currency
    lower_80   Nullable(Decimal(18, 6)),
    upper_80   Nullable(Decimal(18, 6)),
    lower_95   Nullable(Decimal(18, 6)),
    upper_95   Nullable(Decimal(18, 6)),
    model      LowCardinality(String),
    created_at DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(created_at)
ORDER BY (run_id, series, date);
