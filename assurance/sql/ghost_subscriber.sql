-- ghost_subscriber: active in billing but not active (or absent) in provisioning: billing
-- charges a line the network does not serve. One finding per msisdn, timed at its
-- activated_at in billing, so it belongs to exactly one reconcile range. No amount.
INSERT INTO revguard.discrepancies
    (finding_id, kind, record_id, bill_record_id, msisdn, element_id, amount, event_time, detected_at, evidence)
WITH
    ghosts AS (
        SELECT msisdn, account_id, plan_id, payment, activated_at
        FROM revguard.subscribers FINAL
        WHERE status = 'active'
          AND activated_at >= {since:DateTime64(3, 'UTC')} AND activated_at < {until:DateTime64(3, 'UTC')}
          AND msisdn NOT IN (SELECT msisdn FROM revguard.provisioning FINAL WHERE status = 'active')
    ),
    network AS (
        SELECT msisdn, status FROM revguard.provisioning FINAL WHERE msisdn IN (SELECT msisdn FROM ghosts)
    ),
    bills AS (
        SELECT msisdn, count() AS records, sum(charge) AS charged
        FROM revguard.billed_usage FINAL
        WHERE msisdn IN (SELECT msisdn FROM ghosts)
        GROUP BY msisdn
    )
SELECT
    lower(hex(substring(SHA256(concat('ghost_subscriber|', g.msisdn)), 1, 16))),
    'ghost_subscriber',
    '',
    '',
    g.msisdn,
    '',
    toDecimal64(0, 6),
    g.activated_at,
    {detected_at:DateTime64(3, 'UTC')},
    formatRowNoNewline('JSONEachRow',
        'active' AS billing_status,
        if(p.msisdn = '', 'absent', toString(p.status)) AS provisioning_status,
        g.account_id AS account_id,
        g.plan_id AS plan_id,
        g.payment AS payment,
        b.records AS billed_records,
        toDecimalString(b.charged, 6) AS billed_charge)
FROM ghosts AS g
LEFT JOIN network AS p ON p.msisdn = g.msisdn
LEFT JOIN bills AS b ON b.msisdn = g.msisdn
