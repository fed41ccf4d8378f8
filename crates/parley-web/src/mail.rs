//! Mail to readers, sent over SMTP from the store's outbox (`parley_store::mail`).
//!
//! Callers only queue a message (`store.mail().enqueue_mail(..)`); a worker on every
//! node claims due mail for a lease, so with many nodes each message is sent by one of
//! them, and records each attempt. A refused connection, a timeout or a 4xx answer is
//! retried after the next of `WebConfig::mail_retry_delays`; a 5xx answer (the server
//! refuses the message for good) or running out of delays fails it with the error.
//! Nothing is ever sent on a request's path. Without SMTP settings mail stays queued.
//!
//! Every message carries a `Message-ID` made from its outbox id, the same on every
//! retry, and a `Date` from when it was queued.

use std::path::PathBuf;
use std::time::{Duration, UNIX_EPOCH};

use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use parley_store::mail::{ClaimedMail, MailOutcome};
use tokio::task::JoinHandle;

use crate::{AppState, now_ms};

/// Messages one worker round claims (and sends at once, over pooled connections).
const CLAIM_BATCH: i64 = 10;
/// How much of a server's error the outbox keeps.
const ERROR_CHARS: usize = 500;
/// How often finished mail older than `WebConfig::mail_keep` is swept.
const SWEEP_EVERY: Duration = Duration::from_secs(3600);

/// How the connection to the SMTP server is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain text throughout (a relay on the same machine or a trusted network).
    None,
    /// Plain text, then STARTTLS, which must succeed before anything is sent.
    StartTls,
    /// TLS from the first byte ("implicit TLS", SMTPS, usually port 465).
    Tls,
}

impl SmtpTls {
    pub fn as_str(self) -> &'static str {
        match self {
            SmtpTls::None => "none",
            SmtpTls::StartTls => "starttls",
            SmtpTls::Tls => "tls",
        }
    }
}

/// Where and how to send mail.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    pub username: Option<String>,
    pub password: Option<String>,
    /// A PEM file of certificates to trust besides the usual public roots (a private
    /// relay's own CA, or a test server's self-signed certificate).
    pub ca_cert: Option<PathBuf>,
    /// How long each step of talking to the server may take.
    pub timeout: Duration,
}

impl std::fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("ca_cert", &self.ca_cert)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl SmtpSettings {
    /// `host:port (tls)` with the user but never the password, for logs and `doctor`.
    pub fn describe(&self) -> String {
        let user = self
            .username
            .as_deref()
            .map(|u| format!("{u}@"))
            .unwrap_or_default();
        format!("{user}{}:{} ({})", self.host, self.port, self.tls.as_str())
    }
}

/// What is wrong with an SMTP URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SmtpUrlError {
    #[error("not a URL: {0} (e.g. smtp://user:password@mail.example.org:587)")]
    NotAUrl(String),
    #[error("the scheme is {0}: use smtp:// (STARTTLS or plain) or smtps:// (implicit TLS)")]
    Scheme(String),
    #[error("the URL names no host")]
    NoHost,
    #[error(
        "the URL has a path ({0}); an SMTP URL is smtp://[user:password@]host[:port][?tls=...]"
    )]
    Path(String),
    #[error("tls={0} is not known: use tls=none, tls=starttls or tls=tls")]
    TlsMode(String),
    #[error("smtps:// is implicit TLS; it cannot be combined with tls={0} (use smtp:// for that)")]
    SmtpsMode(String),
    #[error("unknown parameter {0}: the only one is tls (none, starttls or tls)")]
    Parameter(String),
    #[error("a user name needs a password (smtp://user:password@host)")]
    NoPassword,
    #[error("the user name or password is not valid percent-encoded UTF-8")]
    Encoding,
}

