-- unbilled: a network record that no billed record refers to, although the billing
-- system has had the SLA to bill it. The billing clock is `as_of` (the latest billed_at
-- in the store), so a store loaded long after the fact is judged by billing's own time.
-- Usage of subscribers that billing does not have active is left to unbilled_subscriber:
-- one finding per msisdn there, not one per record here.
-- Amount: the record's shadow charge (its status='rated' row), 0 when rating has none.
INSERT INTO revguard.discrepancies
    (finding_id, kind, record_id, bill_record_id, msisdn, element_id, amount, event_time, detected_at, evidence)
WITH
    missing AS (
        SELECT record_id, msisdn, service, start_time, duration_s, volume_bytes, element_id
        FROM revguard.network_usage FINAL
        WHERE start_time >= {since:DateTime64(3, 'UTC')} AND start_time < {until:DateTime64(3, 'UTC')}
          AND start_time <= {as_of:DateTime64(3, 'UTC')} - toIntervalSecond({sla_s:UInt64})
          AND record_id NOT IN (SELECT record_id FROM revguard.billed_usage FINAL WHERE record_id != '')
          AND msisdn NOT IN (
              SELECT msisdn FROM revguard.provisioning FINAL
              WHERE status = 'active'
                AND msisdn NOT IN (SELECT msisdn FROM revguard.subscribers FINAL WHERE status = 'active'))
    ),
    shadow AS (
        SELECT record_id, any(charge) AS shadow_charge, any(status) AS shadow_status, any(reason) AS shadow_reason
        FROM revguard.rated_usage FINAL
        WHERE record_id IN (SELECT record_id FROM missing)
          AND status IN ('rated', 'rejected')
        GROUP BY record_id
    )
SELECT
    lower(hex(substring(SHA256(concat('unbilled|', m.record_id)), 1, 16))),
    'unbilled',
    m.record_id,
    '',
    m.msisdn,
    m.element_id,
    if(s.shadow_status = 'rated', s.shadow_charge, toDecimal64(0, 6)),
    m.start_time,
    {detected_at:DateTime64(3, 'UTC')},
    formatRowNoNewline('JSONEachRow',
        m.service AS service,
        m.duration_s AS network_duration_s,
        m.volume_bytes AS network_volume_bytes,
        if(s.shadow_status = 'rated', toDecimalString(s.shadow_charge, 6), NULL) AS shadow_charge,
        if(s.record_id = '', 'not rated', if(s.shadow_status = 'rated', 'rated', concat('rejected: ', s.shadow_reason))) AS shadow_status,
        0 AS billed_records,
        formatDateTime({as_of:DateTime64(3, 'UTC')}, '%Y-%m-%dT%H:%i:%SZ', 'UTC') AS billing_as_of,
        {sla_s:UInt64} AS sla_seconds)
FROM missing AS m
LEFT JOIN shadow AS s ON s.record_id = m.record_id
