//! The console's people: owners add members, who set a password through a one-time
//! invitation and sign in to a session. The console adapter drives these; it hashes with its
//! [`PasswordHasher`] and keeps the session's token in a cookie.

use chrono::Duration;

use super::Billing;
use crate::customer::Business;
use crate::error::BillingError;
use crate::ids::{BusinessId, StaffId};
use crate::link::LinkToken;
use crate::ports::{PasswordHasher, StaffPurge, StaffRemoval, StaffStoreError};
use crate::staff::{
    SessionLimits, StaffError, StaffMember, StaffRole, StaffSession, check_password, sign_in_email,
};

/// How long an invitation to set a password works.
pub fn invitation_lifetime() -> Duration {
    Duration::days(7)
}

/// A session is touched at most this often: a page view is not a write.
fn touch_every() -> Duration {
    Duration::minutes(1)
}

/// Add a member to a business's staff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewStaff {
    /// Their sign-in address.
    pub email: String,
    /// Their name.
    pub name: String,
    /// What they may do.
    pub role: StaffRole,
}

/// A member just added (or invited again): the invitation's token, shown this once (only its
/// hash is kept), for the link that lets them set a password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invited {
    /// The member.
    pub member: StaffMember,
    /// The invitation's secret token.
    pub token: LinkToken,
}

/// A member signed in: the new session's secret token (for the cookie: only its hash is
/// kept), and who they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedIn {
    /// The session's token.
    pub token: LinkToken,
    /// Their business.
    pub business: Business,
    /// Who.
    pub member: StaffMember,
}

/// A live session, as a request made with it reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffVisit {
    /// Their business.
    pub business: Business,
    /// Who.
    pub member: StaffMember,
    /// The session.
    pub session: StaffSession,
}

