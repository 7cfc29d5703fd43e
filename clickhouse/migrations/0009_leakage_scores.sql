-- Leakage risk (SPEC section 7, issue 23): for each rated record still inside the billing SLA
-- when `revguard score` ran, the probability that the controls will find it unbilled,
-- misrated or with a usage mismatch once the SLA closes, and the money that probability puts
-- at risk. Scoring a record again replaces its row (the latest scored_at wins).
CREATE TABLE IF NOT EXISTS revguard.leakage_scores
(
    record_id     String,
    msisdn        String,
    element_id    LowCardinality(String),
    service       LowCardinality(String),
    start_time    DateTime64(3, 'UTC'),        -- the record's event time: money at risk per day
    probability   Float64,
    expected_loss Decimal(18, 6),              -- ex tax: probability x expected under-billing if it leaks
    model_version String,
    as_of         DateTime64(3, 'UTC'),        -- the billing clock the record was judged against
    scored_at     DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(scored_at)
PARTITION BY toYYYYMM(start_time)
ORDER BY record_id;
