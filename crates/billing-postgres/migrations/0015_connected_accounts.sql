-- A business's connected Stripe account, connected through the gateway's onboarding: what the
-- gateway last said of it (can it take charges, what is due, why it is disabled) and as of
-- when, so that an older description (a webhook event delivered late) never replaces a newer
-- one. One row per business: a business has one connected account, whoever connects it first
-- (connecting locks the business's row). Its id is also the business's `gateway_account`, set
-- in the same transaction. Businesses given an account id when they were made have no row
-- until they go through onboarding. Requirement lists hold one name a line.
CREATE TABLE connected_accounts (
    business_id           text NOT NULL PRIMARY KEY REFERENCES businesses (id),
    account               text NOT NULL CHECK (account LIKE 'acct\_%'),
    charges_enabled       boolean NOT NULL,
    payouts_enabled       boolean NOT NULL,
    details_submitted     boolean NOT NULL,
    requirements_due      text NOT NULL,
    requirements_past_due text NOT NULL,
    disabled_reason       text,
    as_of                 timestamptz NOT NULL
);
