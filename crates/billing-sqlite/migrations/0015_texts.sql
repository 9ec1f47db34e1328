-- Text messages (SMS) beside emails.
--
-- A customer may give a mobile number (E.164, checked by the core before it is stored); payment
-- links, card requests and automation's notices can then go to it by text. A text is queued,
-- retried and logged in `notifications` like an email (its `to_address` is the number, its
-- `text_body` what it says), told apart by `channel`.
ALTER TABLE customers ADD COLUMN phone TEXT CHECK (phone IS NULL OR phone LIKE '+%');

ALTER TABLE notifications ADD COLUMN channel TEXT NOT NULL DEFAULT 'email'
    CHECK (channel IN ('email', 'text'));
-- After the provider took a text (`state` 'sent', its message id in `outcome`), the carrier
-- reports whether it reached the handset: the furthest report so far, its error code, and when
-- it came.
ALTER TABLE notifications ADD COLUMN carrier_status TEXT
    CHECK (carrier_status IN ('queued', 'sent', 'delivered', 'undelivered', 'failed'));
ALTER TABLE notifications ADD COLUMN carrier_error TEXT;
ALTER TABLE notifications ADD COLUMN carrier_at TEXT;

-- A provider's report names the text by the provider's message id alone (and no business).
CREATE INDEX notifications_by_text_reference ON notifications (outcome)
    WHERE channel = 'text' AND state = 'sent';

-- Numbers that replied STOP. Texts leave from the platform's number for every business, and
-- the provider refuses every later text from it to them, so the choice is the number's, not a
-- business's. A START reply keeps the row with `opted_out` 0; `changed_at` keeps the latest
-- reply (replies may arrive out of order). Times as in `notifications`.
CREATE TABLE text_opt_outs (
    phone      TEXT    NOT NULL PRIMARY KEY,
    opted_out  INTEGER NOT NULL CHECK (opted_out IN (0, 1)),
    changed_at TEXT    NOT NULL
) WITHOUT ROWID;
