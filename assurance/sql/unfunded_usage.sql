-- unfunded_usage: prepaid usage the network let through without balance. `unfunded` is
-- tax inclusive; the finding is ex tax like every amount: unfunded x charge / total,
-- rounded half-up to 6 places. Decimal division truncates, so the quotient is kept at
-- 12 places (exact enough: truncating below the 7th place never crosses a .5 boundary)
-- and round() on a Decimal rounds half away from zero, i.e. half-up for these positives.
INSERT INTO revguard.discrepancies
    (finding_id, kind, record_id, bill_record_id, msisdn, element_id, amount, event_time, detected_at, evidence)
SELECT
    lower(hex(substring(SHA256(concat('unfunded_usage|', r.record_id)), 1, 16))),
    'unfunded_usage',
    r.record_id,
    '',
    r.msisdn,
    r.element_id,
    toDecimal64(round(toDecimal128(r.unfunded, 12) * r.charge / r.total, 6), 6),
    r.start_time,
    {detected_at:DateTime64(3, 'UTC')},
    formatRowNoNewline('JSONEachRow',
        r.service AS service,
        r.payment AS payment,
        r.plan_id AS plan_id,
        toDecimalString(r.unfunded, 6) AS unfunded_incl_tax,
        toDecimalString(r.charge, 6) AS charge,
        toDecimalString(r.tax, 6) AS tax,
        toDecimalString(r.total, 6) AS total,
        if(r.balance_after IS NULL, NULL, toDecimalString(assumeNotNull(r.balance_after), 6)) AS balance_after)
FROM revguard.rated_usage AS r FINAL
WHERE r.status = 'rated' AND r.unfunded > 0 AND r.total > 0
  AND r.start_time >= {since:DateTime64(3, 'UTC')} AND r.start_time < {until:DateTime64(3, 'UTC')}
