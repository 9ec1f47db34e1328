-- The people who sign in to the Ops Console: each business's members, the invitations that let
-- a member set a password, and the sessions of members signed in.
--
-- Only hashes are kept: a member's password as its PHC string (argon2id), and every invitation
-- and session token as its SHA-256 hash, as for payment links, so a leaked database lets no one
-- in. Members are keyed by `business_id` first like every tenant table; sign-in, invitations
-- and sessions are found by what the person brings (an email address, a token's hash), which
-- says whose staff they are. Ids, hashes and addresses use the "C" collation (byte order), as
-- in the other tables: a business's members are listed in the order the in-memory reference
-- store sorts their addresses.
--
-- No foreign keys to `staff_members`: the core invites and signs in only members it has just
-- read, and ends a member's sessions itself (`end_sessions_of`); each check would cost a
-- lookup on every sign-in.

-- 1. Members.
CREATE TABLE staff_members (
    business_id   TEXT COLLATE "C" NOT NULL,
    id            TEXT COLLATE "C" NOT NULL,
    -- The sign-in address, lower case. Unique across businesses: signing in with it finds one
    -- member, and so one business.
    email         TEXT COLLATE "C" NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('owner', 'staff')),
    -- The password's hash; NULL until the member sets one through their invitation.
    password_hash TEXT,
    created_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (business_id, id)
);

-- A business's members by email address are a range of the primary key, sorted: a business
-- has few, and the planner sorts them rather than read an index of addresses in order.

-- 2. Invitations: at most one per member, working until `expires_at`, used once (a take
-- deletes the row, working or expired). A new invitation replaces the member's earlier one.
CREATE TABLE staff_invitations (
    -- The token's SHA-256 hash, as 64 lowercase hex digits.
    token_hash  TEXT COLLATE "C" PRIMARY KEY CHECK (token_hash ~ '^[0-9a-f]{64}$'),
    business_id TEXT COLLATE "C" NOT NULL,
    staff_id    TEXT COLLATE "C" NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL,
    UNIQUE (business_id, staff_id)
);

-- 3. Sessions, found by their token's hash on every request of the console, touched as the
-- member is seen, deleted when they sign out (or all of a member's at once). A session past
-- its limits is judged by the core, and deleted when next presented.
CREATE TABLE staff_sessions (
    -- The token's SHA-256 hash, as 64 lowercase hex digits.
    token_hash   TEXT COLLATE "C" PRIMARY KEY CHECK (token_hash ~ '^[0-9a-f]{64}$'),
    business_id  TEXT COLLATE "C" NOT NULL,
    staff_id     TEXT COLLATE "C" NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    -- Only ever moved forward.
    last_seen_at TIMESTAMPTZ NOT NULL
);

-- A member's sessions, for ending them all (a new password, a member removed).
CREATE INDEX staff_sessions_by_member ON staff_sessions (business_id, staff_id);
