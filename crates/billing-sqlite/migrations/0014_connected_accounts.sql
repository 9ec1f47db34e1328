-- A business's connected Stripe account, connected through the gateway's onboarding: what the
-- gateway last said of it (can it take charges, what is due, why it is disabled) and as of
-- when, so that an older description (a webhook event delivered late) never replaces a newer
-- one. One row per business: a business has one connected account, whoever connects it first.
-- Its id is also the business's `gateway_account`, set in the same write. Businesses given an
-- account id when they were made have no row until they go through onboarding.
--
-- Requirement lists hold one name a line; `as_of` is RFC 3339 in UTC with exactly nine
-- fractional digits, as in `notifications`, so that text order is time order.
CREATE TABLE connected_accounts (
    business_id           TEXT NOT NULL PRIMARY KEY REFERENCES businesses (id),
    account               TEXT NOT NULL CHECK (account LIKE 'acct\_%' ESCAPE '\'),
    charges_enabled       BOOLEAN NOT NULL,
    payouts_enabled       BOOLEAN NOT NULL,
    details_submitted     BOOLEAN NOT NULL,
    requirements_due      TEXT NOT NULL,
    requirements_past_due TEXT NOT NULL,
    disabled_reason       TEXT,
    as_of                 TEXT NOT NULL
) WITHOUT ROWID;
