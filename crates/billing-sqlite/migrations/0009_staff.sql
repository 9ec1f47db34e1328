-- The people who sign in to the Ops Console: each business's members, the invitations that let
-- a member set a password, and the sessions of members signed in.
--
-- Only hashes are kept: a member's password as its PHC string (argon2id), and every invitation
-- and session token as its SHA-256 hash, as for payment links, so a leaked database lets no one
-- in. Members are keyed by `business_id` first like every tenant table; sign-in, invitations
-- and sessions are found by what the person brings (an email address, a token's hash), which
-- says whose staff they are. Times are RFC 3339 in UTC with exactly nine fractional digits, as
-- in `notifications`: fixed width, so that comparing the text compares the times.
--
-- No foreign keys to `staff_members`: the core invites and signs in only members it has just
-- read, and ends a member's sessions itself (`end_sessions_of`).

-- 1. Members.
CREATE TABLE staff_members (
    business_id   TEXT NOT NULL,
    id            TEXT NOT NULL,
    -- The sign-in address, lower case. Unique across businesses: signing in with it finds one
    -- member, and so one business.
    email         TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('owner', 'staff')),
    -- The password's hash; NULL until the member sets one through their invitation.
    password_hash TEXT,
    created_at    TEXT NOT NULL,
    PRIMARY KEY (business_id, id)
);
-- (A rowid table, like `payment_links`: with its address, name and password hash a row is a
-- few hundred bytes, more than SQLite stores well in the B-tree of a WITHOUT ROWID table.)

-- A business's members by email address: a range in index order.
CREATE INDEX staff_members_by_email ON staff_members (business_id, email);

-- 2. Invitations: at most one per member, working until `expires_at`, used once (a take
-- deletes the row, working or expired). A new invitation replaces the member's earlier one.
CREATE TABLE staff_invitations (
    -- The token's SHA-256 hash, as 64 lowercase hex digits.
    token_hash  TEXT NOT NULL PRIMARY KEY
        CHECK (length(token_hash) = 64 AND NOT token_hash GLOB '*[^0-9a-f]*'),
    business_id TEXT NOT NULL,
    staff_id    TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    UNIQUE (business_id, staff_id)
) WITHOUT ROWID;

-- 3. Sessions, found by their token's hash on every request of the console, touched as the
-- member is seen, deleted when they sign out (or all of a member's at once). A session past
-- its limits is judged by the core, and deleted when next presented.
CREATE TABLE staff_sessions (
    -- The token's SHA-256 hash, as 64 lowercase hex digits.
    token_hash   TEXT NOT NULL PRIMARY KEY
        CHECK (length(token_hash) = 64 AND NOT token_hash GLOB '*[^0-9a-f]*'),
    business_id  TEXT NOT NULL,
    staff_id     TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    -- Only ever moved forward.
    last_seen_at TEXT NOT NULL
) WITHOUT ROWID;
-- (Invitations and sessions are WITHOUT ROWID tables: their rows are under 200 bytes, and a
-- lookup by hash is then one B-tree instead of an index and the table.)

-- A member's sessions, for ending them all (a new password, a member removed).
CREATE INDEX staff_sessions_by_member ON staff_sessions (business_id, staff_id);
