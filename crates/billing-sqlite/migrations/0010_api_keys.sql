-- API keys that a business can list and revoke, and staff members that an owner can remove.
--
-- 1. API keys. Until now a key was only its SHA-256 hash and its business. Each key now has an
-- id (named by the engine, not secret), a label, a hint that recognises it without revealing
-- it (its kind and last four characters: `bk_live_…3f9a`), when it was made and when it was
-- revoked. A revoked key stays listed and authenticates nothing. Times are RFC 3339 in UTC
-- with exactly nine fractional digits, as in `notifications`.
--
-- The table is rebuilt (SQLite cannot add a NOT NULL column without a constant default).
-- Existing keys get a random id, the label "API key", no hint (their text was never kept),
-- and the migration's time as their creation.
CREATE TABLE api_keys_listed (
    -- The key's SHA-256 hash: what a request's key is looked up by.
    key_hash    TEXT NOT NULL PRIMARY KEY,
    business_id TEXT NOT NULL REFERENCES businesses (id),
    id          TEXT NOT NULL,
    label       TEXT NOT NULL CHECK (length(label) BETWEEN 1 AND 100),
    hint        TEXT,
    created_at  TEXT NOT NULL,
    -- NULL while the key works.
    revoked_at  TEXT,
    -- A business's keys by id (revoking one), and all of them (listing): a range of this index.
    UNIQUE (business_id, id)
) WITHOUT ROWID;

INSERT INTO api_keys_listed (key_hash, business_id, id, label, hint, created_at, revoked_at)
SELECT key_hash, business_id, 'key_' || lower(hex(randomblob(16))), 'API key', NULL,
    strftime('%Y-%m-%dT%H:%M:%S', 'now') || '.000000000Z', NULL
FROM api_keys;

-- Drops `api_keys_by_business` with it: the UNIQUE index above serves its lookups.
DROP TABLE api_keys;
ALTER TABLE api_keys_listed RENAME TO api_keys;

-- 2. Staff members removed by an owner: they can no longer sign in, and stay (with their name)
-- for the payment history, which names the member who made each move. NULL while active.
ALTER TABLE staff_members ADD COLUMN removed_at TEXT;
