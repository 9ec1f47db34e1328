//! The [`StaffAccounts`] port on SQLite: the console's members, found by id or by email
//! address; their invitations and sessions, found by their token's hash.

use std::sync::LazyLock;

use async_trait::async_trait;
use billing_core::ids::{BusinessId, StaffId};
use billing_core::link::TokenHash;
use billing_core::ports::{StaffAccounts, StaffStoreError};
use billing_core::staff::{StaffMember, StaffSession};
use billing_sql::errors::{is_unique_violation, staff_error};
use billing_sql::rows::{InvitationRow, SESSION_COLUMNS, STAFF_COLUMNS, SessionRow, StaffRow};
use chrono::{DateTime, Utc};

use crate::store::{SqliteStore, time_text};

/// One member by key.
static BY_ID: LazyLock<String> = LazyLock::new(|| {
    format!("SELECT {STAFF_COLUMNS} FROM staff_members WHERE business_id = ?1 AND id = ?2")
});

/// One member by email address, of whichever business.
static BY_EMAIL: LazyLock<String> =
    LazyLock::new(|| format!("SELECT {STAFF_COLUMNS} FROM staff_members WHERE email = ?1"));

/// A business's members, by email address (a range of staff_members_by_email, in its order).
static OF_BUSINESS: LazyLock<String> = LazyLock::new(|| {
    format!("SELECT {STAFF_COLUMNS} FROM staff_members WHERE business_id = ?1 ORDER BY email")
});

/// One session by its token's hash.
static SESSION: LazyLock<String> =
    LazyLock::new(|| format!("SELECT {SESSION_COLUMNS} FROM staff_sessions WHERE token_hash = ?1"));

