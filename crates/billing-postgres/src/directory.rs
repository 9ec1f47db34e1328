//! The [`CustomerDirectory`] port on PostgreSQL: customers and their saved cards, per business.

use async_trait::async_trait;
use billing_core::customer::{Customer, SavedCard};
use billing_core::ids::{BusinessId, CustomerId};
use billing_core::ports::{CustomerDirectory, DirectoryError};

use billing_sql::errors::directory_error;
use billing_sql::rows::{CardRow, CustomerRow};

use crate::pool::{on_pool, run};
use crate::store::PostgresStore;

fn customer(row: CustomerRow) -> Result<Customer, DirectoryError> {
    Ok(row.into_customer()?)
}

fn card(row: CardRow) -> Result<SavedCard, DirectoryError> {
    Ok(row.into_card()?)
}

#[async_trait]
impl CustomerDirectory for PostgresStore {
    async fn put_customer(
        &self,
        business: &BusinessId,
        customer: &Customer,
    ) -> Result<(), DirectoryError> {
        on_pool!(self, |conn| {
            sqlx::query(
                "INSERT INTO customers (business_id, id, name, email, phone, gateway_customer) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (business_id, id) \
                 DO UPDATE SET name = excluded.name, email = excluded.email, \
                 phone = excluded.phone, gateway_customer = excluded.gateway_customer",
            )
            .bind(business.as_str())
            .bind(customer.id.as_str())
            .bind(&customer.name)
            .bind(&customer.email)
            .bind(customer.phone.as_ref().map(|p| p.as_str()))
            .bind(&customer.gateway_customer)
            .execute(conn)
            .await
        })
        .map_err(directory_error)?;
        Ok(())
    }

    async fn customer(
        &self,
        business: &BusinessId,
        id: &CustomerId,
    ) -> Result<Option<Customer>, DirectoryError> {
        let row: Option<CustomerRow> = on_pool!(self, |conn| {
            sqlx::query_as(
                "SELECT id, name, email, phone, gateway_customer FROM customers \
                     WHERE business_id = $1 AND id = $2",
            )
            .bind(business.as_str())
            .bind(id.as_str())
            .fetch_optional(conn)
            .await
        })
        .map_err(directory_error)?;
        row.map(customer).transpose()
    }

    async fn list_customers(
        &self,
        business: &BusinessId,
        after: Option<&CustomerId>,
        limit: u32,
    ) -> Result<Vec<Customer>, DirectoryError> {
        // Two statements rather than `$2 IS NULL OR id > $2`, which a generic plan cannot serve
        // with an index range.
        let rows: Vec<CustomerRow> = on_pool!(self, |conn| match after {
            Some(after) => {
                sqlx::query_as(
                    "SELECT id, name, email, phone, gateway_customer FROM customers \
                         WHERE business_id = $1 AND id > $2 ORDER BY id LIMIT $3",
                )
                .bind(business.as_str())
                .bind(after.as_str())
                .bind(i64::from(limit))
                .fetch_all(conn)
                .await
            }
            None => {
                sqlx::query_as(
                    "SELECT id, name, email, phone, gateway_customer FROM customers \
                         WHERE business_id = $1 ORDER BY id LIMIT $2",
                )
                .bind(business.as_str())
                .bind(i64::from(limit))
                .fetch_all(conn)
                .await
            }
        })
        .map_err(directory_error)?;
        rows.into_iter().map(customer).collect()
    }

    async fn put_card(
        &self,
        business: &BusinessId,
        customer: &CustomerId,
        card: &SavedCard,
    ) -> Result<(), DirectoryError> {
        // One transaction: clearing the other defaults and saving the card happen together.
        // Dropping the connection on an error rolls it back.
        let mut conn = self.pool.acquire().await.map_err(directory_error)?;
        conn.begin().await.map_err(directory_error)?;
        // Two concurrent saves of a default card for one customer would each clear the other
        // defaults and then collide on the one-default index: they queue on a lock instead.
        run!(&mut conn, |conn| {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(crate::ledger::cards_lock_key(business, customer))
                .execute(conn)
                .await
        })
        .map_err(directory_error)?;
        if card.is_default {
            run!(&mut conn, |conn| {
                sqlx::query(
                    "UPDATE saved_cards SET is_default = FALSE \
                     WHERE business_id = $1 AND customer_id = $2 AND is_default",
                )
                .bind(business.as_str())
                .bind(customer.as_str())
                .execute(conn)
                .await
            })
            .map_err(directory_error)?;
        }
        run!(&mut conn, |conn| {
            sqlx::query(
                "INSERT INTO saved_cards (business_id, customer_id, payment_method, brand, \
                 last4, exp_month, exp_year, is_default) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                 ON CONFLICT (business_id, customer_id, payment_method) DO UPDATE SET \
                 brand = excluded.brand, last4 = excluded.last4, \
                 exp_month = excluded.exp_month, exp_year = excluded.exp_year, \
                 is_default = excluded.is_default",
            )
            .bind(business.as_str())
            .bind(customer.as_str())
            .bind(&card.payment_method)
            .bind(&card.brand)
            .bind(&card.last4)
            .bind(i64::from(card.exp_month))
            .bind(i64::from(card.exp_year))
            .bind(card.is_default)
            .execute(conn)
            .await
        })
        .map_err(directory_error)?;
        conn.commit().await.map_err(directory_error)
    }

    async fn remove_card(
        &self,
        business: &BusinessId,
        customer: &CustomerId,
        payment_method: &str,
    ) -> Result<bool, DirectoryError> {
        let done = on_pool!(self, |conn| {
            sqlx::query(
                "DELETE FROM saved_cards \
                     WHERE business_id = $1 AND customer_id = $2 AND payment_method = $3",
            )
            .bind(business.as_str())
            .bind(customer.as_str())
            .bind(payment_method)
            .execute(conn)
            .await
        })
        .map_err(directory_error)?;
        Ok(done.rows_affected() > 0)
    }

    async fn cards(
        &self,
        business: &BusinessId,
        customer: &CustomerId,
    ) -> Result<Vec<SavedCard>, DirectoryError> {
        let rows: Vec<CardRow> = on_pool!(self, |conn| {
            sqlx::query_as(
                "SELECT payment_method, brand, last4, exp_month, exp_year, is_default \
                     FROM saved_cards WHERE business_id = $1 AND customer_id = $2 \
                     ORDER BY is_default DESC, payment_method",
            )
            .bind(business.as_str())
            .bind(customer.as_str())
            .fetch_all(conn)
            .await
        })
        .map_err(directory_error)?;
        let mut cards = rows.into_iter().map(card).collect::<Result<Vec<_>, _>>()?;
        // The default first, then by payment method id (byte order). Sorted here: a customer
        // has a few cards, and a sort node costs more to set up on the server.
        cards.sort_by(|a, b| {
            b.is_default
                .cmp(&a.is_default)
                .then_with(|| a.payment_method.cmp(&b.payment_method))
        });
        Ok(cards)
    }
}
