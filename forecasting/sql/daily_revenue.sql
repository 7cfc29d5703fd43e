-- Daily rated revenue ex tax by one grouping key, days in the catalog's time zone.
-- {key} is not user input: it is one of the fixed expressions in forecasting/store_series.py.
SELECT toDate(r.start_time, {timezone:String}) AS day, {key} AS key, sum(r.charge) AS revenue
FROM revguard.rated_usage AS r FINAL
LEFT JOIN (SELECT msisdn, argMax(segment, loaded_at) AS segment FROM revguard.subscribers GROUP BY msisdn) AS s
    ON s.msisdn = r.msisdn
WHERE r.status = 'rated'
GROUP BY day, key
ORDER BY day, key
