-- revguard schema, version 3: billed charges exactly as the billing system wrote them.
--
-- Billing systems keep four to eight places; `charge` stays Decimal(18, 6), the charge
-- rounded half away from zero to the micro-unit, which every sum, finding and KPI uses.
-- `charge_exact` is the exact value as plain decimal text (any number of places), and
-- `charge_beyond_micro` the sign of `charge_exact - charge` (-1, 0, 1): with it a comparison
-- against a tolerance in whole micro-units is exact whatever the number of places (see
-- assurance/sql/record_matching.sql). Rows written before this migration held charges of at
-- most six places, so their exact value is their charge.

ALTER TABLE revguard.billed_usage
    ADD COLUMN IF NOT EXISTS charge_exact String DEFAULT toString(charge) AFTER charge;

ALTER TABLE revguard.billed_usage
    ADD COLUMN IF NOT EXISTS charge_beyond_micro Int8 DEFAULT 0 AFTER charge_exact;
