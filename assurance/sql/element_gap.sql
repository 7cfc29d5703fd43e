-- element_gap: a network element that went silent while its own history says it should
-- have sent records. Each silence (time between consecutive records of one element, and
-- from the store's first / to its last record) is priced in expected records: for every
-- hour it overlaps, the element's median count in that hour of day on the other days
-- within a week (or, with under two such days, the median over all its hours), times the
-- share of the hour that is silent. Records arrive roughly as a Poisson stream, so a
-- silence that was expected to hold `min_expected` records has chance exp(-min_expected)
-- of being normal (about 3e-7 at 15): that is the bar. One finding per (element, silence);
-- interval_start/interval_end are the last record before and the first record after.
-- No amount (the records were never collected, so their charge is unknown); the
-- estimate from the element's average shadow charge is in the evidence.
INSERT INTO revguard.discrepancies
    (finding_id, kind, record_id, bill_record_id, msisdn, element_id, amount, event_time, detected_at, evidence)
WITH
    (SELECT min(start_time) FROM revguard.network_usage
     WHERE start_time >= {window_lo:DateTime64(3, 'UTC')} AND start_time < {window_hi:DateTime64(3, 'UTC')}) AS span_lo,
    (SELECT max(start_time) FROM revguard.network_usage
     WHERE start_time >= {window_lo:DateTime64(3, 'UTC')} AND start_time < {window_hi:DateTime64(3, 'UTC')}) AS span_hi,
    toStartOfHour(toDateTime(span_lo, 'UTC')) AS first_hour,
    records AS (
        SELECT element_id, start_time
        FROM revguard.network_usage FINAL
        WHERE start_time >= {window_lo:DateTime64(3, 'UTC')} AND start_time < {window_hi:DateTime64(3, 'UTC')}
    ),
    hourly AS (
        SELECT element_id, toStartOfHour(toDateTime(start_time, 'UTC')) AS hour, count() AS n
        FROM records
        GROUP BY element_id, hour
    ),
    grid AS (
        SELECT e.element_id AS element_id, first_hour + toIntervalHour(h) AS hour
        FROM (SELECT DISTINCT element_id FROM hourly) AS e
        ARRAY JOIN range(toUInt64(dateDiff('hour', first_hour, toStartOfHour(toDateTime(span_hi, 'UTC'))) + 1)) AS h
    ),
    counts AS (
        SELECT g.element_id AS element_id, g.hour AS hour, toFloat64(h.n) AS n
        FROM grid AS g
        LEFT JOIN hourly AS h ON h.element_id = g.element_id AND h.hour = g.hour
    ),
    same_hour AS (
        SELECT c.element_id AS element_id, c.hour AS hour,
               quantileExactInclusive(0.5)(o.n) AS expected, count() AS baseline_days
        FROM (SELECT element_id, hour, arrayJoin([-7, -6, -5, -4, -3, -2, -1, 1, 2, 3, 4, 5, 6, 7]) AS day_offset
              FROM counts) AS c
        INNER JOIN counts AS o ON o.element_id = c.element_id AND o.hour = c.hour + toIntervalDay(c.day_offset)
        GROUP BY element_id, hour
    ),
    overall AS (
        SELECT element_id, quantileExactInclusive(0.5)(n) AS expected FROM counts GROUP BY element_id
    ),
    baseline AS (
        SELECT c.element_id AS element_id, c.hour AS hour,
               if(s.baseline_days >= 2, s.expected, a.expected) AS expected,
               if(s.baseline_days >= 2, 'same hour on other days', 'median of all hours') AS method
        FROM counts AS c
        LEFT JOIN same_hour AS s ON s.element_id = c.element_id AND s.hour = c.hour
        LEFT JOIN overall AS a ON a.element_id = c.element_id
    ),
    silences AS (
        SELECT element_id, previous AS gap_start, start_time AS gap_end
        FROM (
            SELECT element_id, start_time,
                   lagInFrame(start_time) OVER (PARTITION BY element_id ORDER BY start_time
                                                ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) AS previous,
                   row_number() OVER (PARTITION BY element_id ORDER BY start_time
                                      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS nth
            FROM (
                SELECT element_id, start_time FROM records
                UNION ALL SELECT DISTINCT element_id, span_lo FROM records
                UNION ALL SELECT DISTINCT element_id, span_hi FROM records
            )
        )
        WHERE nth > 1 AND dateDiff('second', previous, start_time) >= {min_silence_s:UInt32}
    ),
    silent_hours AS (
        SELECT element_id, gap_start, gap_end, hour,
               dateDiff('millisecond',
                        greatest(gap_start, toDateTime64(hour, 3, 'UTC')),
                        least(gap_end, toDateTime64(hour + toIntervalHour(1), 3, 'UTC'))) / 3600000 AS share
        FROM silences
        ARRAY JOIN arrayMap(i -> toStartOfHour(toDateTime(gap_start, 'UTC')) + toIntervalHour(i),
                            range(toUInt64(dateDiff('hour', toStartOfHour(toDateTime(gap_start, 'UTC')),
                                                    toStartOfHour(toDateTime(gap_end, 'UTC'))) + 1))) AS hour
    ),
    priced AS (
        SELECT s.element_id AS element_id, s.gap_start AS gap_start, s.gap_end AS gap_end,
               sum(s.share * b.expected) AS expected_records,
               groupArray((formatDateTime(s.hour, '%Y-%m-%dT%H:00:00Z', 'UTC'), b.expected)) AS hourly_baseline,
               any(b.method) AS method
        FROM silent_hours AS s
        INNER JOIN baseline AS b ON b.element_id = s.element_id AND b.hour = s.hour
        GROUP BY element_id, gap_start, gap_end
    ),
    charge_per_record AS (
        SELECT element_id, sum(charge) / count() AS average_charge
        FROM revguard.rated_usage FINAL
        WHERE status = 'rated'
          AND start_time >= {window_lo:DateTime64(3, 'UTC')} AND start_time < {window_hi:DateTime64(3, 'UTC')}
        GROUP BY element_id
    )
SELECT
    lower(hex(substring(SHA256(concat('element_gap|', p.element_id, '|', toString(p.gap_start))), 1, 16))),
    'element_gap',
    '',
    '',
    '',
    p.element_id,
    toDecimal64(0, 6),
    p.gap_start,
    {detected_at:DateTime64(3, 'UTC')},
    formatRowNoNewline('JSONEachRow',
        formatDateTime(p.gap_start, '%Y-%m-%dT%H:%i:%S.%fZ', 'UTC') AS interval_start,
        formatDateTime(p.gap_end, '%Y-%m-%dT%H:%i:%S.%fZ', 'UTC') AS interval_end,
        round(dateDiff('second', p.gap_start, p.gap_end) / 60, 1) AS silent_minutes,
        round(p.expected_records, 1) AS expected_records,
        0 AS received_records,
        arraySort(p.hourly_baseline) AS expected_per_hour,
        p.method AS baseline,
        if(c.element_id = '', NULL,
           toDecimalString(toDecimal128(round(p.expected_records, 3), 6) * c.average_charge, 6)) AS estimated_missing_revenue)
FROM priced AS p
LEFT JOIN charge_per_record AS c ON c.element_id = p.element_id
WHERE p.expected_records >= {min_expected:Float64}
  AND p.gap_start >= {since:DateTime64(3, 'UTC')} AND p.gap_start < {until:DateTime64(3, 'UTC')}
