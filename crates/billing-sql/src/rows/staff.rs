//! The console's people (`staff_members`), their invitations (`staff_invitations`) and their
//! sessions (`staff_sessions`).

use billing_core::ids::{BusinessId, StaffId};
use billing_core::staff::{StaffMember, StaffRole, StaffSession};
use chrono::{DateTime, Utc};

use super::id;
use crate::StoredRowError;

const MEMBER: &str = "stored staff member";
const INVITATION: &str = "stored staff invitation";
const SESSION: &str = "stored staff session";

/// The columns [`StaffRow`] reads, in a SELECT list.
pub const STAFF_COLUMNS: &str =
    "business_id, id, email, name, role, password_hash, created_at, removed_at";

/// The columns [`SessionRow`] reads, in a SELECT list.
pub const SESSION_COLUMNS: &str = "business_id, staff_id, created_at, last_seen_at";

/// A member row as read.
#[derive(Debug, sqlx::FromRow)]
pub struct StaffRow {
    business_id: String,
    id: String,
    email: String,
    name: String,
    role: String,
    password_hash: Option<String>,
    created_at: DateTime<Utc>,
    removed_at: Option<DateTime<Utc>>,
}

impl StaffRow {
    /// The member.
    pub fn into_member(self) -> Result<StaffMember, StoredRowError> {
        let role = StaffRole::from_name(&self.role)
            .ok_or_else(|| StoredRowError::new(MEMBER, format!("unknown role {:?}", self.role)))?;
        Ok(StaffMember {
            id: id::<StaffId>(MEMBER, &self.id)?,
            email: self.email,
            name: self.name,
            role,
            password_hash: self.password_hash,
            created_at: self.created_at,
            removed_at: self.removed_at,
        })
    }

    /// The member with whose staff they are.
    pub fn into_entry(self) -> Result<(BusinessId, StaffMember), StoredRowError> {
        let business = id::<BusinessId>(MEMBER, &self.business_id)?;
        Ok((business, self.into_member()?))
    }
}

/// An invitation row as a take returns it: `business_id, staff_id, expires_at`.
#[derive(Debug, sqlx::FromRow)]
pub struct InvitationRow {
    business_id: String,
    staff_id: String,
    expires_at: DateTime<Utc>,
}

impl InvitationRow {
    /// Whose invitation it is, if it still works at `now` (the take removed it either way).
    pub fn working_at(
        self,
        now: DateTime<Utc>,
    ) -> Result<Option<(BusinessId, StaffId)>, StoredRowError> {
        if now >= self.expires_at {
            return Ok(None);
        }
        Ok(Some((
            id::<BusinessId>(INVITATION, &self.business_id)?,
            id::<StaffId>(INVITATION, &self.staff_id)?,
        )))
    }
}

/// A session row as read.
#[derive(Debug, sqlx::FromRow)]
pub struct SessionRow {
    business_id: String,
    staff_id: String,
    created_at: DateTime<Utc>,
    last_seen_at: DateTime<Utc>,
}

impl SessionRow {
    /// The session.
    pub fn into_session(self) -> Result<StaffSession, StoredRowError> {
        Ok(StaffSession {
            business: id::<BusinessId>(SESSION, &self.business_id)?,
            staff: id::<StaffId>(SESSION, &self.staff_id)?,
            created_at: self.created_at,
            last_seen_at: self.last_seen_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;

    fn t0() -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH + Duration::days(20_000)
    }

    fn row(role: &str) -> StaffRow {
        StaffRow {
            business_id: "acme".into(),
            id: "stf_1".into(),
            email: "ada@acme.example".into(),
            name: "Ada".into(),
            role: role.into(),
            password_hash: None,
            created_at: t0(),
            removed_at: None,
        }
    }

    #[test]
    fn members_read_back_with_their_role_and_refuse_an_unknown_one() {
        let (business, member) = row("owner").into_entry().expect("read");
        assert_eq!(business.as_str(), "acme");
        assert_eq!(member.role, StaffRole::Owner);
        assert_eq!(
            row("staff").into_member().map(|m| m.role),
            Ok(StaffRole::Staff)
        );
        let unknown = row("admin").into_member();
        assert!(
            matches!(&unknown, Err(e) if e.to_string().contains("admin")),
            "{unknown:?}"
        );
    }

    #[test]
    fn an_invitation_works_until_it_expires() {
        let row = || InvitationRow {
            business_id: "acme".into(),
            staff_id: "stf_1".into(),
            expires_at: t0(),
        };
        let whose = row()
            .working_at(t0() - Duration::nanoseconds(1))
            .expect("read");
        assert_eq!(
            whose.map(|(b, s)| (b.as_str().to_owned(), s.as_str().to_owned())),
            Some(("acme".to_owned(), "stf_1".to_owned()))
        );
        assert_eq!(row().working_at(t0()), Ok(None));
    }
}
