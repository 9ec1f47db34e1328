//! The [`StaffAccounts`] port on PostgreSQL: the console's members, found by id or by email
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

use crate::pool::{on_pool, run};
use crate::store::PostgresStore;

/// One member by key.
static BY_ID: LazyLock<String> = LazyLock::new(|| {
    format!("SELECT {STAFF_COLUMNS} FROM staff_members WHERE business_id = $1 AND id = $2")
});

/// One member by email address, of whichever business.
static BY_EMAIL: LazyLock<String> =
    LazyLock::new(|| format!("SELECT {STAFF_COLUMNS} FROM staff_members WHERE email = $1"));

/// A business's members, by email address (a range of the primary key, sorted).
static OF_BUSINESS: LazyLock<String> = LazyLock::new(|| {
    format!("SELECT {STAFF_COLUMNS} FROM staff_members WHERE business_id = $1 ORDER BY email")
});

/// Marks one member removed (unless they were), answering them.
static REMOVE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE staff_members SET removed_at = coalesce(removed_at, $3) \
         WHERE business_id = $1 AND id = $2 RETURNING {STAFF_COLUMNS}"
    )
});

/// One session by its token's hash.
static SESSION: LazyLock<String> =
    LazyLock::new(|| format!("SELECT {SESSION_COLUMNS} FROM staff_sessions WHERE token_hash = $1"));

