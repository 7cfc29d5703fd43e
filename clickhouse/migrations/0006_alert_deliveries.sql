-- Alert delivery (`revguard run alerts`): one row per attempt to hand one alert event to one
-- receiver, and the delivery consumer's Kafka positions.

-- Attempts are appended, never replaced: the table is the audit of what was tried, when, and
-- what the receiver answered. `idempotency_key` names (alert event, receiver); a key with a
-- `delivered` or `parked` row is finished and is never sent again, also after a restart.
CREATE TABLE IF NOT EXISTS revguard.alert_deliveries
(
    alert_id        String,
    event           LowCardinality(String),        -- firing | resolved
    kind            LowCardinality(String),
    receiver        LowCardinality(String),
    attempt         UInt16,                        -- 1, 2, ... per idempotency key
    status          LowCardinality(String),        -- delivered | failed | parked
    response_code   UInt16,                        -- HTTP status; 0 when no answer came
    error           String,
    idempotency_key String,
    source          String,                        -- topic:partition:offset of the alert message
    payload         String,                        -- Alertmanager: the alert as posted, re-sent while open
    time            DateTime64(3, 'UTC')
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(time)
ORDER BY (idempotency_key, attempt, time);

-- Next offset to read per partition of the alerts topic. Offsets only grow, so the largest
-- is the current one (ReplacingMergeTree on it).
CREATE TABLE IF NOT EXISTS revguard.alert_offsets
(
    consumer    String,
    topic       String,
    partition   UInt32,
    next_offset Int64,
    updated_at  DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(next_offset)
ORDER BY (consumer, topic, partition);