/// Reads `smtp://[user:password@]host[:port][?tls=none|starttls|tls]` or
/// `smtps://[user:password@]host[:port]`. `smtp://` defaults to STARTTLS on port 587;
/// `?tls=none` is plain text (port 25), `?tls=tls` or `smtps://` implicit TLS (port
/// 465). The user name and password are percent-decoded (`%40` for `@`).
pub fn parse_smtp_url(raw: &str) -> Result<SmtpSettings, SmtpUrlError> {
    let url = reqwest::Url::parse(raw.trim()).map_err(|e| SmtpUrlError::NotAUrl(e.to_string()))?;
    let implicit = match url.scheme() {
        "smtp" => false,
        "smtps" => true,
        other => return Err(SmtpUrlError::Scheme(other.to_owned())),
    };
    let host = url
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or(SmtpUrlError::NoHost)?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    if !matches!(url.path(), "" | "/") {
        return Err(SmtpUrlError::Path(url.path().to_owned()));
    }
    let mut mode = None;
    for (key, value) in url.query_pairs() {
        match key.as_ref() {
            "tls" => {
                mode = Some(match value.as_ref() {
                    "none" => SmtpTls::None,
                    "starttls" => SmtpTls::StartTls,
                    "tls" => SmtpTls::Tls,
                    other => return Err(SmtpUrlError::TlsMode(other.to_owned())),
                })
            }
            other => return Err(SmtpUrlError::Parameter(other.to_owned())),
        }
    }
    let tls = match (implicit, mode) {
        (true, None | Some(SmtpTls::Tls)) => SmtpTls::Tls,
        (true, Some(other)) => return Err(SmtpUrlError::SmtpsMode(other.as_str().to_owned())),
        (false, mode) => mode.unwrap_or(SmtpTls::StartTls),
    };
    let port = url.port().unwrap_or(match tls {
        SmtpTls::None => 25,
        SmtpTls::StartTls => 587,
        SmtpTls::Tls => 465,
    });
    let username = Some(percent_decode(url.username())?).filter(|u| !u.is_empty());
    let password = url.password().map(percent_decode).transpose()?;
    if username.is_some() && password.is_none() {
        return Err(SmtpUrlError::NoPassword);
    }
    Ok(SmtpSettings {
        host,
        port,
        tls,
        username,
        password,
        ca_cert: None,
        timeout: Duration::from_secs(30),
    })
}

fn percent_decode(s: &str) -> Result<String, SmtpUrlError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3).ok_or(SmtpUrlError::Encoding)?;
            let hex = std::str::from_utf8(hex).map_err(|_| SmtpUrlError::Encoding)?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| SmtpUrlError::Encoding)?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| SmtpUrlError::Encoding)
}

/// What stops mail from being sent at all: settings that cannot work.
#[derive(Debug, thiserror::Error)]
pub enum MailSetupError {
    #[error("the sender {0:?} is not a mailbox like `Courier comments <comments@courier.example>`")]
    From(String),
    #[error("reading the CA certificate {path}: {error}")]
    CaFile { path: String, error: String },
    #[error("the CA certificate {0} holds no PEM certificate")]
    CaPem(String),
    #[error("setting up TLS: {0}")]
    Tls(String),
}

/// Reads a sender like `Courier comments <comments@courier.example>`.
pub fn parse_from(raw: &str) -> Result<Mailbox, MailSetupError> {
    raw.trim()
        .parse::<Mailbox>()
        .map_err(|_| MailSetupError::From(raw.to_owned()))
}

/// Checks what building the client for these settings would (the TLS set-up and its CA
/// file) without building it: the client keeps a pool of connections, and that needs
/// a running Tokio runtime.
pub fn check_transport(s: &SmtpSettings) -> Result<(), MailSetupError> {
    match s.tls {
        SmtpTls::None => Ok(()),
        SmtpTls::StartTls | SmtpTls::Tls => tls_parameters(s).map(|_| ()),
    }
}

/// The SMTP client for these settings. It opens connections only when sending and keeps
/// them for later mail (a pool, which spawns a task: call it inside a Tokio runtime).
pub fn transport(s: &SmtpSettings) -> Result<AsyncSmtpTransport<Tokio1Executor>, MailSetupError> {
    let tls = match s.tls {
        SmtpTls::None => Tls::None,
        SmtpTls::StartTls => Tls::Required(tls_parameters(s)?),
        SmtpTls::Tls => Tls::Wrapper(tls_parameters(s)?),
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(s.host.clone())
        .port(s.port)
        .tls(tls)
        .timeout(Some(s.timeout));
    if let (Some(user), Some(password)) = (&s.username, &s.password) {
        builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
    }
    Ok(builder.build())
}

fn tls_parameters(s: &SmtpSettings) -> Result<TlsParameters, MailSetupError> {
    let mut builder = TlsParameters::builder(s.host.clone());
    if let Some(path) = &s.ca_cert {
        let pem = std::fs::read(path).map_err(|e| MailSetupError::CaFile {
            path: path.display().to_string(),
            error: e.to_string(),
        })?;
        let cert = Certificate::from_pem(&pem)
            .map_err(|_| MailSetupError::CaPem(path.display().to_string()))?;
        builder = builder.add_root_certificate(cert);
    }
    builder
        .build_rustls()
        .map_err(|e| MailSetupError::Tls(e.to_string()))
}

/// The message as it goes out. Err when it cannot be built (an address the parser
/// refuses), which no retry would mend.
pub fn build_message(m: &ClaimedMail, from: &Mailbox) -> Result<Message, String> {
    let address = m
        .to_addr
        .parse()
        .map_err(|_| format!("not a mail address: {}", m.to_addr))?;
    let to = Mailbox::new(m.to_name.clone(), address);
    let date = UNIX_EPOCH + Duration::from_millis(u64::try_from(m.created_at).unwrap_or(0));
    let mut builder = Message::builder()
        .from(from.clone())
        .to(to)
        .subject(m.subject.clone())
        .date(date)
        .message_id(Some(message_id(m.id, m.created_at, from)));
    if let Some(url) = &m.unsubscribe_url {
        builder = builder
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe"),
                format!("<{url}>"),
            ))
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                "List-Unsubscribe=One-Click".to_owned(),
            ));
    }
    let built = match &m.body_html {
        Some(html) => builder.multipart(MultiPart::alternative_plain_html(
            m.body_text.clone(),
            html.clone(),
        )),
        None => builder.singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_PLAIN)
                .body(m.body_text.clone()),
        ),
    };
    built.map_err(|e| format!("building the message: {e}"))
}

