//! Argon2id hashing of FRTC secrets.
//!
//! Parameters are argon2's defaults (Argon2id v19, m = 19 MiB, t = 2, p = 1, the OWASP
//! minimum). Hashing runs on the blocking pool: it is deliberately slow and must not stall the
//! async workers that serve everyone else.

use std::sync::{Arc, OnceLock};

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString};

use plenum_domain::credentials::Secret;

use crate::ServiceError;

#[derive(Debug, Clone, Default)]
pub struct PasswordHasher {
    /// A hash of nothing in particular, verified against when a username does not exist so
    /// that "no such user" takes as long as "wrong secret" and cannot be told apart by timing.
    decoy: Arc<OnceLock<String>>,
}

impl PasswordHasher {
    /// The PHC string (`$argon2id$v=19$...`) of a fresh salted hash of `secret`.
    pub fn hash_blocking(secret: &Secret) -> Result<String, ServiceError> {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(secret.expose().as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| ServiceError::internal(HashError(e.to_string())))
    }

    pub async fn hash(&self, secret: Secret) -> Result<String, ServiceError> {
        tokio::task::spawn_blocking(move || Self::hash_blocking(&secret))
            .await
            .map_err(ServiceError::internal)?
    }

    /// Whether `secret` matches the stored PHC string. A malformed stored hash never matches.
    pub async fn verify(&self, secret: Secret, phc: String) -> Result<bool, ServiceError> {
        tokio::task::spawn_blocking(move || {
            Ok(PasswordHash::new(&phc)
                .map(|parsed| {
                    Argon2::default()
                        .verify_password(secret.expose().as_bytes(), &parsed)
                        .is_ok()
                })
                .unwrap_or(false))
        })
        .await
        .map_err(ServiceError::internal)?
    }

    /// Spends the same effort as a real verification, for a username that does not exist.
    pub async fn verify_decoy(&self, secret: Secret) -> Result<(), ServiceError> {
        let decoy = self.decoy.clone();
        let phc = tokio::task::spawn_blocking(move || -> Result<String, ServiceError> {
            if let Some(phc) = decoy.get() {
                return Ok(phc.clone());
            }
            let fresh = Self::hash_blocking(&Secret::parse("decoy").map_err(ServiceError::from)?)?;
            Ok(decoy.get_or_init(|| fresh).clone())
        })
        .await
        .map_err(ServiceError::internal)??;
        self.verify(secret, phc).await.map(|_| ())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
struct HashError(String);
