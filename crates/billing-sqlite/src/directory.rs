//! The [`CustomerDirectory`] port on SQLite: customers and their saved cards, per business.

use async_trait::async_trait;
use billing_core::customer::{Customer, SavedCard};
use billing_core::ids::{BusinessId, CustomerId};
use billing_core::ports::{CustomerDirectory, DirectoryError};
use billing_sql::errors::directory_error;
use billing_sql::rows::{CardRow, CustomerRow};

use crate::store::SqliteStore;

#[async_trait]
impl CustomerDirectory for SqliteStore {
    async fn put_customer(
        &self,
        business: &BusinessId,
        customer: &Customer,
    ) -> Result<(), DirectoryError> {
        let business = business.as_str().to_owned();
        let customer = customer.clone();
        self.with_writer(move |conn| {
            Box::pin(async move {
                sqlx::query(
                    "INSERT INTO customers (business_id, id, name, email, phone, gateway_customer) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (business_id, id) \
                     DO UPDATE SET name = excluded.name, email = excluded.email, \
                     phone = excluded.phone, gateway_customer = excluded.gateway_customer",
                )
                .bind(business)
                .bind(String::from(customer.id))
                .bind(customer.name)
                .bind(customer.email)
                .bind(customer.phone.as_ref().map(|p| p.as_str().to_owned()))
                .bind(customer.gateway_customer)
                .execute(conn)
                .await
                .map(drop)
                .map_err(directory_error)
            })
        })
        .await
    }

    async fn customer(
        &self,
        business: &BusinessId,
        id: &CustomerId,
    ) -> Result<Option<Customer>, DirectoryError> {
        let (business, id) = (business.as_str().to_owned(), id.as_str().to_owned());
        let row: Option<CustomerRow> = self
            .with_reader(move |conn| {
                Box::pin(async move {
                    sqlx::query_as(
                        "SELECT id, name, email, phone, gateway_customer FROM customers \
                         WHERE business_id = ?1 AND id = ?2",
                    )
                    .bind(business)
                    .bind(id)
                    .fetch_optional(conn)
                    .await
                    .map_err(directory_error)
                })
            })
            .await?;
        Ok(row.map(CustomerRow::into_customer).transpose()?)
    }

    async fn list_customers(
        &self,
        business: &BusinessId,
        after: Option<&CustomerId>,
        limit: u32,
    ) -> Result<Vec<Customer>, DirectoryError> {
        let business = business.as_str().to_owned();
        let after = after.map(|c| c.as_str().to_owned());
        let rows: Vec<CustomerRow> = self
            .with_reader(move |conn| {
                Box::pin(async move {
                    // `?2 IS NULL` on a bound text is cheap here: the primary key's range
                    // serves both cases.
                    sqlx::query_as(
                        "SELECT id, name, email, phone, gateway_customer FROM customers \
                         WHERE business_id = ?1 AND (?2 IS NULL OR id > ?2) ORDER BY id LIMIT ?3",
                    )
                    .bind(business)
                    .bind(after)
                    .bind(i64::from(limit))
                    .fetch_all(conn)
                    .await
                    .map_err(directory_error)
                })
            })
            .await?;
        Ok(rows
            .into_iter()
            .map(CustomerRow::into_customer)
            .collect::<Result<_, _>>()?)
    }

    async fn put_card(
        &self,
        business: &BusinessId,
        customer: &CustomerId,
        card: &SavedCard,
    ) -> Result<(), DirectoryError> {
        let (business, customer) = (business.as_str().to_owned(), customer.as_str().to_owned());
        let card = card.clone();
        // One job: clearing the other defaults and saving the card land together.
        self.with_writer(move |conn| {
            Box::pin(async move {
                if card.is_default {
                    sqlx::query(
                        "UPDATE saved_cards SET is_default = 0 \
                         WHERE business_id = ?1 AND customer_id = ?2 AND is_default = 1",
                    )
                    .bind(&business)
                    .bind(&customer)
                    .execute(&mut *conn)
                    .await
                    .map_err(directory_error)?;
                }
                sqlx::query(
                    "INSERT INTO saved_cards (business_id, customer_id, payment_method, brand, \
                     last4, exp_month, exp_year, is_default) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) \
                     ON CONFLICT (business_id, customer_id, payment_method) DO UPDATE SET \
                     brand = excluded.brand, last4 = excluded.last4, \
                     exp_month = excluded.exp_month, exp_year = excluded.exp_year, \
                     is_default = excluded.is_default",
                )
                .bind(&business)
                .bind(&customer)
                .bind(card.payment_method)
                .bind(card.brand)
                .bind(card.last4)
                .bind(i64::from(card.exp_month))
                .bind(i64::from(card.exp_year))
                .bind(card.is_default)
                .execute(&mut *conn)
                .await
                .map(drop)
                .map_err(directory_error)
            })
        })
        .await
    }

    async fn remove_card(
        &self,
        business: &BusinessId,
        customer: &CustomerId,
        payment_method: &str,
    ) -> Result<bool, DirectoryError> {
        let (business, customer) = (business.as_str().to_owned(), customer.as_str().to_owned());
        let payment_method = payment_method.to_owned();
        self.with_writer(move |conn| {
            Box::pin(async move {
                sqlx::query(
                    "DELETE FROM saved_cards \
                     WHERE business_id = ?1 AND customer_id = ?2 AND payment_method = ?3",
                )
                .bind(business)
                .bind(customer)
                .bind(payment_method)
                .execute(conn)
                .await
                .map(|done| done.rows_affected() > 0)
                .map_err(directory_error)
            })
        })
        .await
    }

    async fn cards(
        &self,
        business: &BusinessId,
        customer: &CustomerId,
    ) -> Result<Vec<SavedCard>, DirectoryError> {
        let (business, customer) = (business.as_str().to_owned(), customer.as_str().to_owned());
        let rows: Vec<CardRow> = self
            .with_reader(move |conn| {
                Box::pin(async move {
                    sqlx::query_as(
                        "SELECT payment_method, brand, last4, exp_month, exp_year, is_default \
                         FROM saved_cards WHERE business_id = ?1 AND customer_id = ?2 \
                         ORDER BY is_default DESC, payment_method",
                    )
                    .bind(business)
                    .bind(customer)
                    .fetch_all(conn)
                    .await
                    .map_err(directory_error)
                })
            })
            .await?;
        Ok(rows
            .into_iter()
            .map(CardRow::into_card)
            .collect::<Result<_, _>>()?)
    }
}