#[async_trait]
impl StaffAccounts for SqliteStore {
    async fn add_staff(
        &self,
        business: &BusinessId,
        member: &StaffMember,
    ) -> Result<(), StaffStoreError> {
        let business = business.as_str().to_owned();
        let member = member.clone();
        self.with_writer(move |conn| {
            Box::pin(async move {
                // One statement: the email's UNIQUE constraint refuses an address taken in any
                // business with nothing written.
                let inserted = sqlx::query(
                    "INSERT INTO staff_members (business_id, id, email, name, role, \
                     password_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )
                .bind(business)
                .bind(member.id.as_str())
                .bind(&member.email)
                .bind(&member.name)
                .bind(member.role.name())
                .bind(&member.password_hash)
                .bind(time_text(&member.created_at))
                .execute(conn)
                .await;
                match inserted {
                    Ok(_) => Ok(()),
                    Err(error) if is_unique_violation(&error) => {
                        Err(StaffStoreError::EmailTaken(member.email))
                    }
                    Err(error) => Err(staff_error(error)),
                }
            })
        })
        .await
    }

    async fn staff_by_email(
        &self,
        email: &str,
    ) -> Result<Option<(BusinessId, StaffMember)>, StaffStoreError> {
        let email = email.to_owned();
        let row: Option<StaffRow> = self
            .with_reader(move |conn| {
                Box::pin(async move {
                    sqlx::query_as(BY_EMAIL.as_str())
                        .bind(email)
                        .fetch_optional(conn)
                        .await
                        .map_err(staff_error)
                })
            })
            .await?;
        Ok(row.map(StaffRow::into_entry).transpose()?)
    }

    async fn staff_member(
        &self,
        business: &BusinessId,
        id: &StaffId,
    ) -> Result<Option<StaffMember>, StaffStoreError> {
        let (business, id) = (business.as_str().to_owned(), id.as_str().to_owned());
        let row: Option<StaffRow> = self
            .with_reader(move |conn| {
                Box::pin(async move {
                    sqlx::query_as(BY_ID.as_str())
                        .bind(business)
                        .bind(id)
                        .fetch_optional(conn)
                        .await
                        .map_err(staff_error)
                })
            })
            .await?;
        Ok(row.map(StaffRow::into_member).transpose()?)
    }

    async fn list_staff(&self, business: &BusinessId) -> Result<Vec<StaffMember>, StaffStoreError> {
        let business = business.as_str().to_owned();
        let rows: Vec<StaffRow> = self
            .with_reader(move |conn| {
                Box::pin(async move {
                    sqlx::query_as(OF_BUSINESS.as_str())
                        .bind(business)
                        .fetch_all(conn)
                        .await
                        .map_err(staff_error)
                })
            })
            .await?;
        Ok(rows
            .into_iter()
            .map(StaffRow::into_member)
            .collect::<Result<_, _>>()?)
    }

    async fn set_password_hash(
        &self,
        business: &BusinessId,
        id: &StaffId,
        hash: &str,
    ) -> Result<bool, StaffStoreError> {
        let (business, id) = (business.as_str().to_owned(), id.as_str().to_owned());
        let hash = hash.to_owned();
        self.with_writer(move |conn| {
            Box::pin(async move {
                sqlx::query(
                    "UPDATE staff_members SET password_hash = ?3 \
                     WHERE business_id = ?1 AND id = ?2",
                )
                .bind(business)
                .bind(id)
                .bind(hash)
                .execute(conn)
                .await
                .map(|done| done.rows_affected() == 1)
                .map_err(staff_error)
            })
        })
        .await
    }

    async fn put_invitation(
        &self,
        business: &BusinessId,
        staff: &StaffId,
        token: &TokenHash,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StaffStoreError> {
        let (business, staff) = (business.as_str().to_owned(), staff.as_str().to_owned());
        let (token, expires_at) = (token.to_hex(), time_text(&expires_at));
        self.with_writer(move |conn| {
            Box::pin(async move {
                // One statement: the member's earlier invitation, if any, becomes this one, so
                // its token no longer works.
                sqlx::query(
                    "INSERT INTO staff_invitations (token_hash, business_id, staff_id, \
                     expires_at) VALUES (?1, ?2, ?3, ?4) \
                     ON CONFLICT (business_id, staff_id) DO UPDATE SET \
                     token_hash = excluded.token_hash, expires_at = excluded.expires_at",
                )
                .bind(token)
                .bind(business)
                .bind(staff)
                .bind(expires_at)
                .execute(conn)
                .await
                .map(drop)
                .map_err(staff_error)
            })
        })
        .await
    }

    async fn take_invitation(
        &self,
        token: &TokenHash,
        now: DateTime<Utc>,
    ) -> Result<Option<(BusinessId, StaffId)>, StaffStoreError> {
        let token = token.to_hex();
        // Deleted and read in one statement of the writer's transaction: of two uses (from
        // this process or another), only the first finds the row. Expired or not, it is gone.
        let row: Option<InvitationRow> = self
            .with_writer(move |conn| {
                Box::pin(async move {
                    sqlx::query_as(
                        "DELETE FROM staff_invitations WHERE token_hash = ?1 \
                         RETURNING business_id, staff_id, expires_at",
                    )
                    .bind(token)
                    .fetch_optional(conn)
                    .await
                    .map_err(staff_error)
                })
            })
            .await?;
        Ok(row.map(|row| row.working_at(now)).transpose()?.flatten())
    }

    async fn create_session(
        &self,
        token: &TokenHash,
        session: &StaffSession,
    ) -> Result<(), StaffStoreError> {
        let token = token.to_hex();
        let (business, staff) = (
            session.business.as_str().to_owned(),
            session.staff.as_str().to_owned(),
        );
        let (created_at, last_seen_at) = (
            time_text(&session.created_at),
            time_text(&session.last_seen_at),
        );
        self.with_writer(move |conn| {
            Box::pin(async move {
                sqlx::query(
                    "INSERT INTO staff_sessions (token_hash, business_id, staff_id, created_at, \
                     last_seen_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .bind(token)
                .bind(business)
                .bind(staff)
                .bind(created_at)
                .bind(last_seen_at)
                .execute(conn)
                .await
                .map(drop)
                .map_err(staff_error)
            })
        })
        .await
    }

    async fn staff_session(
        &self,
        token: &TokenHash,
    ) -> Result<Option<StaffSession>, StaffStoreError> {
        let token = token.to_hex();
        let row: Option<SessionRow> = self
            .with_reader(move |conn| {
                Box::pin(async move {
                    sqlx::query_as(SESSION.as_str())
                        .bind(token)
                        .fetch_optional(conn)
                        .await
                        .map_err(staff_error)
                })
            })
            .await?;
        Ok(row.map(SessionRow::into_session).transpose()?)
    }

    async fn touch_session(
        &self,
        token: &TokenHash,
        at: DateTime<Utc>,
    ) -> Result<(), StaffStoreError> {
        let (token, at) = (token.to_hex(), time_text(&at));
        self.with_writer(move |conn| {
            Box::pin(async move {
                // Forward only: of two requests touching at once, the later time stays,
                // whichever lands last. `max` of the fixed-width texts is the later time.
                sqlx::query(
                    "UPDATE staff_sessions SET last_seen_at = max(last_seen_at, ?2) \
                     WHERE token_hash = ?1",
                )
                .bind(token)
                .bind(at)
                .execute(conn)
                .await
                .map(drop)
                .map_err(staff_error)
            })
        })
        .await
    }

    async fn end_session(&self, token: &TokenHash) -> Result<(), StaffStoreError> {
        let token = token.to_hex();
        self.with_writer(move |conn| {
            Box::pin(async move {
                sqlx::query("DELETE FROM staff_sessions WHERE token_hash = ?1")
                    .bind(token)
                    .execute(conn)
                    .await
                    .map(drop)
                    .map_err(staff_error)
            })
        })
        .await
    }

    async fn end_sessions_of(
        &self,
        business: &BusinessId,
        staff: &StaffId,
    ) -> Result<(), StaffStoreError> {
        let (business, staff) = (business.as_str().to_owned(), staff.as_str().to_owned());
        self.with_writer(move |conn| {
            Box::pin(async move {
                // A range of staff_sessions_by_member.
                sqlx::query("DELETE FROM staff_sessions WHERE business_id = ?1 AND staff_id = ?2")
                    .bind(business)
                    .bind(staff)
                    .execute(conn)
                    .await
                    .map(drop)
                    .map_err(staff_error)
            })
        })
        .await
    }
}
