-- A link that staff open themselves at the desk (to type a customer's new card) keeps the page
-- of this service that its last page offers to go back to: a path on the same origin, checked
-- by the core before it is stored. NULL for every link sent to a customer.
ALTER TABLE payment_links ADD COLUMN desk_return text CHECK (desk_return IS NULL OR desk_return LIKE '/%');