/// `<parley.{id}.{queued at}@{sender's domain}>`: the same on every retry of a message,
/// different for every message (the time keeps ids apart across restored databases).
pub fn message_id(id: i64, created_at: i64, from: &Mailbox) -> String {
    format!("<parley.{id}.{created_at}@{}>", from.email.domain())
}

/// The wait before the next attempt after `attempts_before` earlier failed attempts
/// and this one; None when the delays are used up.
pub fn retry_delay(delays: &[Duration], attempts_before: i64) -> Option<Duration> {
    usize::try_from(attempts_before)
        .ok()
        .and_then(|i| delays.get(i))
        .copied()
}

/// Sends due mail every `config.mail_poll_every` until the handle is aborted; without
/// SMTP settings it says so once and leaves mail queued.
pub fn spawn_worker(state: AppState) -> JoinHandle<()> {
    tokio::spawn(async move {
        let Some(smtp) = state.config.smtp.clone() else {
            tracing::info!("mail is not configured (--smtp-url): mail stays queued, unsent");
            return;
        };
        let setup = parse_from(state.config.mail_from.as_deref().unwrap_or_default())
            .and_then(|from| Ok((from, transport(&smtp)?)));
        let (from, mailer) = match setup {
            Ok(ready) => ready,
            Err(e) => {
                tracing::error!(error = %e, "mail is off: mail stays queued, unsent");
                return;
            }
        };
        tracing::info!(server = %smtp.describe(), "sending mail");
        let every = state.config.mail_poll_every.max(Duration::from_millis(5));
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_sweep = now_ms();
        loop {
            tick.tick().await;
            if let Err(e) = send_due(&state, &mailer, &from).await {
                tracing::warn!(error = %e, "sending queued mail");
            }
            let now = now_ms();
            if now - last_sweep >= SWEEP_EVERY.as_millis() as i64 {
                last_sweep = now;
                let before = now - state.config.mail_keep.as_millis() as i64;
                if let Err(e) = state.store.mail().sweep_mail(before).await {
                    tracing::warn!(error = %e, "sweeping old mail");
                }
            }
        }
    })
}

/// Claims and sends one batch of due mail; returns how many were claimed.
pub async fn send_due(
    state: &AppState,
    mailer: &AsyncSmtpTransport<Tokio1Executor>,
    from: &Mailbox,
) -> parley_store::StoreResult<usize> {
    let limit = send_limit(&state.config);
    // The lease outlasts the longest send with room to record the result.
    let lease = limit.as_millis() as i64 + 30_000;
    let claimed = state
        .store
        .mail()
        .claim_mail(now_ms(), lease, CLAIM_BATCH)
        .await?;
    let n = claimed.len();
    let sends = claimed.into_iter().map(|m| async move {
        let outcome = send(state, mailer, from, &m, limit).await;
        if let Err(e) = state.store.mail().record_mail_attempt(outcome).await {
            tracing::warn!(error = %e, mail = m.id, "recording a mail attempt");
        }
    });
    futures::future::join_all(sends).await;
    Ok(n)
}

/// The longest one message may take: each step of the dialogue (connect, greeting,
/// STARTTLS, AUTH, envelope, data) has the timeout; a send past this is abandoned.
fn send_limit(config: &crate::WebConfig) -> Duration {
    let step = config
        .smtp
        .as_ref()
        .map_or(Duration::from_secs(30), |s| s.timeout);
    step * 4
}

