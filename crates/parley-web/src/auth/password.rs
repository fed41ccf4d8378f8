//! Argon2id password hashing on two dedicated threads. Hashing is deliberately slow and
//! memory-hard (12 MiB a hash); doing it on a fixed pair of threads bounds both the CPU
//! it takes from request handling and the memory the allocator keeps afterwards (each
//! blocking-pool thread would otherwise keep its own arena of freed hash memory).

use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};

use argon2::password_hash::{
    PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng,
};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::error::ApiError;

/// OWASP's second recommended Argon2id setting: m = 12 MiB, t = 3, p = 1.
fn argon2() -> Result<Argon2<'static>, ApiError> {
    let params = Params::new(12 * 1024, 3, 1, None)
        .map_err(|e| ApiError::Internal(format!("argon2 params: {e}")))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

const HASHING_THREADS: usize = 2;

type Job = Box<dyn FnOnce() + Send>;

fn workers() -> &'static Mutex<mpsc::Sender<Job>> {
    static WORKERS: OnceLock<Mutex<mpsc::Sender<Job>>> = OnceLock::new();
    WORKERS.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = std::sync::Arc::new(Mutex::new(rx));
        for i in 0..HASHING_THREADS {
            let rx = rx.clone();
            let _ = std::thread::Builder::new()
                .name(format!("parley-hash-{i}"))
                .spawn(move || {
                    loop {
                        let job = match rx.lock() {
                            Ok(guard) => guard.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                });
        }
        Mutex::new(tx)
    })
}

/// Runs `work` on a hashing thread and waits for it without blocking the runtime.
async fn on_hashing_thread<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    let (done, result) = tokio::sync::oneshot::channel();
    let job: Job = Box::new(move || {
        let _ = done.send(work());
    });
    workers()
        .lock()
        .map_err(|_| ApiError::Internal("password hashing threads are gone".into()))?
        .send(job)
        .map_err(|_| ApiError::Internal("password hashing threads are gone".into()))?;
    result
        .await
        .map_err(|_| ApiError::Internal("password hashing failed".into()))
}

pub async fn hash_password(password: String) -> Result<String, ApiError> {
    on_hashing_thread(move || {
        let salt = SaltString::generate(&mut OsRng);
        argon2()?
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| ApiError::Internal(format!("hashing a password: {e}")))
    })
    .await?
}

/// True when `password` matches `hash`. With no hash, still spends the time a real
/// check would, so response times do not reveal which emails have accounts.
pub async fn verify_password(password: String, hash: Option<String>) -> Result<bool, ApiError> {
    on_hashing_thread(move || {
        // Verification reads the parameters from the stored hash itself.
        let argon = Argon2::default();
        match hash.as_deref().map(PasswordHash::new) {
            Some(Ok(parsed)) => Ok(argon.verify_password(password.as_bytes(), &parsed).is_ok()),
            _ => {
                let salt = SaltString::generate(&mut OsRng);
                let _ = argon2()?.hash_password(password.as_bytes(), &salt);
                Ok(false)
            }
        }
    })
    .await?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let hash = hash_password("correct horse".into()).await.ok();
        assert!(
            hash.as_deref()
                .is_some_and(|h| h.starts_with("$argon2id$v=19$m=12288,t=3,p=1$"))
        );
        assert!(matches!(
            verify_password("correct horse".into(), hash.clone()).await,
            Ok(true)
        ));
        assert!(matches!(
            verify_password("wrong horse".into(), hash).await,
            Ok(false)
        ));
        assert!(matches!(verify_password("x".into(), None).await, Ok(false)));
    }
}
