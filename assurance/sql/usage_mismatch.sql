-- usage_mismatch: the billed duration or volume differs from what the network recorded.
-- Compared on the record's first bill (later bills are duplicate_billing). Amount: shadow
-- charge of the network quantities minus the billed charge; 0 when rating has no charge.
-- A record whose quantities differ is reported here only, never also as misrated.
INSERT INTO revguard.discrepancies
    (finding_id, kind, record_id, bill_record_id, msisdn, element_id, amount, event_time, detected_at, evidence)
WITH
    network AS (
        SELECT record_id, msisdn, service, start_time, duration_s, volume_bytes, element_id
        FROM revguard.network_usage FINAL
        WHERE start_time >= {since:DateTime64(3, 'UTC')} AND start_time < {until:DateTime64(3, 'UTC')}
    ),
    first_bill AS (
        SELECT
            record_id,
            argMin(bill_record_id, (billed_at, bill_record_id)) AS first_bill_record_id,
            argMin(duration_s, (billed_at, bill_record_id)) AS billed_duration_s,
            argMin(volume_bytes, (billed_at, bill_record_id)) AS billed_volume_bytes,
            argMin(charge, (billed_at, bill_record_id)) AS billed_charge
        FROM revguard.billed_usage FINAL
        WHERE record_id != ''
        GROUP BY record_id
    ),
    differing AS (
        SELECT n.record_id AS record_id, n.msisdn AS msisdn, n.service AS service, n.start_time AS start_time,
               n.element_id AS element_id, n.duration_s AS network_duration_s, n.volume_bytes AS network_volume_bytes,
               b.first_bill_record_id AS bill_record_id, b.billed_duration_s AS billed_duration_s,
               b.billed_volume_bytes AS billed_volume_bytes, b.billed_charge AS billed_charge
        FROM network AS n
        INNER JOIN first_bill AS b ON b.record_id = n.record_id
        WHERE b.billed_duration_s != n.duration_s OR b.billed_volume_bytes != n.volume_bytes
    ),
    shadow AS (
        SELECT record_id, any(charge) AS shadow_charge
        FROM revguard.rated_usage FINAL
        WHERE status = 'rated' AND record_id IN (SELECT record_id FROM differing)
        GROUP BY record_id
    )
SELECT
    lower(hex(substring(SHA256(concat('usage_mismatch|', d.record_id)), 1, 16))),
    'usage_mismatch',
    d.record_id,
    d.bill_record_id,
    d.msisdn,
    d.element_id,
    if(s.record_id = '', toDecimal64(0, 6), s.shadow_charge - d.billed_charge),
    d.start_time,
    {detected_at:DateTime64(3, 'UTC')},
    formatRowNoNewline('JSONEachRow',
        d.service AS service,
        d.network_duration_s AS network_duration_s,
        d.billed_duration_s AS billed_duration_s,
        d.network_volume_bytes AS network_volume_bytes,
        d.billed_volume_bytes AS billed_volume_bytes,
        if(s.record_id = '', NULL, toDecimalString(s.shadow_charge, 6)) AS shadow_charge,
        toDecimalString(d.billed_charge, 6) AS billed_charge)
FROM differing AS d
LEFT JOIN shadow AS s ON s.record_id = d.record_id
