-- A booking page's checkout: a payment link (or card request) for one booking that also says
-- what its page does by the booking's payment policy and where it returns the customer.
-- `{"v": 1, "booking": id, "step": "charge" | "hold" | "save_card", "return_url": url}`;
-- NULL for links staff send. Read whole with the link, never queried apart.
ALTER TABLE payment_links ADD COLUMN checkout json;
