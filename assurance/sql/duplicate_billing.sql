-- duplicate_billing: one network record billed more than once. The first bill (by
-- billed_at, then bill_record_id) is the legitimate one; each later bill is one finding
-- whose amount is minus its charge (over-billing). Bills whose record_id is not on the
-- network are phantom_billing, never duplicates. A finding's time is its bill's start_time.
INSERT INTO revguard.discrepancies
    (finding_id, kind, record_id, bill_record_id, msisdn, element_id, amount, event_time, detected_at, evidence)
-- The records billed more than once are found by one aggregation over the bills (most
-- records have one bill, so what follows is small); the network is then streamed past that
-- small set (the set is the join's build side), which is also what keeps bills of records
-- the network never saw out of this kind.
WITH
    ranked AS (
        SELECT
            bill_record_id, record_id, msisdn, service, start_time, charge, billed_at,
            row_number() OVER w AS nth,
            count() OVER w_all AS bills,
            first_value(bill_record_id) OVER w AS first_bill_record_id,
            first_value(billed_at) OVER w AS first_billed_at,
            first_value(charge) OVER w AS first_charge
        FROM revguard.billed_usage FINAL
        WHERE record_id IN (
            SELECT record_id FROM revguard.billed_usage FINAL
            WHERE record_id != ''
            GROUP BY record_id
            HAVING count() > 1)
        WINDOW
            w AS (PARTITION BY record_id ORDER BY billed_at, bill_record_id
                  ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW),
            w_all AS (PARTITION BY record_id)
    )
SELECT
    lower(hex(substring(SHA256(concat('duplicate_billing|', r.record_id, '|', r.bill_record_id)), 1, 16))),
    'duplicate_billing',
    r.record_id,
    r.bill_record_id,
    r.msisdn,
    n.element_id,
    -r.charge,
    r.start_time,
    {detected_at:DateTime64(3, 'UTC')},
    formatRowNoNewline('JSONEachRow',
        r.service AS service,
        r.bills AS bills_for_record,
        r.nth AS bill_number,
        r.first_bill_record_id AS first_bill_record_id,
        formatDateTime(r.first_billed_at, '%Y-%m-%dT%H:%i:%S.%fZ', 'UTC') AS first_billed_at,
        toDecimalString(r.first_charge, 6) AS first_charge,
        formatDateTime(r.billed_at, '%Y-%m-%dT%H:%i:%S.%fZ', 'UTC') AS billed_at,
        toDecimalString(r.charge, 6) AS extra_charge)
FROM revguard.network_usage AS n FINAL
INNER JOIN ranked AS r ON r.record_id = n.record_id
WHERE r.nth > 1
  AND r.start_time >= {since:DateTime64(3, 'UTC')} AND r.start_time < {until:DateTime64(3, 'UTC')}
SETTINGS do_not_merge_across_partitions_select_final = 1, query_plan_join_swap_table = 'false'