#[async_trait]
impl StaffAccounts for PostgresStore {
    async fn add_staff(
        &self,
        business: &BusinessId,
        member: &StaffMember,
    ) -> Result<(), StaffStoreError> {
        // One statement: the email's UNIQUE constraint refuses an address taken in any
        // business with nothing written.
        let inserted = on_pool!(self, |conn| {
            sqlx::query(
                "INSERT INTO staff_members (business_id, id, email, name, role, password_hash, \
                 created_at, removed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(business.as_str())
            .bind(member.id.as_str())
            .bind(&member.email)
            .bind(&member.name)
            .bind(member.role.name())
            .bind(&member.password_hash)
            .bind(member.created_at)
            .bind(member.removed_at)
            .execute(conn)
            .await
        });
        match inserted {
            Ok(_) => Ok(()),
            Err(error) if is_unique_violation(&error) => {
                Err(StaffStoreError::EmailTaken(member.email.clone()))
            }
            Err(error) => Err(staff_error(error)),
        }
    }

    async fn staff_by_email(
        &self,
        email: &str,
    ) -> Result<Option<(BusinessId, StaffMember)>, StaffStoreError> {
        let row: Option<StaffRow> = on_pool!(self, |conn| {
            sqlx::query_as(BY_EMAIL.as_str())
                .bind(email)
                .fetch_optional(conn)
                .await
        })
        .map_err(staff_error)?;
        Ok(row.map(StaffRow::into_entry).transpose()?)
    }

    async fn staff_member(
        &self,
        business: &BusinessId,
        id: &StaffId,
    ) -> Result<Option<StaffMember>, StaffStoreError> {
        let row: Option<StaffRow> = on_pool!(self, |conn| {
            sqlx::query_as(BY_ID.as_str())
                .bind(business.as_str())
                .bind(id.as_str())
                .fetch_optional(conn)
                .await
        })
        .map_err(staff_error)?;
        Ok(row.map(StaffRow::into_member).transpose()?)
    }

    async fn list_staff(&self, business: &BusinessId) -> Result<Vec<StaffMember>, StaffStoreError> {
        let rows: Vec<StaffRow> = on_pool!(self, |conn| {
            sqlx::query_as(OF_BUSINESS.as_str())
                .bind(business.as_str())
                .fetch_all(conn)
                .await
        })
        .map_err(staff_error)?;
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
        let done = on_pool!(self, |conn| {
            sqlx::query(
                "UPDATE staff_members SET password_hash = $3 WHERE business_id = $1 AND id = $2",
            )
            .bind(business.as_str())
            .bind(id.as_str())
            .bind(hash)
            .execute(conn)
            .await
        })
        .map_err(staff_error)?;
        Ok(done.rows_affected() == 1)
    }

    async fn put_invitation(
        &self,
        business: &BusinessId,
        staff: &StaffId,
        token: &TokenHash,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StaffStoreError> {
        // One statement: the member's earlier invitation, if any, becomes this one, so its
        // token no longer works; of two concurrent invitations of a member, the later stays.
        on_pool!(self, |conn| {
            sqlx::query(
                "INSERT INTO staff_invitations (token_hash, business_id, staff_id, expires_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (business_id, staff_id) DO UPDATE SET \
                 token_hash = excluded.token_hash, expires_at = excluded.expires_at",
            )
            .bind(token.to_hex())
            .bind(business.as_str())
            .bind(staff.as_str())
            .bind(expires_at)
            .execute(conn)
            .await
        })
        .map_err(staff_error)?;
        Ok(())
    }

    async fn take_invitation(
        &self,
        token: &TokenHash,
        now: DateTime<Utc>,
    ) -> Result<Option<(BusinessId, StaffId)>, StaffStoreError> {
        // Deleted and read in one statement: a concurrent use waits for this one's row lock,
        // then finds the row gone. Expired or not, it is gone.
        let row: Option<InvitationRow> = on_pool!(self, |conn| {
            sqlx::query_as(
                "DELETE FROM staff_invitations WHERE token_hash = $1 \
                 RETURNING business_id, staff_id, expires_at",
            )
            .bind(token.to_hex())
            .fetch_optional(conn)
            .await
        })
        .map_err(staff_error)?;
        Ok(row.map(|row| row.working_at(now)).transpose()?.flatten())
    }

    async fn create_session(
        &self,
        token: &TokenHash,
        session: &StaffSession,
    ) -> Result<(), StaffStoreError> {
        on_pool!(self, |conn| {
            sqlx::query(
                "INSERT INTO staff_sessions (token_hash, business_id, staff_id, created_at, \
                 last_seen_at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(token.to_hex())
            .bind(session.business.as_str())
            .bind(session.staff.as_str())
            .bind(session.created_at)
            .bind(session.last_seen_at)
            .execute(conn)
            .await
        })
        .map_err(staff_error)?;
        Ok(())
    }

    async fn staff_session(
        &self,
        token: &TokenHash,
    ) -> Result<Option<StaffSession>, StaffStoreError> {
        let row: Option<SessionRow> = on_pool!(self, |conn| {
            sqlx::query_as(SESSION.as_str())
                .bind(token.to_hex())
                .fetch_optional(conn)
                .await
        })
        .map_err(staff_error)?;
        Ok(row.map(SessionRow::into_session).transpose()?)
    }

    async fn touch_session(
        &self,
        token: &TokenHash,
        at: DateTime<Utc>,
    ) -> Result<(), StaffStoreError> {
        // Forward only: a concurrent touch waits for this one's row lock, then compares with
        // the time this one wrote.
        on_pool!(self, |conn| {
            sqlx::query(
                "UPDATE staff_sessions SET last_seen_at = GREATEST(last_seen_at, $2) \
                 WHERE token_hash = $1",
            )
            .bind(token.to_hex())
            .bind(at)
            .execute(conn)
            .await
        })
        .map_err(staff_error)?;
        Ok(())
    }

    async fn end_session(&self, token: &TokenHash) -> Result<(), StaffStoreError> {
        on_pool!(self, |conn| {
            sqlx::query("DELETE FROM staff_sessions WHERE token_hash = $1")
                .bind(token.to_hex())
                .execute(conn)
                .await
        })
        .map_err(staff_error)?;
        Ok(())
    }

    async fn end_sessions_of(
        &self,
        business: &BusinessId,
        staff: &StaffId,
    ) -> Result<(), StaffStoreError> {
        // A range of staff_sessions_by_member.
        on_pool!(self, |conn| {
            sqlx::query("DELETE FROM staff_sessions WHERE business_id = $1 AND staff_id = $2")
                .bind(business.as_str())
                .bind(staff.as_str())
                .execute(conn)
                .await
        })
        .map_err(staff_error)?;
        Ok(())
    }

    async fn remove_staff(
        &self,
        business: &BusinessId,
        id: &StaffId,
        at: DateTime<Utc>,
    ) -> Result<StaffRemoval, StaffStoreError> {
        // One transaction that first locks the business's active owners, in id order: a
        // concurrent removal waits for the locks, then finds the owner this one removed no
        // longer active (a locked row is read again once its writer commits), so the last
        // owner is never removed. Dropping the connection on an error rolls it back.
        let mut conn = self.pool.acquire().await.map_err(staff_error)?;
        conn.begin().await.map_err(staff_error)?;
        let owners: Vec<String> = run!(&mut conn, |conn| {
            sqlx::query_scalar(
                "SELECT id FROM staff_members WHERE business_id = $1 AND role = 'owner' \
                 AND removed_at IS NULL ORDER BY id FOR UPDATE",
            )
            .bind(business.as_str())
            .fetch_all(conn)
            .await
        })
        .map_err(staff_error)?;
        let found: Option<StaffRow> = run!(&mut conn, |conn| {
            sqlx::query_as(BY_ID.as_str())
                .bind(business.as_str())
                .bind(id.as_str())
                .fetch_optional(conn)
                .await
        })
        .map_err(staff_error)?;
        let Some(found) = found.map(StaffRow::into_member).transpose()? else {
            conn.commit().await.map_err(staff_error)?;
            return Ok(StaffRemoval::NotFound);
        };
        if found.is_active() && found.role == StaffRole::Owner && owners.len() <= 1 {
            conn.commit().await.map_err(staff_error)?;
            return Ok(StaffRemoval::LastOwner);
        }
        let removed: StaffRow = run!(&mut conn, |conn| {
            sqlx::query_as(REMOVE.as_str())
                .bind(business.as_str())
                .bind(id.as_str())
                .bind(at)
                .fetch_one(conn)
                .await
        })
        .map_err(staff_error)?;
        // A range of staff_sessions_by_member, and one row of the invitations' UNIQUE key.
        for sql in [
            "DELETE FROM staff_sessions WHERE business_id = $1 AND staff_id = $2",
            "DELETE FROM staff_invitations WHERE business_id = $1 AND staff_id = $2",
        ] {
            run!(&mut conn, |conn| {
                sqlx::query(sql)
                    .bind(business.as_str())
                    .bind(id.as_str())
                    .execute(conn)
                    .await
            })
            .map_err(staff_error)?;
        }
        conn.commit().await.map_err(staff_error)?;
        Ok(StaffRemoval::Removed(removed.into_member()?))
    }

    async fn purge_staff_tokens(
        &self,
        seen_by: DateTime<Utc>,
        made_by: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<StaffPurge, StaffStoreError> {
        // Two statements, each complete on its own: a purge cut between them leaves only
        // invitations that the next one deletes. (Each reads its whole table: a rare sweep of
        // a small table, not worth an index that every sign-in would have to keep up.)
        let sessions = on_pool!(self, |conn| {
            sqlx::query("DELETE FROM staff_sessions WHERE last_seen_at <= $1 OR created_at <= $2")
                .bind(seen_by)
                .bind(made_by)
                .execute(conn)
                .await
        })
        .map_err(staff_error)?
        .rows_affected();
        let invitations = on_pool!(self, |conn| {
            sqlx::query("DELETE FROM staff_invitations WHERE expires_at <= $1")
                .bind(now)
                .execute(conn)
                .await
        })
        .map_err(staff_error)?
        .rows_affected();
        Ok(StaffPurge {
            sessions,
            invitations,
        })
    }
}
