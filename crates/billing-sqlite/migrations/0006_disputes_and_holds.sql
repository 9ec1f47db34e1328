-- Disputes on summaries, and the bookings that hold money found by index.
--
-- Entries and first answers need no change of schema: their JSON bodies carry who made a
-- record, a hold's multicapture and disputes from billing-sql's format version 2 on, and rows
-- of version 1 read as they are.

-- 1. Disputed bookings.
--
-- Whether a payment of the booking is disputed (a dispute open, or lost), as the summary was
-- last written. No dispute was ever recorded before this version: every summary written
-- before is undisputed.
ALTER TABLE booking_summaries ADD COLUMN disputed INTEGER NOT NULL DEFAULT 0
    CHECK (disputed IN (0, 1));

-- 2. Bookings that hold money.
--
-- The sweep pages through the bookings of a business whose summary counts a hold
-- (`held_minor > 0`), in booking order, to find holds whose time ran out. Few bookings hold
-- money at any time: a partial index of them alone, in page order, so that a page is a range
-- of it whatever the number of bookings.
CREATE INDEX booking_summaries_holding ON booking_summaries (business_id, booking_id)
    WHERE held_minor > 0;
