-- Anomalies found by the models (SPEC section 7), one row per event. anomaly_id is derived
-- from kind, keys and window start, so a re-run of `revguard score` over a range replaces
-- its rows (the range's rows are deleted first, like reconcile's findings).
CREATE TABLE IF NOT EXISTS revguard.anomalies
(
    anomaly_id    String,
    kind          LowCardinality(String),
    msisdn        String,
    element_id    LowCardinality(String),
    window_start  DateTime64(3, 'UTC'),
    window_end    DateTime64(3, 'UTC'),
    score         Float64,
    expected      Float64,                     -- what the baseline expected of the measure in evidence
    observed      Float64,                     -- what the window showed of it
    amount        Decimal(18, 6),              -- revenue at stake, ex tax
    model_version String,
    detected_at   DateTime64(3, 'UTC'),
    evidence      String                       -- JSON object an analyst can read
)
ENGINE = ReplacingMergeTree(detected_at)
PARTITION BY toYYYYMM(window_start)
ORDER BY (kind, anomaly_id);

-- One row per model run (fit or score), shared by every model of `revguard score`.
CREATE TABLE IF NOT EXISTS revguard.model_runs (run_id String, model String, model_version String, trained_from Nullable(DateTime64(6, 'UTC')), trained_to Nullable(DateTime64(6, 'UTC')), scored_from Nullable(DateTime64(6, 'UTC')), scored_to Nullable(DateTime64(6, 'UTC')), rows_scored UInt64, metrics String, library_versions String, started_at DateTime64(3, 'UTC'), finished_at DateTime64(3, 'UTC')) ENGINE = MergeTree ORDER BY (model, started_at);
