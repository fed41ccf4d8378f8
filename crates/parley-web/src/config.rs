//! Settings the HTTP layer needs, resolved by the binary from flags, env and file.

use std::time::Duration;

#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Site used when a request names none (the first site when unset).
    pub default_site: Option<String>,
    /// The public origin (scheme://host[:port]) pages are served from, for CSRF checks
    /// behind a proxy. When unset, the request's Host header is trusted.
    pub public_origin: Option<String>,
    /// Mark cookies Secure (serve over TLS, directly or behind a proxy).
    pub secure_cookies: bool,
    /// Read the client address from X-Forwarded-For (only behind a trusted proxy).
    pub trust_proxy: bool,
    pub max_comment_chars: usize,
    pub edit_window: Duration,
    /// Deepest reply level (top-level comments are level 0).
    pub max_depth: i64,
    pub page_size: i64,
    pub max_page_size: i64,
    pub replies_per_comment: i64,
    pub session_ttl: Duration,
    pub body_limit_bytes: usize,
    /// Failed sign-ins allowed per account, and per client address, in `signin_window`.
    pub signin_failures_per_account: u32,
    pub signin_failures_per_ip: u32,
    pub signin_window: Duration,
    /// How often background jobs (story auto-close, session sweep) run.
    pub jobs_every: Duration,
    /// Accept webhook URLs on loopback, private and link-local addresses (tests, or an
    /// intranet receiver). Off: only public hosts.
    pub webhooks_allow_private: bool,
    /// Waits before each retry of a failed webhook delivery; one attempt more than
    /// delays in all.
    pub webhook_retry_delays: Vec<Duration>,
    /// How often the webhook worker looks for due deliveries.
    pub webhook_poll_every: Duration,
    /// How long a receiver has to answer.
    pub webhook_timeout: Duration,
    /// How long delivered and failed webhook deliveries (the admin's log) are kept after
    /// their last attempt before the jobs sweep them; pending ones are never swept.
    pub webhook_log_retention: Duration,
    /// The SMTP server mail is sent through; None leaves mail queued, unsent.
    pub smtp: Option<crate::mail::SmtpSettings>,
    /// The sender of every mail, a mailbox like `Courier comments <comments@courier.example>`.
    pub mail_from: Option<String>,
    /// Waits before each retry of mail that could not be sent; one attempt more than
    /// delays in all.
    pub mail_retry_delays: Vec<Duration>,
    /// How often the mail worker looks for due mail.
    pub mail_poll_every: Duration,
    /// How long sent and failed mail stays in the outbox (the admin's view) before it
    /// is swept.
    pub mail_keep: Duration,
    /// How long a reader's notifications collect before their digest is mailed: the
    /// digest goes out once the oldest waiting notification is this old.
    pub digest_every: Duration,
    /// Where links in mail point when `public_origin` is unset: the address this server
    /// listens on (set by `parley serve`).
    pub links_origin: Option<String>,
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            default_site: None,
            public_origin: None,
            secure_cookies: false,
            trust_proxy: false,
            max_comment_chars: 5_000,
            edit_window: Duration::from_secs(15 * 60),
            max_depth: 6,
            page_size: 20,
            max_page_size: 100,
            replies_per_comment: 5,
            session_ttl: Duration::from_secs(30 * 24 * 3600),
            body_limit_bytes: 64 * 1024,
            signin_failures_per_account: 5,
            signin_failures_per_ip: 30,
            signin_window: Duration::from_secs(15 * 60),
            jobs_every: Duration::from_secs(60),
            webhooks_allow_private: false,
            webhook_retry_delays: [30, 120, 600, 3600, 6 * 3600, 24 * 3600]
                .into_iter()
                .map(Duration::from_secs)
                .collect(),
            webhook_poll_every: Duration::from_secs(1),
            webhook_timeout: Duration::from_secs(10),
            webhook_log_retention: Duration::from_secs(30 * 24 * 3600),
            smtp: None,
            mail_from: None,
            mail_retry_delays: [60, 300, 1800, 2 * 3600, 6 * 3600, 24 * 3600]
                .into_iter()
                .map(Duration::from_secs)
                .collect(),
            mail_poll_every: Duration::from_secs(1),
            mail_keep: Duration::from_secs(30 * 24 * 3600),
            digest_every: Duration::from_secs(24 * 3600),
            links_origin: None,
        }
    }
}
