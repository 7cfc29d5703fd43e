-- Refused input as the analyst reads it: every rejects row with the keys its raw text names
-- (read from the text itself, so a line that is not JSON still names what it can) and what
-- it meets on the other side of the reconciliation: for a refused bill, whether its network
-- record is in the store (then the record is a `bill_rejected` finding, never `unbilled`);
-- for a refused network record, whether a bill names it (then that bill is never phantom).
WITH refused AS (
    SELECT stream, source, reason, raw, rejected_at,
           trimBoth(extract(raw, '"record_id"\\s*:\\s*"([^"]*)"')) AS named_record_id,
           trimBoth(extract(raw, '"bill_record_id"\\s*:\\s*"([^"]*)"')) AS named_bill_record_id,
           trimBoth(extract(raw, '"msisdn"\\s*:\\s*"([^"]*)"')) AS named_msisdn
    FROM revguard.rejects FINAL
    WHERE {stream:String} = '' OR stream = {stream:String}
)
SELECT
    stream,
    source,
    named_record_id,
    named_bill_record_id,
    named_msisdn,
    reason,
    raw,
    multiIf(
        named_record_id = '', '',
        stream = 'billed' AND named_record_id IN (
            SELECT record_id FROM revguard.network_usage
            WHERE record_id IN (SELECT named_record_id FROM refused WHERE stream = 'billed')), 'network record in the store',
        stream = 'network' AND named_record_id IN (
            SELECT record_id FROM revguard.billed_usage
            WHERE record_id IN (SELECT named_record_id FROM refused WHERE stream = 'network')), 'billed record in the store',
        '') AS counterpart,
    rejected_at
FROM refused
ORDER BY stream, rejected_at, source
LIMIT {limit:UInt64}
