-- unbilled, usage_mismatch and misrated: the record-level controls that judge one network
-- record against its bills and its shadow rating, found in ONE aggregation by record_id
-- over network, billed and rated rows together. A string-keyed hash join or GROUP BY is
-- the dominant cost of every control here, so one pass instead of three joins is the gain;
-- each side is read with FINAL (partitions never share a key: the month of start_time is
-- part of every row's identity) and the bills' aggregate carries numeric/string argMin
-- states only, which are far cheaper than tuple states.
--
-- The first bill of a record is the least (billed_at, bill_record_id): `bill_order` spells
-- that pair as one string whose byte order is that order (billed_at as 16 hex digits of
-- milliseconds offset by 2^62, so any DateTime64 sorts, then bill_record_id).
--
-- unbilled: a network record that no billed record refers to, although the billing
-- system has had the SLA to bill it. The billing clock is `as_of` (the latest billed_at
-- in the store), so a store loaded long after the fact is judged by billing's own time.
-- Usage of subscribers that billing does not have active is left to unbilled_subscriber:
-- one finding per msisdn there, not one per record here. Amount: the record's shadow
-- charge (its status='rated' row), 0 when rating has none.
--
-- usage_mismatch: the first bill's duration or volume differs from the network's. Amount:
-- shadow charge of the network quantities minus the billed charge; 0 when rating has no
-- charge. A record whose quantities differ is reported here only, never also as misrated.
--
-- misrated: quantities agree but the first bill's charge differs from the shadow charge by
-- more than `tolerance` (strictly); records rating rejected have no shadow charge and are
-- not judged. Amount: shadow charge minus billed charge (positive = under-billed). The
-- comparison is exact for a charge of any number of places: `charge` is the bill rounded to
-- the micro-unit and `charge_beyond_micro` the sign of what the bill has beyond it (less than
-- half a micro-unit), so with d = shadow - charge in whole micro-units and a tolerance t in
-- whole micro-units, |shadow - exact| > t exactly when |d| > t, or d = t and the bill is
-- below its rounding (beyond < 0), or d = -t and it is above (beyond > 0).
--
-- bill_rejected: a network record with no accepted bill whose bill did arrive but was refused
-- at load (a `rejects` row of stream `billed` naming its record_id, read from the raw text so
-- that a line that is not JSON still names it). It is never `unbilled`: the bill exists, the
-- operator's data needs mending, and its money is not leakage (not in LEAKAGE_KINDS). Amount:
-- the record's shadow charge, the revenue whose bill could not be checked. Evidence: the
-- refused bill's reason, raw text and position, and how many refused bills name the record.
INSERT INTO revguard.discrepancies
    (finding_id, kind, record_id, bill_record_id, msisdn, element_id, amount, event_time, detected_at, evidence)
WITH
    rows AS (
        SELECT 1 AS side, record_id, msisdn, service, start_time, duration_s, volume_bytes, element_id,
               '' AS bill_order, toDecimal64(0, 6) AS charge, '' AS status, '' AS reason,
               '' AS plan_id, '' AS dest_class, '' AS roaming_zone, false AS offpeak,
               toUInt64(0) AS allowance_units, toUInt64(0) AS charged_units,
               toInt8(0) AS beyond, '' AS charge_exact, '' AS raw, '' AS source
        FROM revguard.network_usage FINAL
        WHERE start_time >= {since:DateTime64(3, 'UTC')} AND start_time < {until:DateTime64(3, 'UTC')}
        UNION ALL
        SELECT 2, record_id, '', '', toDateTime64(0, 3, 'UTC'), duration_s, volume_bytes, '',
               concat(leftPad(hex(toUInt64(toUnixTimestamp64Milli(billed_at) + 4611686018427387904)), 16, '0'),
                      bill_record_id),
               charge, '', '', '', '', '', false, 0, 0, charge_beyond_micro, charge_exact, '', ''
        FROM revguard.billed_usage FINAL
        WHERE record_id != ''
        UNION ALL
        SELECT 3, record_id, '', '', toDateTime64(0, 3, 'UTC'), 0, 0, '', '', charge, status, reason,
               plan_id, dest_class, roaming_zone, offpeak, allowance_units, charged_units, 0, '', '', ''
        FROM revguard.rated_usage FINAL
        WHERE status IN ('rated', 'rejected')
          AND start_time >= {since:DateTime64(3, 'UTC')} AND start_time < {until:DateTime64(3, 'UTC')}
        UNION ALL
        SELECT 4, trimBoth(extract(raw, '"record_id"\\s*:\\s*"([^"]*)"')), '', '', toDateTime64(0, 3, 'UTC'), 0, 0, '',
               source, toDecimal64(0, 6), '', reason, '', '', '', false, 0, 0, 0, '', raw, source
        FROM revguard.rejects FINAL
        WHERE stream = 'billed'
    ),
    records AS (
        SELECT
            record_id,
            countIf(side = 1) AS on_network,
            anyIf(msisdn, side = 1) AS msisdn,
            anyIf(service, side = 1) AS service,
            anyIf(start_time, side = 1) AS start_time,
            anyIf(duration_s, side = 1) AS network_duration_s,
            anyIf(volume_bytes, side = 1) AS network_volume_bytes,
            anyIf(element_id, side = 1) AS element_id,
            countIf(side = 2) AS bills,
            minIf(bill_order, side = 2) AS first_bill_order,
            argMinIf(duration_s, bill_order, side = 2) AS billed_duration_s,
            argMinIf(volume_bytes, bill_order, side = 2) AS billed_volume_bytes,
            argMinIf(charge, bill_order, side = 2) AS billed_charge,
            argMinIf(beyond, bill_order, side = 2) AS billed_beyond,
            argMinIf(charge_exact, bill_order, side = 2) AS billed_charge_exact,
            countIf(side = 4) AS refused_bills,
            minIf(bill_order, side = 4) AS first_refused_source,
            argMinIf(reason, bill_order, side = 4) AS refused_reason,
            argMinIf(raw, bill_order, side = 4) AS refused_raw,
            countIf(side = 3 AND status = 'rated') AS rated,
            countIf(side = 3 AND status = 'rejected') AS rejected,
            anyIf(charge, side = 3 AND status = 'rated') AS shadow_charge,
            anyIf(reason, side = 3 AND status = 'rejected') AS shadow_reason,
            anyIf(plan_id, side = 3 AND status = 'rated') AS shadow_plan_id,
            anyIf(dest_class, side = 3 AND status = 'rated') AS shadow_dest_class,
            anyIf(roaming_zone, side = 3 AND status = 'rated') AS shadow_roaming_zone,
            anyIf(offpeak, side = 3 AND status = 'rated') AS shadow_offpeak,
            anyIf(allowance_units, side = 3 AND status = 'rated') AS shadow_allowance_units,
            anyIf(charged_units, side = 3 AND status = 'rated') AS shadow_charged_units
        FROM rows
        GROUP BY record_id
        HAVING on_network > 0
    ),
    judged AS (
        SELECT *,
            multiIf(
                bills = 0 AND refused_bills > 0, 'bill_rejected',
                bills = 0, if(start_time <= {as_of:DateTime64(3, 'UTC')} - toIntervalSecond({sla_s:UInt64}), 'unbilled', ''),
                billed_duration_s != network_duration_s OR billed_volume_bytes != network_volume_bytes, 'usage_mismatch',
                rated > 0 AND (abs(shadow_charge - billed_charge) > {tolerance:Decimal(18, 6)}
                               OR (shadow_charge - billed_charge = {tolerance:Decimal(18, 6)} AND billed_beyond < 0)
                               OR (billed_charge - shadow_charge = {tolerance:Decimal(18, 6)} AND billed_beyond > 0)), 'misrated',
                '') AS kind,
            substring(first_bill_order, 17) AS first_bill_record_id
        FROM records
    )
SELECT
    lower(hex(substring(SHA256(concat(j.kind, '|', j.record_id)), 1, 16))),
    j.kind,
    j.record_id,
    j.first_bill_record_id,
    j.msisdn,
    j.element_id,
    multiIf(j.rated = 0, toDecimal64(0, 6), j.kind IN ('unbilled', 'bill_rejected'), j.shadow_charge, j.shadow_charge - j.billed_charge),
    j.start_time,
    {detected_at:DateTime64(3, 'UTC')},
    multiIf(
        j.kind = 'unbilled', formatRowNoNewline('JSONEachRow',
            j.service AS service,
            j.network_duration_s AS network_duration_s,
            j.network_volume_bytes AS network_volume_bytes,
            if(j.rated > 0, toDecimalString(j.shadow_charge, 6), NULL) AS shadow_charge,
            multiIf(j.rated > 0, 'rated', j.rejected > 0, concat('rejected: ', j.shadow_reason), 'not rated') AS shadow_status,
            0 AS billed_records,
            formatDateTime({as_of:DateTime64(3, 'UTC')}, '%Y-%m-%dT%H:%i:%SZ', 'UTC') AS billing_as_of,
            {sla_s:UInt64} AS sla_seconds),
        j.kind = 'bill_rejected', formatRowNoNewline('JSONEachRow',
            j.service AS service,
            j.network_duration_s AS network_duration_s,
            j.network_volume_bytes AS network_volume_bytes,
            if(j.rated > 0, toDecimalString(j.shadow_charge, 6), NULL) AS shadow_charge,
            multiIf(j.rated > 0, 'rated', j.rejected > 0, concat('rejected: ', j.shadow_reason), 'not rated') AS shadow_status,
            j.refused_bills AS refused_bills,
            j.refused_reason AS reject_reason,
            j.first_refused_source AS reject_source,
            j.refused_raw AS reject_raw),
        j.kind = 'usage_mismatch', formatRowNoNewline('JSONEachRow',
            j.service AS service,
            j.network_duration_s AS network_duration_s,
            j.billed_duration_s AS billed_duration_s,
            j.network_volume_bytes AS network_volume_bytes,
            j.billed_volume_bytes AS billed_volume_bytes,
            if(j.rated > 0, toDecimalString(j.shadow_charge, 6), NULL) AS shadow_charge,
            toDecimalString(j.billed_charge, 6) AS billed_charge),
        formatRowNoNewline('JSONEachRow',
            j.service AS service,
            j.network_duration_s AS duration_s,
            j.network_volume_bytes AS volume_bytes,
            toDecimalString(j.shadow_charge, 6) AS shadow_charge,
            toDecimalString(j.billed_charge, 6) AS billed_charge,
            j.billed_charge_exact AS billed_charge_exact,
            toDecimalString(j.shadow_charge - j.billed_charge, 6) AS difference,
            toDecimalString({tolerance:Decimal(18, 6)}, 6) AS tolerance,
            j.shadow_plan_id AS plan_id,
            j.shadow_dest_class AS dest_class,
            j.shadow_roaming_zone AS roaming_zone,
            j.shadow_offpeak AS offpeak,
            j.shadow_allowance_units AS allowance_units,
            j.shadow_charged_units AS charged_units))
FROM judged AS j
WHERE j.kind != ''
  AND (j.kind != 'unbilled' OR j.msisdn NOT IN (
      SELECT msisdn FROM revguard.provisioning FINAL
      WHERE status = 'active'
        AND msisdn NOT IN (SELECT msisdn FROM revguard.subscribers FINAL WHERE status = 'active')))
SETTINGS do_not_merge_across_partitions_select_final = 1
