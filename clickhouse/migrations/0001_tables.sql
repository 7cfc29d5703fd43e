-- revguard schema, version 1: every table of SPEC section 6.
--
-- Keys: each table written by a flow is a ReplacingMergeTree on its natural key, so a
-- record delivered twice (a Kafka replay after a crash, a file loaded twice) replaces
-- itself instead of counting twice. Read with FINAL (or argMax by key) for exact totals.
-- Usage tables are partitioned by month of event time, which is also how they age out.
-- Money is Decimal(18, 6): exact to the micro-unit, as the rating engine computes it.
-- `source` says where a row came from (`topic:partition:offset` or `file:line`), it is
-- part of the key where one natural key may legitimately appear more than once.

CREATE DATABASE IF NOT EXISTS revguard;

CREATE TABLE IF NOT EXISTS revguard.network_usage
(
    record_id      String,
    msisdn         String,
    service        LowCardinality(String),
    start_time     DateTime64(3, 'UTC'),
    duration_s     UInt32,
    volume_bytes   UInt64,
    destination    String,
    roaming_mccmnc LowCardinality(String),
    element_id     LowCardinality(String),
    cell_id        String,
    extra          String DEFAULT '',          -- unknown input fields, as a JSON object
    source         String DEFAULT '',
    ingested_at    DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(ingested_at)
PARTITION BY toYYYYMM(start_time)
ORDER BY record_id;

CREATE TABLE IF NOT EXISTS revguard.billed_usage
(
    bill_record_id String,
    record_id      String,
    msisdn         String,
    service        LowCardinality(String),
    start_time     DateTime64(3, 'UTC'),
    duration_s     UInt32,
    volume_bytes   UInt64,
    charge         Decimal(18, 6),
    billed_at      DateTime64(3, 'UTC'),
    extra          String DEFAULT '',
    source         String DEFAULT '',
    ingested_at    DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(ingested_at)
PARTITION BY toYYYYMM(start_time)
ORDER BY bill_record_id;

-- One row per input record whose fields parsed: status rated, duplicate, or rejected
-- for unknown_subscriber / unknown_plan. A duplicate shares its record_id with the rated
-- row, so the key carries status and source (its position in the input stream).
CREATE TABLE IF NOT EXISTS revguard.rated_usage
(
    record_id       String,
    msisdn          String,
    service         LowCardinality(String),
    start_time      DateTime64(3, 'UTC'),
    duration_s      UInt32,
    volume_bytes    UInt64,
    destination     String,
    roaming_mccmnc  LowCardinality(String),
    element_id      LowCardinality(String),
    cell_id         String,
    plan_id         LowCardinality(String),
    payment         LowCardinality(String),
    dest_class      LowCardinality(String),
    roaming_zone    LowCardinality(String),
    offpeak         Bool,
    billable_units  UInt64,
    allowance_units UInt64,
    charged_units   UInt64,
    charge          Decimal(18, 6),
    tax             Decimal(18, 6),
    total           Decimal(18, 6),
    unfunded        Decimal(18, 6),
    balance_after   Nullable(Decimal(18, 6)),
    cycle_start     Nullable(DateTime64(3, 'UTC')),
    status          LowCardinality(String),
    reason          String,
    source          String DEFAULT '',
    rated_at        DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(rated_at)
PARTITION BY toYYYYMM(start_time)
ORDER BY (record_id, status, source);

-- Latest state per subscriber. `version` counts the events applied to that subscriber,
-- so a replay writes the same version again and the newest state always wins.
CREATE TABLE IF NOT EXISTS revguard.balances
(
    msisdn         String,
    payment        LowCardinality(String),
    balance        Nullable(Decimal(18, 6)),   -- prepaid, tax inclusive
    blocked        Bool,
    cycle_start    Nullable(DateTime64(3, 'UTC')),
    cycle_total    Decimal(18, 6),             -- postpaid cycle-to-date total
    last_record_id String,
    updated_at     DateTime64(3, 'UTC'),
    version        UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY msisdn;

CREATE TABLE IF NOT EXISTS revguard.adjustments
(
    adjustment_id String,
    msisdn        String,
    amount        Decimal(18, 6),
    time          DateTime64(3, 'UTC'),
    kind          LowCardinality(String),
    extra         String DEFAULT '',
    source        String DEFAULT '',
    ingested_at   DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(ingested_at)
PARTITION BY toYYYYMM(time)
ORDER BY adjustment_id;

-- The billing system's view of subscribers (subscribers.csv).
CREATE TABLE IF NOT EXISTS revguard.subscribers
(
    msisdn       String,
    account_id   String,
    plan_id      LowCardinality(String),
    payment      LowCardinality(String),
    status       LowCardinality(String),
    activated_at DateTime64(3, 'UTC'),
    cycle_day    UInt8,
    balance      Nullable(Decimal(18, 6)),     -- prepaid opening balance, tax inclusive
    credit_limit Nullable(Decimal(18, 6)),     -- postpaid
    segment      LowCardinality(String),
    loaded_at    DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(loaded_at)
ORDER BY msisdn;

-- The network's view (HLR/HSS, provisioning.csv).
CREATE TABLE IF NOT EXISTS revguard.provisioning
(
    msisdn         String,
    imsi           String,
    status         LowCardinality(String),
    provisioned_at DateTime64(3, 'UTC'),
    loaded_at      DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(loaded_at)
ORDER BY msisdn;

-- Tariff catalogs as loaded: the current one is the latest by loaded_at.
CREATE TABLE IF NOT EXISTS revguard.catalog
(
    checksum  String,                          -- sha256 of the YAML text
    yaml      String,
    loaded_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(loaded_at)
ORDER BY checksum;

-- Dead letters: every rejected input record with its reason and the raw text.
CREATE TABLE IF NOT EXISTS revguard.rejects
(
    stream      LowCardinality(String),        -- network | billed | adjustments | ...
    source      String,                        -- topic:partition:offset or file:line
    record_id   String,
    msisdn      String,
    reason      String,
    raw         String,
    rejected_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(rejected_at)
ORDER BY (stream, source);

-- Assurance findings (SPEC section 4). finding_id is derived from kind and keys, so a
-- re-run of the controls over a range replaces its findings instead of adding to them.
CREATE TABLE IF NOT EXISTS revguard.discrepancies
(
    finding_id     String,
    kind           LowCardinality(String),
    record_id      String,
    bill_record_id String,
    msisdn         String,
    element_id     LowCardinality(String),
    amount         Decimal(18, 6),             -- ex tax, positive = under-billed
    event_time     DateTime64(3, 'UTC'),       -- when the usage concerned happened
    detected_at    DateTime64(3, 'UTC'),
    evidence       String                      -- JSON object an analyst can read
)
ENGINE = ReplacingMergeTree(detected_at)
PARTITION BY toYYYYMM(event_time)
ORDER BY (kind, finding_id);

CREATE TABLE IF NOT EXISTS revguard.alerts
(
    alert_id    String,                        -- kind + msisdn + record_id: replays replace
    kind        LowCardinality(String),
    msisdn      String,
    record_id   String,
    time        DateTime64(3, 'UTC'),
    balance     Nullable(Decimal(18, 6)),
    cycle_total Nullable(Decimal(18, 6)),
    threshold   Nullable(Decimal(18, 6)),
    raised_at   DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(raised_at)
PARTITION BY toYYYYMM(time)
ORDER BY alert_id;
