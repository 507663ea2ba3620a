//! Passwords (argon2id, OWASP parameters) and opaque tokens (256 random bits, stored as SHA-256).

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::TryRngCore;
use sha2::{Digest, Sha256};

use crate::error::DomainError;

/// OWASP Password Storage Cheat Sheet: argon2id, m = 19 MiB, t = 2, p = 1.
fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

pub const MIN_PASSWORD_CHARS: usize = 12;
pub const MAX_PASSWORD_CHARS: usize = 128;

/// NIST 800-63B: length rules, no composition rules; refuse passwords that are the email,
/// trivially repetitive, or common / easy to guess. The last uses `zxcvbn` (Dropbox's
/// estimator, with frequency lists of common passwords, names, words and keyboard patterns):
/// anything it rates crackable in a million guesses or fewer is refused.
pub fn check_password_rules(password: &str, email: Option<&str>) -> Result<(), DomainError> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_CHARS {
        return Err(DomainError::invalid(
            "/password",
            format!("must be at least {MIN_PASSWORD_CHARS} characters"),
        ));
    }
    if n > MAX_PASSWORD_CHARS {
        return Err(DomainError::invalid(
            "/password",
            format!("must be at most {MAX_PASSWORD_CHARS} characters"),
        ));
    }
    if email.is_some_and(|e| e.eq_ignore_ascii_case(password)) {
        return Err(DomainError::invalid(
            "/password",
            "must not be your email address",
        ));
    }
    let mut distinct: Vec<char> = password.chars().collect();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() < 4 {
        return Err(DomainError::invalid("/password", "is too repetitive"));
    }
    let local = email.and_then(|e| e.split('@').next()).unwrap_or("");
    let inputs: Vec<&str> = [email.unwrap_or(""), local, "swiftacare"]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect();
    if zxcvbn::zxcvbn(password, &inputs).score() <= zxcvbn::Score::One {
        return Err(DomainError::invalid(
            "/password",
            "is too common or easy to guess; try a few unrelated words",
        ));
    }
    Ok(())
}

/// Hashes on a blocking thread (argon2 is deliberately slow).
pub async fn hash_password(password: String) -> Result<String, DomainError> {
    tokio::task::spawn_blocking(move || {
        let mut salt = [0u8; 16];
        rand::rngs::OsRng
            .try_fill_bytes(&mut salt)
            .map_err(|e| DomainError::Internal(format!("os rng: {e}")))?;
        let salt =
            SaltString::encode_b64(&salt).map_err(|e| DomainError::Internal(e.to_string()))?;
        argon2()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| DomainError::Internal(e.to_string()))
    })
    .await
    .map_err(|e| DomainError::Internal(e.to_string()))?
}

/// A PHC string for a random password nobody knows: verifying against it costs the same as a
/// real verification, so a sign-in for an unknown email takes as long as one for a known email.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c3dpZnRhY2FyZWR1bW15$3K0eWgk7e5YkpcUDkbM8Y7dV3a0ZyqXoC7BEbWm8F9A";

/// Verifies on a blocking thread. `None` hash (no such account) still spends the time.
pub async fn verify_password(password: String, phc: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || {
        let (phc, real) = match phc {
            Some(p) => (p, true),
            None => (DUMMY_HASH.to_owned(), false),
        };
        let ok = PasswordHash::new(&phc)
            .map(|h| argon2().verify_password(password.as_bytes(), &h).is_ok())
            .unwrap_or(false);
        ok && real
    })
    .await
    .unwrap_or(false)
}

/// A new opaque token: `<prefix>_<64 hex chars>` (256 bits from the OS RNG).
pub fn new_token(prefix: &str) -> Result<String, DomainError> {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng
        .try_fill_bytes(&mut bytes)
        .map_err(|e| DomainError::Internal(format!("os rng: {e}")))?;
    Ok(format!("{prefix}_{}", hex::encode(bytes)))
}

/// What is stored and looked up instead of the token.
pub fn token_digest(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_and_verify() {
        let h = hash_password("correct horse battery".into())
            .await
            .expect("hash");
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify_password("correct horse battery".into(), Some(h.clone())).await);
        assert!(!verify_password("wrong horse battery".into(), Some(h)).await);
        assert!(!verify_password("anything at all".into(), None).await);
    }

    #[test]
    fn password_rules() {
        assert!(check_password_rules("short", None).is_err());
        assert!(check_password_rules("aaaaaaaaaaaaaaaa", None).is_err());
        assert!(check_password_rules("me@example.org", Some("ME@example.org")).is_err());
        assert!(check_password_rules("a perfectly fine passphrase", None).is_ok());
        for common in [
            "password1234",
            "qwertyuiop123",
            "123456789abc",
            "iloveyou1234",
        ] {
            assert!(check_password_rules(common, None).is_err(), "{common}");
        }
    }

    #[test]
    fn tokens_are_unique_and_digested() {
        let a = new_token("sct").expect("token");
        let b = new_token("sct").expect("token");
        assert_ne!(a, b);
        assert_eq!(a.len(), 4 + 64);
        assert_eq!(token_digest(&a).len(), 32);
    }
}
