//! TOTP multi-factor authentication (RFC 6238, via `totp-rs`): enrolment with an otpauth URI
//! and QR code, confirmation, recovery codes, the sign-in challenge, and disabling.
//!
//! The shared secret is sealed (XChaCha20-Poly1305) under a key derived from the server key, a
//! code is accepted once (the last accepted time step is remembered), and recovery codes are
//! stored as SHA-256 digests and work once each.

use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use chrono::{Duration, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use rand::TryRngCore;
use sha2::{Digest, Sha256};
use tenancy::{Tenancy, TenantRef};
use totp_rs::{Builder, Totp};
use uuid::Uuid;

use super::model::Principal;
use super::{repo, secret};
use crate::audit::{self, Actor, Event, Outcome};
use crate::error::{DomainError, DomainResult};
use crate::schema::{mfa_recovery_codes, mfa_totp};

/// How long the step between password and code may take.
pub const CHALLENGE_TTL: Duration = Duration::minutes(5);
pub const RECOVERY_CODES: usize = 10;

/// Seals TOTP secrets at rest.
pub struct Sealer {
    cipher: XChaCha20Poly1305,
}

impl Sealer {
    pub fn derive(server_key: &[u8]) -> Sealer {
        let key = Sha256::new()
            .chain_update(b"swiftacare/mfa-totp/v1")
            .chain_update(server_key)
            .finalize();
        Sealer {
            cipher: XChaCha20Poly1305::new(&key),
        }
    }

    pub fn seal(&self, plain: &[u8]) -> DomainResult<Vec<u8>> {
        let mut nonce = [0u8; 24];
        rand::rngs::OsRng
            .try_fill_bytes(&mut nonce)
            .map_err(|e| DomainError::Internal(e.to_string()))?;
        let ct = self
            .cipher
            .encrypt(XNonce::from_slice(&nonce), plain)
            .map_err(|_| DomainError::Internal("sealing failed".into()))?;
        Ok([nonce.as_slice(), &ct].concat())
    }

    pub fn open(&self, sealed: &[u8]) -> DomainResult<Vec<u8>> {
        if sealed.len() < 24 {
            return Err(DomainError::Internal("sealed secret too short".into()));
        }
        let (nonce, ct) = sealed.split_at(24);
        self.cipher
            .decrypt(XNonce::from_slice(nonce), ct)
            .map_err(|_| {
                DomainError::Internal("the MFA secret cannot be opened with this server key".into())
            })
    }
}

fn totp(secret: Vec<u8>, issuer: &str, account: &str) -> DomainResult<Totp> {
    Builder::new()
        .with_secret(secret)
        .with_issuer(Some(issuer.replace(':', " ")))
        .with_account_name(account.replace(':', " "))
        .build()
        .map_err(|e| DomainError::Internal(format!("totp: {e:?}")))
}

fn now_secs() -> u64 {
    Utc::now().timestamp().max(0) as u64
}

/// What the user needs to add the account to an authenticator app.
#[derive(Clone, Debug)]
pub struct Enrolment {
    pub secret_base32: String,
    pub otpauth_uri: String,
    pub qr_svg: String,
}

#[derive(Clone, Debug)]
pub struct MfaStatus {
    pub totp_enabled: bool,
    pub recovery_codes_left: i64,
}

pub async fn status(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    p: &Principal,
) -> DomainResult<MfaStatus> {
    tenancy
        .tx(tenant, async |c| {
            let enabled = confirmed(c, p.account_id).await?;
            let left = mfa_recovery_codes::table
                .filter(mfa_recovery_codes::account_id.eq(p.account_id))
                .filter(mfa_recovery_codes::used_at.is_null())
                .count()
                .get_result(c)
                .await?;
            Ok(MfaStatus {
                totp_enabled: enabled,
                recovery_codes_left: left,
            })
        })
        .await
}

async fn confirmed(c: &mut AsyncPgConnection, account_id: Uuid) -> QueryResult<bool> {
    Ok(mfa_totp::table
        .find(account_id)
        .select(mfa_totp::confirmed_at)
        .first::<Option<chrono::DateTime<Utc>>>(c)
        .await
        .optional()?
        .flatten()
        .is_some())
}

/// Starts (or restarts) enrolment: a new secret, not active until confirmed with a code.
pub async fn begin_enrolment(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    sealer: &Sealer,
    p: &Principal,
    email: &str,
) -> DomainResult<Enrolment> {
    let mut raw = vec![0u8; 20];
    rand::rngs::OsRng
        .try_fill_bytes(&mut raw)
        .map_err(|e| DomainError::Internal(e.to_string()))?;
    let t = totp(raw.clone(), &format!("Swiftacare {}", tenant.name), email)?;
    let otpauth_uri = t
        .to_url()
        .map_err(|e| DomainError::Internal(format!("{e:?}")))?;
    let qr_svg = qrcode::QrCode::new(otpauth_uri.as_bytes())
        .map_err(|e| DomainError::Internal(e.to_string()))?
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(200, 200)
        .build();
    let sealed = sealer.seal(&raw)?;
    tenancy
        .tx(tenant, async |c| {
            if confirmed(c, p.account_id).await? {
                return Err(DomainError::Conflict(
                    "an authenticator is already enrolled; disable it first".into(),
                ));
            }
            diesel::insert_into(mfa_totp::table)
                .values((
                    mfa_totp::account_id.eq(p.account_id),
                    mfa_totp::secret_sealed.eq(&sealed),
                ))
                .on_conflict(mfa_totp::account_id)
                .do_update()
                .set((
                    mfa_totp::secret_sealed.eq(&sealed),
                    mfa_totp::last_step.eq(0),
                ))
                .execute(c)
                .await?;
            audit::record(
                c,
                &Actor::from(p),
                Event::new("mfa.enrol_start").on("account", p.account_id),
            )
            .await?;
            Ok(())
        })
        .await?;
    Ok(Enrolment {
        secret_base32: t.secret().to_base32(),
        otpauth_uri,
        qr_svg,
    })
}

/// Checks a code against the account's secret, accepting each time step once.
async fn accept_code(
    c: &mut AsyncPgConnection,
    sealer: &Sealer,
    account_id: Uuid,
    code: &str,
    require_confirmed: bool,
) -> DomainResult<bool> {
    let row: Option<(Vec<u8>, Option<chrono::DateTime<Utc>>, i64)> = mfa_totp::table
        .find(account_id)
        .select((
            mfa_totp::secret_sealed,
            mfa_totp::confirmed_at,
            mfa_totp::last_step,
        ))
        .for_update()
        .first(c)
        .await
        .optional()?;
    let Some((sealed, confirmed_at, last_step)) = row else {
        return Ok(false);
    };
    if require_confirmed && confirmed_at.is_none() {
        return Ok(false);
    }
    let t = totp(sealer.open(&sealed)?, "Swiftacare", "account")?;
    let Some(step) = t.check(code.trim(), now_secs()) else {
        return Ok(false);
    };
    let step = step as i64;
    if step <= last_step {
        return Ok(false); // the same code (or an older one) again
    }
    diesel::update(mfa_totp::table.find(account_id))
        .set(mfa_totp::last_step.eq(step))
        .execute(c)
        .await?;
    Ok(true)
}

fn new_recovery_codes() -> DomainResult<Vec<String>> {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    (0..RECOVERY_CODES)
        .map(|_| {
            let mut bytes = [0u8; 10];
            rand::rngs::OsRng
                .try_fill_bytes(&mut bytes)
                .map_err(|e| DomainError::Internal(e.to_string()))?;
            let s: String = bytes
                .iter()
                .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
                .collect();
            Ok(format!("{}-{}", &s[..5], &s[5..]))
        })
        .collect()
}

fn recovery_digest(code: &str) -> Vec<u8> {
    Sha256::digest(code.trim().to_lowercase().as_bytes()).to_vec()
}

/// Confirms enrolment with a code from the app; returns the recovery codes (shown once).
pub async fn confirm_enrolment(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    sealer: &Sealer,
    p: &Principal,
    code: &str,
) -> DomainResult<Vec<String>> {
    let codes = new_recovery_codes()?;
    tenancy
        .tx(tenant, async |c| {
            if confirmed(c, p.account_id).await? {
                return Err(DomainError::Conflict(
                    "the authenticator is already confirmed".into(),
                ));
            }
            if !accept_code(c, sealer, p.account_id, code, false).await? {
                return Err(DomainError::invalid(
                    "/code",
                    "is not the current code of the authenticator being enrolled",
                ));
            }
            diesel::update(mfa_totp::table.find(p.account_id))
                .set(mfa_totp::confirmed_at.eq(diesel::dsl::now))
                .execute(c)
                .await?;
            diesel::delete(
                mfa_recovery_codes::table.filter(mfa_recovery_codes::account_id.eq(p.account_id)),
            )
            .execute(c)
            .await?;
            for code in &codes {
                diesel::insert_into(mfa_recovery_codes::table)
                    .values((
                        mfa_recovery_codes::code_hash.eq(recovery_digest(code)),
                        mfa_recovery_codes::account_id.eq(p.account_id),
                    ))
                    .execute(c)
                    .await?;
            }
            repo::clear_mfa_enrolment_required(c, p.account_id).await?;
            audit::record(
                c,
                &Actor::from(p),
                Event::new("mfa.enrol").on("account", p.account_id),
            )
            .await?;
            Ok(codes)
        })
        .await
}

/// A second factor presented by the user.
#[derive(Clone, Debug)]
pub enum Factor {
    Code(String),
    RecoveryCode(String),
}

async fn check_factor(
    c: &mut AsyncPgConnection,
    sealer: &Sealer,
    account_id: Uuid,
    f: &Factor,
) -> DomainResult<bool> {
    match f {
        Factor::Code(code) => accept_code(c, sealer, account_id, code, true).await,
        Factor::RecoveryCode(code) => {
            let n = diesel::update(
                mfa_recovery_codes::table
                    .filter(mfa_recovery_codes::code_hash.eq(recovery_digest(code)))
                    .filter(mfa_recovery_codes::account_id.eq(account_id))
                    .filter(mfa_recovery_codes::used_at.is_null()),
            )
            .set(mfa_recovery_codes::used_at.eq(diesel::dsl::now))
            .execute(c)
            .await?;
            Ok(n == 1)
        }
    }
}

/// True when the account must pass a second factor at sign-in.
pub async fn required(c: &mut AsyncPgConnection, account_id: Uuid) -> QueryResult<bool> {
    confirmed(c, account_id).await
}

/// Issues the challenge token handed out between password and code.
pub async fn issue_challenge(
    c: &mut AsyncPgConnection,
    account_id: Uuid,
) -> DomainResult<(String, chrono::DateTime<Utc>)> {
    let token = secret::new_token("scm")?;
    let expires_at = Utc::now() + CHALLENGE_TTL;
    repo::insert_one_time_token(
        c,
        &secret::token_digest(&token),
        account_id,
        "mfa",
        expires_at,
    )
    .await?;
    Ok((token, expires_at))
}

/// Redeems a challenge with a factor. The challenge works once, right or wrong: a wrong factor
/// means signing in with the password again, and five wrong factors in a row lock code entry
/// for 15 minutes.
pub async fn redeem_challenge(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    sealer: &Sealer,
    challenge: &str,
    factor: &Factor,
    request_id: Option<String>,
) -> DomainResult<Uuid> {
    let digest = secret::token_digest(challenge);
    let outcome = tenancy
        .tx(tenant, async |c| {
            let Some(account_id) = repo::redeem_one_time_token(c, &digest, &["mfa"]).await? else {
                return Ok::<_, DomainError>(Redeemed::NoChallenge);
            };
            let locked: Option<Option<chrono::DateTime<Utc>>> =
                mfa_totp::table.find(account_id).select(mfa_totp::locked_until).for_update().first(c).await.optional()?;
            if let Some(until) = locked.flatten().filter(|u| *u > Utc::now()) {
                let event = Event::new("auth.mfa").on("account", account_id).outcome(Outcome::Denied).detail("reason", "locked");
                audit::record(c, &Actor::account(account_id, request_id.clone()), event).await?;
                return Ok(Redeemed::Locked(until - Utc::now()));
            }
            let ok = check_factor(c, sealer, account_id, factor).await?;
            if ok {
                diesel::update(mfa_totp::table.find(account_id))
                    .set((mfa_totp::failed_attempts.eq(0), mfa_totp::locked_until.eq(None::<chrono::DateTime<Utc>>)))
                    .execute(c)
                    .await?;
            } else {
                // Five wrong factors in a row lock code entry for 15 minutes.
                diesel::sql_query(
                    "UPDATE mfa_totp SET \
                       locked_until = CASE WHEN failed_attempts + 1 >= $2 THEN now() + interval '15 minutes' ELSE locked_until END, \
                       failed_attempts = CASE WHEN failed_attempts + 1 >= $2 THEN 0 ELSE failed_attempts + 1 END \
                     WHERE account_id = $1",
                )
                .bind::<diesel::sql_types::Uuid, _>(account_id)
                .bind::<diesel::sql_types::Integer, _>(MAX_WRONG_FACTORS)
                .execute(c)
                .await?;
            }
            let method = match factor {
                Factor::Code(_) => "totp",
                Factor::RecoveryCode(_) => "recovery_code",
            };
            let event = Event::new("auth.mfa")
                .on("account", account_id)
                .detail("method", method)
                .outcome(if ok { Outcome::Success } else { Outcome::Failure });
            audit::record(c, &Actor::account(account_id, request_id.clone()), event).await?;
            Ok(if ok { Redeemed::Ok(account_id) } else { Redeemed::Wrong })
        })
        .await?;
    match outcome {
        Redeemed::Ok(account_id) => Ok(account_id),
        Redeemed::Wrong => Err(DomainError::Unauthenticated(
            "the code is wrong or was used already; sign in again",
        )),
        Redeemed::Locked(left) => Err(DomainError::TooManyAttempts(left)),
        Redeemed::NoChallenge => Err(DomainError::Unauthenticated(
            "the sign-in challenge is invalid, used or expired; sign in again",
        )),
    }
}

enum Redeemed {
    Ok(Uuid),
    Wrong,
    Locked(Duration),
    NoChallenge,
}

/// Wrong factors in a row before code entry locks.
pub const MAX_WRONG_FACTORS: i32 = 5;

/// Removes the authenticator and recovery codes, after proving possession of a factor.
pub async fn disable(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    sealer: &Sealer,
    p: &Principal,
    factor: &Factor,
) -> DomainResult<()> {
    tenancy
        .tx(tenant, async |c| {
            if !confirmed(c, p.account_id).await? {
                return Err(DomainError::Conflict("no authenticator is enrolled".into()));
            }
            if !check_factor(c, sealer, p.account_id, factor).await? {
                return Err(DomainError::invalid(
                    "/code",
                    "is wrong or was used already",
                ));
            }
            diesel::delete(mfa_totp::table.find(p.account_id))
                .execute(c)
                .await?;
            diesel::delete(
                mfa_recovery_codes::table.filter(mfa_recovery_codes::account_id.eq(p.account_id)),
            )
            .execute(c)
            .await?;
            audit::record(
                c,
                &Actor::from(p),
                Event::new("mfa.disable").on("account", p.account_id),
            )
            .await?;
            Ok(())
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealing_round_trips_and_needs_the_right_key() {
        let a = Sealer::derive(&[1u8; 32]);
        let sealed = a.seal(b"secret").expect("seal");
        assert_eq!(a.open(&sealed).expect("open"), b"secret");
        assert!(Sealer::derive(&[2u8; 32]).open(&sealed).is_err());
        assert_ne!(
            a.seal(b"secret").expect("seal"),
            sealed,
            "fresh nonce each time"
        );
    }
}
