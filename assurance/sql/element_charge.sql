-- Each network element's average shadow charge per rated record: what a record it failed
-- to send would probably have been worth.
SELECT element_id, toString(sum(charge) / count()) AS average_charge
FROM revguard.rated_usage FINAL
WHERE status = 'rated'
  AND start_time >= {window_lo:DateTime64(3, 'UTC')} AND start_time < {window_hi:DateTime64(3, 'UTC')}
GROUP BY element_id
