//! Argon2id password hashing on two dedicated threads. Hashing is deliberately slow and
//! memory-hard (12 MiB a hash). A fixed pair of threads bounds the CPU it takes from
//! request handling, and each thread hashes in one buffer it keeps and reuses: letting
//! the library allocate 12 MiB per hash left glibc's arenas holding hundreds of MiB.

use std::cell::RefCell;
use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};

use argon2::password_hash::{Output, PasswordHash, SaltString, rand_core::OsRng};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;

use crate::error::ApiError;

/// OWASP's second recommended Argon2id setting: m = 12 MiB, t = 3, p = 1.
const MEMORY_KIB: u32 = 12 * 1024;
const PASSES: u32 = 3;
const LANES: u32 = 1;

fn internal(what: &str, e: impl std::fmt::Display) -> ApiError {
    ApiError::Internal(format!("{what}: {e}"))
}

thread_local! {
    /// This hashing thread's working memory, grown once and kept.
    static MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Argon2id of `password` with `salt` under `params`, in this thread's buffer.
fn derive(params: Params, password: &[u8], salt: &[u8]) -> Result<Vec<u8>, ApiError> {
    let mut out = vec![0u8; params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN)];
    let blocks = params.block_count();
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    MEMORY.with(|memory| {
        let mut memory = memory.borrow_mut();
        if memory.len() < blocks {
            memory.resize(blocks, Block::default());
        }
        let slice = memory
            .get_mut(..blocks)
            .ok_or_else(|| ApiError::Internal("argon2 memory".into()))?;
        argon
            .hash_password_into_with_memory(password, salt, &mut out, slice)
            .map_err(|e| internal("hashing a password", e))
    })?;
    Ok(out)
}

fn hash_now(password: &str) -> Result<String, ApiError> {
    let params =
        Params::new(MEMORY_KIB, PASSES, LANES, None).map_err(|e| internal("argon2 params", e))?;
    let salt = SaltString::generate(&mut OsRng);
    let mut raw_salt = [0u8; 64];
    let salt_bytes = salt
        .decode_b64(&mut raw_salt)
        .map_err(|e| internal("salt", e))?;
    let hash = derive(params, password.as_bytes(), salt_bytes)?;
    // The PHC string format, as every argon2 implementation reads it.
    Ok(format!(
        "$argon2id$v=19$m={MEMORY_KIB},t={PASSES},p={LANES}${}${}",
        salt.as_str(),
        STANDARD_NO_PAD.encode(hash)
    ))
}

fn verify_now(password: &str, hash: Option<&str>) -> Result<bool, ApiError> {
    let parsed = hash.map(PasswordHash::new);
    let Some(Ok(parsed)) = parsed else {
        // Spend the time a real check would.
        hash_now(password)?;
        return Ok(false);
    };
    if parsed.algorithm.as_str() != "argon2id" {
        return Ok(false);
    }
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return Ok(false);
    };
    let params = Params::try_from(&parsed).map_err(|e| internal("stored hash parameters", e))?;
    let mut raw_salt = [0u8; 64];
    let salt_bytes = salt
        .decode_b64(&mut raw_salt)
        .map_err(|e| internal("stored salt", e))?;
    let computed = derive(params, password.as_bytes(), salt_bytes)?;
    // Output compares in constant time.
    Ok(Output::new(&computed).is_ok_and(|c| c == expected))
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
    on_hashing_thread(move || hash_now(&password)).await?
}

/// True when `password` matches `hash`. With no hash, still spends the time a real
/// check would, so response times do not reveal which emails have accounts.
pub async fn verify_password(password: String, hash: Option<String>) -> Result<bool, ApiError> {
    on_hashing_thread(move || verify_now(&password, hash.as_deref())).await?
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

    #[tokio::test]
    async fn hashes_made_by_the_library_itself_still_verify() {
        use argon2::PasswordHasher;
        let salt = SaltString::generate(&mut OsRng);
        let library = Argon2::default()
            .hash_password(b"old password", &salt)
            .map(|h| h.to_string());
        let library = library.ok();
        assert!(matches!(
            verify_password("old password".into(), library.clone()).await,
            Ok(true)
        ));
        assert!(matches!(
            verify_password("new password".into(), library).await,
            Ok(false)
        ));
    }
}
