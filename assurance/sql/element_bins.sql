-- Per network element and 10-minute bin: the records received and what the element should
-- have sent, learned from the data (the expected count and the variance of the difference
-- under no fault). Read by assurance/element_gaps.py, which looks for silences and partial
-- drops against it.
--
-- - From its peers (the other elements carrying the same service): subscribers of every
--   region follow the same daily and weekly rhythm, so an element's count is a steady share
--   of its peers' count. The share r is the weighted median, over hours, of the element's
--   count over its peers' (weights: the peers' count), which an outage of its own cannot
--   move. Expected = r x peers' count; the difference from what came has variance
--   expected x (1 + r) (both counts Poisson; the peers' noise comes along through r).
-- - An element with no peer: the mean of the same bin on the other days within a week that
--   the data holds (at least two), variance expected x (1 + 1/days).
-- Records arrive roughly as a Poisson stream, but real data may be noisier: each element's
-- dispersion (the median of its bins' squared standardised differences over that median
-- for a chi-square with one degree of freedom, 0.455) widens the variance when above 1.
-- Only bins expecting at least 10 records count: below that a count is too discrete for
-- the chi-square's median (a bin expecting 0.3 records mostly holds none).
-- Bins are numbered from `first_bin`, the 10-minute boundary at or before the first record.
WITH
    600 AS bin_s,
    (SELECT min(start_time) FROM revguard.network_usage
     WHERE start_time >= {window_lo:DateTime64(3, 'UTC')} AND start_time < {window_hi:DateTime64(3, 'UTC')}) AS span_lo,
    (SELECT max(start_time) FROM revguard.network_usage
     WHERE start_time >= {window_lo:DateTime64(3, 'UTC')} AND start_time < {window_hi:DateTime64(3, 'UTC')}) AS span_hi,
    toDateTime64(toStartOfInterval(toDateTime(span_lo, 'UTC'), INTERVAL 10 MINUTE), 3, 'UTC') AS first_bin,
    intDiv(dateDiff('second', first_bin, span_hi), bin_s) + 1 AS bin_count,
    records AS (
        SELECT element_id, service, start_time
        FROM revguard.network_usage FINAL
        WHERE start_time >= {window_lo:DateTime64(3, 'UTC')} AND start_time < {window_hi:DateTime64(3, 'UTC')}
    ),
    element_service AS (
        SELECT element_id, argMax(service, n) AS service
        FROM (SELECT element_id, service, count() AS n FROM records GROUP BY element_id, service)
        GROUP BY element_id
    ),
    binned AS (
        SELECT element_id, toInt64(intDiv(dateDiff('second', first_bin, start_time), bin_s)) AS bin, count() AS n
        FROM records
        GROUP BY element_id, bin
    ),
    grid AS (
        SELECT element_id, service, toInt64(b) AS bin
        FROM element_service
        ARRAY JOIN range(toUInt64(bin_count)) AS b
    ),
    counts AS (
        SELECT g.element_id AS element_id, g.service AS service, g.bin AS bin, toFloat64(h.n) AS n
        FROM grid AS g
        LEFT JOIN binned AS h ON h.element_id = g.element_id AND h.bin = g.bin
    ),
    service_bins AS (
        SELECT service, bin, sum(n) AS total, count() AS elements FROM counts GROUP BY service, bin
    ),
    with_peers AS (
        SELECT c.element_id AS element_id, c.bin AS bin, c.n AS n, s.total - c.n AS peers_n, s.elements - 1 AS peers
        FROM counts AS c
        INNER JOIN service_bins AS s ON s.service = c.service AND s.bin = c.bin
    ),
    share AS (
        SELECT element_id, quantileExactWeighted(0.5)(n_hour / peers_hour, toUInt64(peers_hour)) AS r
        FROM (SELECT element_id, intDiv(bin, 6) AS hour, sum(n) AS n_hour, sum(peers_n) AS peers_hour
              FROM with_peers WHERE peers > 0 GROUP BY element_id, hour)
        WHERE peers_hour > 0
        GROUP BY element_id
    ),
    history AS (
        SELECT c.element_id AS element_id, c.bin AS bin, avg(o.n) AS expected, count() AS days
        FROM (SELECT element_id, bin, arrayJoin([-7, -6, -5, -4, -3, -2, -1, 1, 2, 3, 4, 5, 6, 7]) AS day_offset
              FROM with_peers WHERE peers = 0) AS c
        INNER JOIN counts AS o ON o.element_id = c.element_id AND o.bin = c.bin + c.day_offset * 144
        GROUP BY element_id, bin
        HAVING days >= 2
    ),
    raw_expected AS (
        SELECT p.element_id AS element_id, p.bin AS bin, p.n AS n,
               if(p.peers > 0, s.r * p.peers_n, h.expected) AS expected,
               if(p.peers > 0, s.r * p.peers_n * (1 + s.r), h.expected * (1 + 1 / h.days)) AS variance,
               if(p.peers > 0, 'peers', 'same time on other days') AS method
        FROM with_peers AS p
        LEFT JOIN share AS s ON s.element_id = p.element_id
        LEFT JOIN history AS h ON h.element_id = p.element_id AND h.bin = p.bin
        WHERE (p.peers > 0 AND s.element_id != '') OR (p.peers = 0 AND h.element_id != '')
    ),
    dispersion AS (
        SELECT element_id, greatest(1, quantileExact(0.5)(pow(n - expected, 2) / variance) / 0.455) AS phi
        FROM raw_expected WHERE expected >= 10
        GROUP BY element_id
    ),
    expected_bins AS (
        SELECT e.element_id AS element_id, e.bin AS bin, e.n AS n, e.expected AS expected,
               e.variance * ifNull(d.phi, 1) AS variance, e.method AS method
        FROM raw_expected AS e
        LEFT JOIN dispersion AS d ON d.element_id = e.element_id
    )
SELECT element_id, bin, n, expected, variance, method, first_bin
FROM expected_bins
ORDER BY element_id, bin