async fn send(
    state: &AppState,
    mailer: &AsyncSmtpTransport<Tokio1Executor>,
    from: &Mailbox,
    m: &ClaimedMail,
    limit: Duration,
) -> MailOutcome {
    let result = match build_message(m, from) {
        Err(e) => Err((e, true)),
        Ok(message) => match tokio::time::timeout(limit, mailer.send(message)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err((describe(&e), e.is_permanent())),
            Err(_) => Err(("timed out".to_owned(), false)),
        },
    };
    let at = now_ms();
    match result {
        Ok(()) => MailOutcome {
            mail_id: m.id,
            at,
            sent: true,
            error: None,
            retry_at: None,
        },
        Err((error, permanent)) => {
            let retry_at = (!permanent)
                .then(|| retry_delay(&state.config.mail_retry_delays, m.attempts))
                .flatten()
                .map(|delay| at.saturating_add(delay.as_millis() as i64));
            tracing::warn!(mail = m.id, kind = %m.kind, error = %error, retry = retry_at.is_some(), "mail not sent");
            MailOutcome {
                mail_id: m.id,
                at,
                sent: false,
                error: Some(error.chars().take(ERROR_CHARS).collect()),
                retry_at,
            }
        }
    }
}

/// The server's answer (code and text) when it gave one, else what went wrong.
fn describe(e: &lettre::transport::smtp::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn smtp_defaults_to_starttls_on_587() {
        let s = parse_smtp_url("smtp://mail.example.org").unwrap();
        assert_eq!(
            (s.host.as_str(), s.port, s.tls),
            ("mail.example.org", 587, SmtpTls::StartTls)
        );
        assert_eq!((s.username, s.password), (None, None));
    }

    #[test]
    fn tls_modes_and_their_ports() {
        let s = parse_smtp_url("smtp://relay?tls=none").unwrap();
        assert_eq!((s.port, s.tls), (25, SmtpTls::None));
        let s = parse_smtp_url("smtp://relay?tls=tls").unwrap();
        assert_eq!((s.port, s.tls), (465, SmtpTls::Tls));
        let s = parse_smtp_url("smtps://relay").unwrap();
        assert_eq!((s.port, s.tls), (465, SmtpTls::Tls));
        let s = parse_smtp_url("smtps://relay:2465?tls=tls").unwrap();
        assert_eq!((s.port, s.tls), (2465, SmtpTls::Tls));
        let s = parse_smtp_url("smtp://127.0.0.1:2525?tls=starttls").unwrap();
        assert_eq!(
            (s.host.as_str(), s.port, s.tls),
            ("127.0.0.1", 2525, SmtpTls::StartTls)
        );
        let s = parse_smtp_url("smtp://[::1]:2525?tls=none").unwrap();
        assert_eq!(s.host, "::1");
    }

    #[test]
    fn credentials_are_percent_decoded() {
        let s =
            parse_smtp_url("smtp://news%40courier.example:p%3Ass%2Fw%C3%B6rd@relay:587").unwrap();
        assert_eq!(s.username.as_deref(), Some("news@courier.example"));
        assert_eq!(s.password.as_deref(), Some("p:ss/wörd"));
        assert!(
            !format!("{s:?}").contains("p:ss"),
            "Debug hides the password"
        );
        assert_eq!(s.describe(), "news@courier.example@relay:587 (starttls)");
    }

    #[test]
    fn bad_urls_say_what_is_wrong() {
        let cases: &[(&str, SmtpUrlError)] = &[
            ("http://relay", SmtpUrlError::Scheme("http".into())),
            ("smtp://relay?tls=ssl", SmtpUrlError::TlsMode("ssl".into())),
            (
                "smtps://relay?tls=none",
                SmtpUrlError::SmtpsMode("none".into()),
            ),
            (
                "smtp://relay?tsl=none",
                SmtpUrlError::Parameter("tsl".into()),
            ),
            ("smtp://user@relay", SmtpUrlError::NoPassword),
            ("smtp://relay/inbox", SmtpUrlError::Path("/inbox".into())),
            ("smtp://u:%ff@relay", SmtpUrlError::Encoding),
            ("smtp://u:%4@relay", SmtpUrlError::Encoding),
        ];
        for (url, expected) in cases {
            assert_eq!(parse_smtp_url(url).as_ref(), Err(expected), "{url}");
        }
        assert!(matches!(
            parse_smtp_url("relay:25"),
            Err(SmtpUrlError::Scheme(_))
        ));
        assert!(matches!(
            parse_smtp_url("not a url"),
            Err(SmtpUrlError::NotAUrl(_))
        ));
        assert!(matches!(
            parse_smtp_url("smtp://"),
            Err(SmtpUrlError::NoHost | SmtpUrlError::NotAUrl(_))
        ));
    }

    #[test]
    fn retries_follow_the_delays_then_stop() {
        let delays = crate::WebConfig::default().mail_retry_delays;
        assert_eq!(delays.len(), 6);
        assert_eq!(retry_delay(&delays, 0), Some(Duration::from_secs(60)));
        assert_eq!(retry_delay(&delays, 1), Some(Duration::from_secs(300)));
        assert_eq!(
            retry_delay(&delays, 5),
            Some(Duration::from_secs(24 * 3600))
        );
        assert_eq!(retry_delay(&delays, 6), None);
        assert_eq!(retry_delay(&delays, -1), None);
    }

    fn claimed(html: Option<&str>, unsubscribe: Option<&str>) -> ClaimedMail {
        ClaimedMail {
            id: 42,
            site_id: 1,
            user_id: None,
            kind: "reply".into(),
            to_addr: "sam@example.org".into(),
            to_name: Some("Sam Réader".into()),
            subject: "A reply to your comment".into(),
            body_text: "Someone replied.".into(),
            body_html: html.map(str::to_owned),
            unsubscribe_url: unsubscribe.map(str::to_owned),
            attempts: 0,
            created_at: 1_764_370_000_000,
        }
    }

    #[test]
    fn a_message_has_stable_id_date_and_unsubscribe_headers() {
        let from = parse_from("Courier comments <comments@courier.example>").unwrap();
        let m = claimed(
            Some("<p>Someone replied.</p>"),
            Some("https://courier.example/unsubscribe/abc"),
        );
        let text = String::from_utf8(build_message(&m, &from).unwrap().formatted()).unwrap();
        let again = String::from_utf8(build_message(&m, &from).unwrap().formatted()).unwrap();
        let header = |t: &str, name: &str| {
            t.lines()
                .find(|l| {
                    l.to_ascii_lowercase()
                        .starts_with(&format!("{}:", name.to_ascii_lowercase()))
                })
                .map(str::to_owned)
        };
        assert_eq!(
            header(&text, "Message-ID").as_deref(),
            Some("Message-ID: <parley.42.1764370000000@courier.example>")
        );
        assert_eq!(header(&text, "Message-ID"), header(&again, "Message-ID"));
        assert_eq!(
            header(&text, "Date").as_deref(),
            Some("Date: Fri, 28 Nov 2025 22:46:40 +0000")
        );
        assert_eq!(
            header(&text, "List-Unsubscribe").as_deref(),
            Some("List-Unsubscribe: <https://courier.example/unsubscribe/abc>")
        );
        assert_eq!(
            header(&text, "List-Unsubscribe-Post").as_deref(),
            Some("List-Unsubscribe-Post: List-Unsubscribe=One-Click")
        );
        assert!(text.contains("multipart/alternative"));
        let plain = String::from_utf8(
            build_message(&claimed(None, None), &from)
                .unwrap()
                .formatted(),
        )
        .unwrap();
        assert!(!plain.contains("multipart"));
        assert!(header(&plain, "List-Unsubscribe").is_none());
        assert!(plain.contains("Content-Type: text/plain; charset=utf-8"));
    }

    #[test]
    fn a_long_unsubscribe_link_stays_whole() {
        let from = parse_from("Courier comments <comments@courier.example>").unwrap();
        let url = format!(
            "https://courier.example/unsubscribe/{}",
            "a1b2c3d4".repeat(25)
        );
        let m = claimed(None, Some(&url));
        let text = String::from_utf8(build_message(&m, &from).unwrap().formatted()).unwrap();
        // Unfold the header block, then find the header.
        let head = text.split("\r\n\r\n").next().unwrap().replace("\r\n ", " ");
        let line = head
            .lines()
            .find(|l| l.starts_with("List-Unsubscribe:"))
            .unwrap();
        assert_eq!(line, format!("List-Unsubscribe: <{url}>"));
    }

    #[test]
    fn senders_are_mailboxes() {
        assert!(parse_from("Courier comments <comments@courier.example>").is_ok());
        assert!(parse_from("comments@courier.example").is_ok());
        assert!(parse_from("Courier comments").is_err());
        assert!(parse_from("").is_err());
    }
}
