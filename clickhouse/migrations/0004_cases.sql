-- revguard schema, version 4: the analysts' cases and their audit trail (SPEC section 7).
--
-- A case gathers one or more findings (or one alarm) an analyst works on. Its current
-- state is the newest row per case_id in `cases` (ReplacingMergeTree on `version`, which
-- counts the transitions applied: a case is never updated in place, a new version
-- replaces the old one). `case_events` is the append-only audit trail: every opening and
-- every transition, who made it, when, from which state to which. Nothing ever deletes or
-- replaces a row there (plain MergeTree, no replacing key).
--
-- States: open -> investigating -> confirmed | false_positive; confirmed -> recovered.
-- Confirmed and false-positive cases are the labels later model training may read.

CREATE TABLE IF NOT EXISTS revguard.cases
(
    case_id          String,
    title            String,
    kind             LowCardinality(String),   -- finding kind of the case's findings ('' when mixed)
    alarm_key        String,                   -- the alarm it came from ('' when opened from findings)
    finding_ids      Array(String),
    amount_at_stake  Decimal(18, 6),           -- ex tax, sum of the findings' amounts
    severity         LowCardinality(String),   -- critical | high | medium | low, from the money at stake
    state            LowCardinality(String),
    assignee         String,
    notes            String,
    amount_recovered Nullable(Decimal(18, 6)), -- set on `recovered`
    opened_by        String,
    opened_at        DateTime64(3, 'UTC'),
    updated_at       DateTime64(3, 'UTC'),
    version          UInt32
)
ENGINE = ReplacingMergeTree(version)
ORDER BY case_id;

CREATE TABLE IF NOT EXISTS revguard.case_events
(
    case_id          String,
    version          UInt32,                   -- the case version this event produced
    actor            String,
    at               DateTime64(3, 'UTC'),
    from_state       LowCardinality(String),   -- '' for the opening
    to_state         LowCardinality(String),
    note             String,
    amount_recovered Nullable(Decimal(18, 6))
)
ENGINE = MergeTree
ORDER BY (case_id, version, at);
