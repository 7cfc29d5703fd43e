-- misrated: billed and network quantities agree but the billed charge differs from the
-- shadow charge by more than `tolerance` (strictly). Compared on the record's first bill.
-- Records that rating rejected have no shadow charge and are not judged here.
-- Amount: shadow charge minus billed charge (positive = under-billed).
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
    shadow AS (
        SELECT record_id, any(charge) AS shadow_charge, any(plan_id) AS shadow_plan_id,
               any(dest_class) AS shadow_dest_class, any(roaming_zone) AS shadow_roaming_zone,
               any(offpeak) AS shadow_offpeak, any(charged_units) AS shadow_charged_units,
               any(allowance_units) AS shadow_allowance_units
        FROM revguard.rated_usage FINAL
        WHERE status = 'rated'
        GROUP BY record_id
    )
SELECT
    lower(hex(substring(SHA256(concat('misrated|', n.record_id)), 1, 16))),
    'misrated',
    n.record_id,
    b.first_bill_record_id,
    n.msisdn,
    n.element_id,
    s.shadow_charge - b.billed_charge,
    n.start_time,
    {detected_at:DateTime64(3, 'UTC')},
    formatRowNoNewline('JSONEachRow',
        n.service AS service,
        n.duration_s AS duration_s,
        n.volume_bytes AS volume_bytes,
        toDecimalString(s.shadow_charge, 6) AS shadow_charge,
        toDecimalString(b.billed_charge, 6) AS billed_charge,
        toDecimalString(s.shadow_charge - b.billed_charge, 6) AS difference,
        toDecimalString({tolerance:Decimal(18, 6)}, 6) AS tolerance,
        s.shadow_plan_id AS plan_id,
        s.shadow_dest_class AS dest_class,
        s.shadow_roaming_zone AS roaming_zone,
        s.shadow_offpeak AS offpeak,
        s.shadow_allowance_units AS allowance_units,
        s.shadow_charged_units AS charged_units)
FROM network AS n
INNER JOIN first_bill AS b ON b.record_id = n.record_id
INNER JOIN shadow AS s ON s.record_id = n.record_id
WHERE b.billed_duration_s = n.duration_s AND b.billed_volume_bytes = n.volume_bytes
  AND abs(s.shadow_charge - b.billed_charge) > {tolerance:Decimal(18, 6)}