impl Billing {
    /// Adds a member to a business's staff, with an invitation to set their password (valid
    /// for [`invitation_lifetime`]). [`BillingError::StaffEmailTaken`] when the address
    /// already signs in (to any business).
    pub async fn add_staff(
        &self,
        business: &Business,
        new: NewStaff,
    ) -> Result<Invited, BillingError> {
        let email = sign_in_email(&new.email)?;
        let name = new.name.trim();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(StaffError::Name.into());
        }
        let member = StaffMember {
            id: self.ids.staff_id(),
            email,
            name: name.to_owned(),
            role: new.role,
            password_hash: None,
            created_at: self.now(),
            removed_at: None,
        };
        self.store
            .add_staff(&business.id, &member)
            .await
            .map_err(|e| match e {
                StaffStoreError::EmailTaken(email) => BillingError::StaffEmailTaken(email),
                other => other.into(),
            })?;
        let token = self.invite(&business.id, &member.id).await?;
        Ok(Invited { member, token })
    }

    /// A new invitation for a member (the last one no longer works): to set a forgotten
    /// password, or when the first ran out. [`BillingError::StaffRemoved`] for a removed
    /// member.
    pub async fn invite_again(
        &self,
        business: &Business,
        staff: &StaffId,
    ) -> Result<Invited, BillingError> {
        let member = self.staff_member(business, staff).await?;
        if !member.is_active() {
            return Err(BillingError::StaffRemoved(member.id));
        }
        let token = self.invite(&business.id, &member.id).await?;
        Ok(Invited { member, token })
    }

    /// A business's staff, removed members included, by email address.
    pub async fn staff(&self, business: &Business) -> Result<Vec<StaffMember>, BillingError> {
        Ok(self.store.list_staff(&business.id).await?)
    }

    /// A member of a business's staff.
    pub async fn staff_member(
        &self,
        business: &Business,
        staff: &StaffId,
    ) -> Result<StaffMember, BillingError> {
        self.store
            .staff_member(&business.id, staff)
            .await?
            .ok_or_else(|| BillingError::StaffNotFound(staff.clone()))
    }

    /// Sets a member's password through their invitation (used once: a second use, or an
    /// expired one, is [`BillingError::InvitationUnavailable`]), ends their other sessions, and
    /// signs them in.
    pub async fn accept_invitation(
        &self,
        hasher: &dyn PasswordHasher,
        token: &str,
        password: &str,
    ) -> Result<SignedIn, BillingError> {
        // Checked before the invitation is used, so that a too-short password can be fixed.
        check_password(password)?;
        let token = LinkToken::parse(token).ok_or(BillingError::InvitationUnavailable)?;
        let (business_id, staff) = self
            .store
            .take_invitation(&token.hash(), self.now())
            .await?
            .ok_or(BillingError::InvitationUnavailable)?;
        let hash = hasher.hash(password).await?;
        if !self
            .store
            .set_password_hash(&business_id, &staff, &hash)
            .await?
        {
            return Err(BillingError::InvitationUnavailable);
        }
        self.store.end_sessions_of(&business_id, &staff).await?;
        let business = self.business_by_id(&business_id).await?;
        let member = self.staff_member(&business, &staff).await?;
        // Removed since the invitation was taken: no session.
        if !member.is_active() {
            return Err(BillingError::InvitationUnavailable);
        }
        self.open_session(business, member).await
    }

    /// Signs a member in with their email address and password: a new session each time. An
    /// unknown address, a member with no password yet and a wrong password are the same
    /// [`BillingError::SignInRefused`], and take the same time.
    pub async fn sign_in(
        &self,
        hasher: &dyn PasswordHasher,
        email: &str,
        password: &str,
    ) -> Result<SignedIn, BillingError> {
        let found = match sign_in_email(email) {
            Ok(email) => self.store.staff_by_email(&email).await?,
            Err(_) => None,
        };
        let hash = found.as_ref().and_then(|(_, m)| m.password_hash.as_deref());
        if !hasher.verify(password, hash).await {
            return Err(BillingError::SignInRefused);
        }
        let Some((business_id, member)) = found else {
            return Err(BillingError::SignInRefused);
        };
        // A removed member's password still matches: refused all the same, after the same
        // work, so that the answer does not tell who was removed.
        if !member.is_active() {
            return Err(BillingError::SignInRefused);
        }
        let business = self.business_by_id(&business_id).await?;
        self.open_session(business, member).await
    }

    /// The live session of a token, touched; `None` for an unknown, ended or expired one
    /// (an expired one is ended), or one whose member is gone or removed.
    pub async fn staff_visit(
        &self,
        token: &str,
        limits: SessionLimits,
    ) -> Result<Option<StaffVisit>, BillingError> {
        let Some(token) = LinkToken::parse(token) else {
            return Ok(None);
        };
        let hash = token.hash();
        let Some(session) = self.store.staff_session(&hash).await? else {
            return Ok(None);
        };
        let now = self.now();
        if !session.is_live(now, limits) {
            self.store.end_session(&hash).await?;
            return Ok(None);
        }
        let Some(member) = self
            .store
            .staff_member(&session.business, &session.staff)
            .await?
            .filter(StaffMember::is_active)
        else {
            self.store.end_session(&hash).await?;
            return Ok(None);
        };
        if now >= session.last_seen_at + touch_every() {
            self.store.touch_session(&hash, now).await?;
        }
        let business = self.business_by_id(&session.business).await?;
        Ok(Some(StaffVisit {
            business,
            member,
            session,
        }))
    }

    /// Removes a member of a business's staff, as the owner `by`: they can no longer sign in,
    /// their sessions end and their invitation stops working; they stay listed (as removed),
    /// so that the payment history keeps their name. Removing a removed member changes
    /// nothing. Refused, with nothing changed: [`BillingError::CannotRemoveSelf`] when `by`
    /// is the member, [`BillingError::LastOwner`] for the business's last owner,
    /// [`BillingError::StaffNotFound`] for no member of this business.
    pub async fn remove_staff(
        &self,
        business: &Business,
        by: &StaffId,
        staff: &StaffId,
    ) -> Result<StaffMember, BillingError> {
        if by == staff {
            return Err(BillingError::CannotRemoveSelf);
        }
        match self
            .store
            .remove_staff(&business.id, staff, self.now())
            .await?
        {
            StaffRemoval::Removed(member) => Ok(member),
            StaffRemoval::NotFound => Err(BillingError::StaffNotFound(staff.clone())),
            StaffRemoval::LastOwner => Err(BillingError::LastOwner),
        }
    }

    /// Deletes the sessions past `limits` and the expired invitations of every business:
    /// they no longer work (a request with one is refused already), and would only pile up.
    /// Run now and then by the service's sweep.
    pub async fn purge_staff_tokens(
        &self,
        limits: SessionLimits,
    ) -> Result<StaffPurge, BillingError> {
        let now = self.now();
        Ok(self
            .store
            .purge_staff_tokens(now - limits.idle, now - limits.absolute, now)
            .await?)
    }

    /// Ends a session (signing out). Unknown tokens are fine: there is nothing to end.
    pub async fn sign_out(&self, token: &str) -> Result<(), BillingError> {
        if let Some(token) = LinkToken::parse(token) {
            self.store.end_session(&token.hash()).await?;
        }
        Ok(())
    }

    async fn invite(
        &self,
        business: &BusinessId,
        staff: &StaffId,
    ) -> Result<LinkToken, BillingError> {
        let token = LinkToken::from_random(self.secrets.secret_bytes());
        let expires_at = self.now() + invitation_lifetime();
        self.store
            .put_invitation(business, staff, &token.hash(), expires_at)
            .await?;
        Ok(token)
    }

    async fn open_session(
        &self,
        business: Business,
        member: StaffMember,
    ) -> Result<SignedIn, BillingError> {
        let token = LinkToken::from_random(self.secrets.secret_bytes());
        let now = self.now();
        let session = StaffSession {
            business: business.id.clone(),
            staff: member.id.clone(),
            created_at: now,
            last_seen_at: now,
        };
        self.store.create_session(&token.hash(), &session).await?;
        Ok(SignedIn {
            token,
            business,
            member,
        })
    }

    async fn business_by_id(&self, id: &BusinessId) -> Result<Business, BillingError> {
        self.store
            .business(id)
            .await?
            .ok_or_else(|| BillingError::Inconsistent(format!("staff of unknown business {id}")))
    }
}
