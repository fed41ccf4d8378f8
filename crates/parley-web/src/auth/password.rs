//! Argon2id password hashing, off the async threads (it is deliberately slow).

use argon2::Argon2;
use argon2::password_hash::{
    PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng,
};

use crate::error::ApiError;

pub async fn hash_password(password: String) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| ApiError::Internal(format!("hashing a password: {e}")))
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?
}

/// True when `password` matches `hash`. With no hash, still spends the time a real
/// check would, so response times do not reveal which emails have accounts.
pub async fn verify_password(password: String, hash: Option<String>) -> Result<bool, ApiError> {
    tokio::task::spawn_blocking(move || {
        let argon = Argon2::default();
        match hash.as_deref().map(PasswordHash::new) {
            Some(Ok(parsed)) => argon.verify_password(password.as_bytes(), &parsed).is_ok(),
            _ => {
                let salt = SaltString::generate(&mut OsRng);
                let _ = argon.hash_password(password.as_bytes(), &salt);
                false
            }
        }
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))
}
