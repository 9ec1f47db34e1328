//! The [`StaffAccounts`] port on SQLite: the console's members, found by id or by email
//! address; their invitations and sessions, found by their token's hash.

use std::sync::LazyLock;

use async_trait::async_trait;
use billing_core::ids::{BusinessId, StaffId};
use billing_core::link::TokenHash;
use billing_core::ports::{StaffAccounts, StaffPurge, StaffRemoval, StaffStoreError};
use billing_core::staff::{StaffMember, StaffRole, StaffSession};
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

/// Marks one member removed (unless they were), answering them.
static REMOVE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE staff_members SET removed_at = coalesce(removed_at, ?3) \
         WHERE business_id = ?1 AND id = ?2 RETURNING {STAFF_COLUMNS}"
    )
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
                     password_hash, created_at, removed_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )
                .bind(business)
                .bind(member.id.as_str())
                .bind(&member.email)
                .bind(&member.name)
                .bind(member.role.name())
                .bind(&member.password_hash)
                .bind(time_text(&member.created_at))
                .bind(member.removed_at.as_ref().map(time_text))
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

    async fn remove_staff(
        &self,
        business: &BusinessId,
        id: &StaffId,
        at: DateTime<Utc>,
    ) -> Result<StaffRemoval, StaffStoreError> {
        let (business, id, at) = (
            business.as_str().to_owned(),
            id.as_str().to_owned(),
            time_text(&at),
        );
        // One job of the single writer: no other write comes between the count of owners and
        // the removal, and the member's sessions and invitation go with it.
        self.with_writer(move |conn| {
            Box::pin(async move {
                let found: Option<StaffRow> = sqlx::query_as(BY_ID.as_str())
                    .bind(&business)
                    .bind(&id)
                    .fetch_optional(&mut *conn)
                    .await
                    .map_err(staff_error)?;
                let Some(found) = found.map(StaffRow::into_member).transpose()? else {
                    return Ok(StaffRemoval::NotFound);
                };
                if found.is_active() && found.role == StaffRole::Owner {
                    let owners: i64 = sqlx::query_scalar(
                        "SELECT count(*) FROM staff_members WHERE business_id = ?1 \
                         AND role = 'owner' AND removed_at IS NULL",
                    )
                    .bind(&business)
                    .fetch_one(&mut *conn)
                    .await
                    .map_err(staff_error)?;
                    if owners <= 1 {
                        return Ok(StaffRemoval::LastOwner);
                    }
                }
                let removed: StaffRow = sqlx::query_as(REMOVE.as_str())
                    .bind(&business)
                    .bind(&id)
                    .bind(&at)
                    .fetch_one(&mut *conn)
                    .await
                    .map_err(staff_error)?;
                for sql in [
                    "DELETE FROM staff_sessions WHERE business_id = ?1 AND staff_id = ?2",
                    "DELETE FROM staff_invitations WHERE business_id = ?1 AND staff_id = ?2",
                ] {
                    sqlx::query(sql)
                        .bind(&business)
                        .bind(&id)
                        .execute(&mut *conn)
                        .await
                        .map_err(staff_error)?;
                }
                Ok(StaffRemoval::Removed(removed.into_member()?))
            })
        })
        .await
    }

    async fn purge_staff_tokens(
        &self,
        seen_by: DateTime<Utc>,
        made_by: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<StaffPurge, StaffStoreError> {
        let (seen_by, made_by, now) = (time_text(&seen_by), time_text(&made_by), time_text(&now));
        self.with_writer(move |conn| {
            Box::pin(async move {
                // Comparing the fixed-width texts compares the times.
                let sessions = sqlx::query(
                    "DELETE FROM staff_sessions WHERE last_seen_at <= ?1 OR created_at <= ?2",
                )
                .bind(seen_by)
                .bind(made_by)
                .execute(&mut *conn)
                .await
                .map_err(staff_error)?
                .rows_affected();
                let invitations =
                    sqlx::query("DELETE FROM staff_invitations WHERE expires_at <= ?1")
                        .bind(now)
                        .execute(&mut *conn)
                        .await
                        .map_err(staff_error)?
                        .rows_affected();
                Ok(StaffPurge {
                    sessions,
                    invitations,
                })
            })
        })
        .await
    }
}
