-- unbilled_subscriber: an msisdn active in provisioning (the network serves it) with
-- usage on the network, that billing does not have as active (absent or not 'active').
-- One finding per msisdn; its time is the msisdn's first network usage, so the finding
-- belongs to exactly one reconcile range. No amount: the charge of usage billing cannot
-- place is unknown; the usage it carried is in the evidence.
INSERT INTO revguard.discrepancies
    (finding_id, kind, record_id, bill_record_id, msisdn, element_id, amount, event_time, detected_at, evidence)
WITH
    provisioned AS (
        SELECT msisdn, imsi, provisioned_at
        FROM revguard.provisioning FINAL
        WHERE status = 'active'
          AND msisdn NOT IN (SELECT msisdn FROM revguard.subscribers FINAL WHERE status = 'active')
    ),
    usage AS (
        SELECT msisdn, min(start_time) AS first_usage, max(start_time) AS last_usage, count() AS records,
               groupUniqArray(service) AS services
        FROM revguard.network_usage FINAL
        WHERE msisdn IN (SELECT msisdn FROM provisioned)
        GROUP BY msisdn
    ),
    billing AS (
        SELECT msisdn, status FROM revguard.subscribers FINAL
        WHERE msisdn IN (SELECT msisdn FROM provisioned)
    )
SELECT
    lower(hex(substring(SHA256(concat('unbilled_subscriber|', p.msisdn)), 1, 16))),
    'unbilled_subscriber',
    '',
    '',
    p.msisdn,
    '',
    toDecimal64(0, 6),
    u.first_usage,
    {detected_at:DateTime64(3, 'UTC')},
    formatRowNoNewline('JSONEachRow',
        'active' AS provisioning_status,
        p.imsi AS imsi,
        if(s.msisdn = '', 'absent', toString(s.status)) AS billing_status,
        u.records AS network_records,
        arraySort(u.services) AS services,
        formatDateTime(u.first_usage, '%Y-%m-%dT%H:%i:%SZ', 'UTC') AS first_usage,
        formatDateTime(u.last_usage, '%Y-%m-%dT%H:%i:%SZ', 'UTC') AS last_usage)
FROM provisioned AS p
INNER JOIN usage AS u ON u.msisdn = p.msisdn
LEFT JOIN billing AS s ON s.msisdn = p.msisdn
WHERE u.first_usage >= {since:DateTime64(3, 'UTC')} AND u.first_usage < {until:DateTime64(3, 'UTC')}
