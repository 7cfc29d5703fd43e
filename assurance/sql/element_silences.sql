-- Silences of network elements: the time between consecutive records of one element (and
-- from the store's first record / to its last), where it is at least `min_silence_s`.
WITH
    (SELECT min(start_time) FROM revguard.network_usage
     WHERE start_time >= {window_lo:DateTime64(3, 'UTC')} AND start_time < {window_hi:DateTime64(3, 'UTC')}) AS span_lo,
    (SELECT max(start_time) FROM revguard.network_usage
     WHERE start_time >= {window_lo:DateTime64(3, 'UTC')} AND start_time < {window_hi:DateTime64(3, 'UTC')}) AS span_hi,
    records AS (
        SELECT element_id, start_time
        FROM revguard.network_usage FINAL
        WHERE start_time >= {window_lo:DateTime64(3, 'UTC')} AND start_time < {window_hi:DateTime64(3, 'UTC')}
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
    )
SELECT element_id, gap_start, gap_end FROM silences ORDER BY element_id, gap_start
