-- API keys that a business can list and revoke, and staff members that an owner can remove.
--
-- 1. API keys. Until now a key was only its SHA-256 hash and its business. Each key now has an
-- id (named by the engine, not secret), a label, a hint that recognises it without revealing
-- it (its kind and last four characters: `bk_live_…3f9a`), when it was made and when it was
-- revoked. A revoked key stays listed and authenticates nothing.
--
-- Existing keys get a random id, the label "API key", no hint (their text was never kept),
-- and the migration's time as their creation; the defaults that fill them are then dropped,
-- so that every later key is written whole.
ALTER TABLE api_keys
    ADD COLUMN id         TEXT COLLATE "C",
    ADD COLUMN label      TEXT NOT NULL DEFAULT 'API key'
        CHECK (char_length(label) BETWEEN 1 AND 100),
    ADD COLUMN hint       TEXT,
    ADD COLUMN created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- NULL while the key works.
    ADD COLUMN revoked_at TIMESTAMPTZ;

UPDATE api_keys SET id = 'key_' || replace(gen_random_uuid()::text, '-', '');

ALTER TABLE api_keys
    ALTER COLUMN id SET NOT NULL,
    ALTER COLUMN label DROP DEFAULT,
    ALTER COLUMN created_at DROP DEFAULT,
    -- A business's keys by id (revoking one), and all of them (listing): a range of this
    -- index, which also serves what `api_keys_by_business` served.
    ADD CONSTRAINT api_keys_business_id_id_key UNIQUE (business_id, id);

DROP INDEX api_keys_by_business;

-- 2. Staff members removed by an owner: they can no longer sign in, and stay (with their name)
-- for the payment history, which names the member who made each move. NULL while active.
ALTER TABLE staff_members ADD COLUMN removed_at TIMESTAMPTZ;
