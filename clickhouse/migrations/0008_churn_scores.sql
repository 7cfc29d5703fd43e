-- Churn probabilities (issue 23), one row per subscriber and as-of date. A re-run of
-- `revguard score` for the same as-of date replaces its rows (newest scored_at wins).
-- `reasons`: the three drivers that raise this subscriber's probability most, in words
-- a marketer reads, from a one-feature-at-a-time substitution attribution (see
-- assurance/models/churn_reasons.py).
CREATE TABLE IF NOT EXISTS revguard.churn_scores (msisdn String, as_of DateTime64(3, 'UTC'), probability Float64, rank UInt32, reasons Array(String), model_version String, scored_at DateTime64(3, 'UTC') DEFAULT now64(3)) ENGINE = ReplacingMergeTree(scored_at) PARTITION BY toYYYYMM(as_of) ORDER BY (as_of, msisdn);
