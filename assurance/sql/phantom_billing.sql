-- phantom_billing: a billed record that points at no network record. An empty record_id
-- is phantom too: the bill cannot be traced to any usage the network saw, which is the
-- same exposure (a customer charged for usage nobody can show). Amount: minus the charge.
-- A bill whose network record arrived but was refused at load (a `rejects` row of stream
-- `network` naming the record_id in its raw text) is not phantom: the usage was seen, and the
-- refused record is shown to the analyst with the rejects (`revguard export rejects`).
INSERT INTO revguard.discrepancies
    (finding_id, kind, record_id, bill_record_id, msisdn, element_id, amount, event_time, detected_at, evidence)
SELECT
    lower(hex(substring(SHA256(concat('phantom_billing|', b.bill_record_id)), 1, 16))),
    'phantom_billing',
    b.record_id,
    b.bill_record_id,
    b.msisdn,
    '',
    -b.charge,
    b.start_time,
    {detected_at:DateTime64(3, 'UTC')},
    formatRowNoNewline('JSONEachRow',
        if(b.record_id = '', 'empty record_id', 'record_id not on the network') AS reason,
        b.service AS service,
        b.duration_s AS billed_duration_s,
        b.volume_bytes AS billed_volume_bytes,
        toDecimalString(b.charge, 6) AS billed_charge,
        formatDateTime(b.billed_at, '%Y-%m-%dT%H:%i:%S.%fZ', 'UTC') AS billed_at)
FROM revguard.billed_usage AS b FINAL
WHERE b.start_time >= {since:DateTime64(3, 'UTC')} AND b.start_time < {until:DateTime64(3, 'UTC')}
  AND (b.record_id = '' OR b.record_id NOT IN (SELECT record_id FROM revguard.network_usage FINAL))
  AND b.record_id NOT IN (
      SELECT trimBoth(extract(raw, '"record_id"\\s*:\\s*"([^"]*)"')) FROM revguard.rejects FINAL WHERE stream = 'network')
