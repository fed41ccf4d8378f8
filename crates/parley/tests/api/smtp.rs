//! A real SMTP server for tests: `scripts/smtp_sink.py` (Python's aiosmtpd) on a free
//! loopback port, keeping each message it receives as a file, read back decoded.
//!
//! ```ignore
//! use crate::smtp::{SinkOptions, SmtpSink};
//!
//! let sink = SmtpSink::start(SinkOptions::default()).await;
//! run(Backend::Sqlite, sink.config(), |app| async move {
//!     // ... something that queues mail for sam@example.org ...
//!     let mail = sink.wait_for(1, Duration::from_secs(10)).await;
//!     assert_eq!(mail[0].to_address(), "sam@example.org");
//!     assert_eq!(mail[0].subject, "Confirm your address");
//!     let link = mail[0].link("https://courier.example/").unwrap();
//! })
//! .await;
//! ```
//!
//! [`SmtpSink::config`] is a `WebConfig` whose mail worker sends to the sink, looks for
//! due mail every 50 ms and retries after 300 ms (three times). With STARTTLS, use
//! [`TestCert::localhost`] and [`SinkOptions::starttls`]; the config then trusts the
//! certificate as an extra CA.
//!
//! The Python running the sink is `PARLEY_TEST_SMTP_PYTHON` (scripts/test sets it up
//! with aiosmtpd), else `target/test-venv/bin/python` when it exists, else `python3`.

// A harness for other test files too: not every helper is used by every build.
#![allow(dead_code)]

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use parley_web::WebConfig;
use parley_web::mail::{SmtpSettings, SmtpTls};

/// The sender the test configs use.
pub const MAIL_FROM: &str = "Courier comments <comments@courier.example>";

/// A self-signed certificate for `localhost` and 127.0.0.1, as PEM files in a
/// temporary directory (removed when dropped).
pub struct TestCert {
    pub cert_path: PathBuf,
    pub key_path: PathBuf,
    _dir: tempfile::TempDir,
}

impl TestCert {
    pub fn localhost() -> TestCert {
        let dir = tempfile::tempdir().expect("temp dir for the certificate");
        let key = rcgen::generate_simple_self_signed(vec![
            "localhost".to_owned(),
            "127.0.0.1".to_owned(),
        ])
        .expect("self-signed certificate");
        let cert_path = dir.path().join("cert.pem");
        let key_path = dir.path().join("key.pem");
        std::fs::write(&cert_path, key.cert.pem()).expect("write cert.pem");
        std::fs::write(&key_path, key.signing_key.serialize_pem()).expect("write key.pem");
        TestCert {
            cert_path,
            key_path,
            _dir: dir,
        }
    }
}

/// How the sink behaves.
#[derive(Clone, Default)]
pub struct SinkOptions {
    /// Offer STARTTLS with this certificate (and key).
    pub starttls: Option<(PathBuf, PathBuf)>,
    /// Refuse mail until STARTTLS.
    pub require_starttls: bool,
    /// TLS from the first byte (smtps) with this certificate (and key).
    pub implicit_tls: Option<(PathBuf, PathBuf)>,
    /// Require AUTH (PLAIN or LOGIN) as this user and password.
    pub auth: Option<(String, String)>,
    /// Answer every RCPT with this line, e.g. "550 5.1.1 No such user".
    pub reject: Option<String>,
}

impl SinkOptions {
    /// STARTTLS offered and required, with `cert`.
    pub fn starttls(cert: &TestCert) -> Self {
        SinkOptions {
            starttls: Some((cert.cert_path.clone(), cert.key_path.clone())),
            require_starttls: true,
            ..Default::default()
        }
    }

    /// Implicit TLS (smtps) with `cert`.
    pub fn implicit_tls(cert: &TestCert) -> Self {
        SinkOptions {
            implicit_tls: Some((cert.cert_path.clone(), cert.key_path.clone())),
            ..Default::default()
        }
    }

    pub fn with_auth(self, user: &str, password: &str) -> Self {
        SinkOptions {
            auth: Some((user.to_owned(), password.to_owned())),
            ..self
        }
    }

    pub fn rejecting(self, line: &str) -> Self {
        SinkOptions {
            reject: Some(line.to_owned()),
            ..self
        }
    }
}

/// One message the sink received, decoded.
#[derive(Debug, Clone)]
pub struct ReceivedMail {
    /// The bytes as received.
    pub raw: Vec<u8>,
    /// Every header of the message in order: name as written, value unfolded (not
    /// decoded: an encoded word stays encoded; see `subject`, `from`, `to`).
    pub headers: Vec<(String, String)>,
    /// Decoded Subject.
    pub subject: String,
    /// From as `Name <address>` (or the bare address), decoded.
    pub from: String,
    /// To recipients as `Name <address>` (or bare addresses), decoded.
    pub to: Vec<String>,
    /// The text/plain part, decoded (None when there is none).
    pub text: Option<String>,
    /// The text/html part, decoded (None when there is none).
    pub html: Option<String>,
    /// The envelope: MAIL FROM and RCPT TO.
    pub envelope_from: String,
    pub envelope_to: Vec<String>,
    /// The session was encrypted (STARTTLS or implicit TLS).
    pub tls: bool,
    /// The user who authenticated, if any.
    pub auth_user: Option<String>,
    /// The client's port: the same for messages sent over one connection.
    pub peer_port: Option<u64>,
}

impl ReceivedMail {
    /// The first header of this name (any case), unfolded, as written.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every header of this name (any case).
    pub fn headers_named(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The first recipient's bare address.
    pub fn to_address(&self) -> String {
        let first = self.to.first().map(String::as_str).unwrap_or_default();
        match (first.rfind('<'), first.rfind('>')) {
            (Some(a), Some(b)) if a < b => first[a + 1..b].to_owned(),
            _ => first.to_owned(),
        }
    }

    /// The first URL in the text part starting with `prefix` (a verification or reset
    /// link, say), up to the next space, `>` or line end.
    pub fn link(&self, prefix: &str) -> Option<String> {
        let text = self.text.as_deref()?;
        let start = text.find(prefix)?;
        let rest = &text[start..];
        let end = rest
            .find(|c: char| c.is_whitespace() || matches!(c, '>' | '"' | ')'))
            .unwrap_or(rest.len());
        Some(rest[..end].to_owned())
    }

    fn parse(raw: Vec<u8>, meta: &serde_json::Value) -> ReceivedMail {
        let message = mail_parser::MessageParser::default()
            .parse(&raw)
            .expect("the sink kept something that is not a mail message");
        let headers = message
            .headers_raw()
            .map(|(name, value)| (name.to_owned(), unfold(value)))
            .collect();
        let show = |a: &mail_parser::Addr| match (a.name(), a.address()) {
            (Some(n), Some(addr)) => format!("{n} <{addr}>"),
            (None, Some(addr)) => addr.to_owned(),
            (Some(n), None) => n.to_owned(),
            (None, None) => String::new(),
        };
        let from = message
            .from()
            .and_then(|a| a.first())
            .map(show)
            .unwrap_or_default();
        let to = message
            .to()
            .map(|a| a.iter().map(show).collect())
            .unwrap_or_default();
        let part = |html: bool| {
            message
                .parts
                .iter()
                .find(|p| p.is_text() && p.is_text_html() == html)
                .and_then(|p| p.text_contents())
                .map(str::to_owned)
        };
        let strings = |v: &serde_json::Value| -> Vec<String> {
            v.as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|s| s.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        };
        ReceivedMail {
            subject: message.subject().unwrap_or_default().to_owned(),
            from,
            to,
            text: part(false),
            html: part(true),
            headers,
            envelope_from: meta["mail_from"].as_str().unwrap_or_default().to_owned(),
            envelope_to: strings(&meta["rcpt_tos"]),
            tls: meta["tls"].as_bool().unwrap_or(false),
            auth_user: meta["auth_user"].as_str().map(str::to_owned),
            peer_port: meta["peer_port"].as_u64(),
            raw,
        }
    }
}

fn unfold(value: &str) -> String {
    value
        .split(['\r', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A running `scripts/smtp_sink.py`; stopped when dropped.
pub struct SmtpSink {
    port: u16,
    options: SinkOptions,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/smtp_sink.py")
}

fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("PARLEY_TEST_SMTP_PYTHON").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/test-venv/bin/python");
    if venv.exists() {
        return venv;
    }
    PathBuf::from("python3")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

impl SmtpSink {
    /// Starts the sink on a free port with an empty mail directory, and waits until it
    /// accepts connections.
    pub async fn start(options: SinkOptions) -> SmtpSink {
        let mut sink = SmtpSink {
            port: free_port(),
            options,
            dir: tempfile::tempdir().expect("temp dir for the sink"),
            child: None,
        };
        sink.spawn().await;
        sink
    }

    /// Starts it again after [`SmtpSink::stop`], on the same port, keeping the mail
    /// received so far.
    pub async fn start_again(&mut self) {
        assert!(self.child.is_none(), "the sink is running already");
        self.spawn().await;
    }

    /// Stops it (connections are refused until `start_again`).
    pub async fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        // Closing its standard input asks it to stop; it exits at once.
        drop(child.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if child.try_wait().ok().flatten().is_some() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Where it keeps the messages (`*.eml`, with `*.json` envelopes beside them).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// SMTP settings that reach the sink: host `localhost` (the certificate's name),
    /// its TLS mode, its user, and its certificate as the extra CA; 5 s timeout.
    pub fn settings(&self) -> SmtpSettings {
        let (tls, cert) = match (&self.options.starttls, &self.options.implicit_tls) {
            (_, Some((cert, _))) => (SmtpTls::Tls, Some(cert.clone())),
            (Some((cert, _)), None) => (SmtpTls::StartTls, Some(cert.clone())),
            (None, None) => (SmtpTls::None, None),
        };
        SmtpSettings {
            host: "localhost".into(),
            port: self.port,
            tls,
            username: self.options.auth.as_ref().map(|(u, _)| u.clone()),
            password: self.options.auth.as_ref().map(|(_, p)| p.clone()),
            ca_cert: cert,
            timeout: Duration::from_secs(5),
        }
    }

    /// A `WebConfig` (defaults otherwise) whose mail goes to this sink from
    /// [`MAIL_FROM`], polled every 50 ms, retried after 300 ms three times.
    pub fn config(&self) -> WebConfig {
        WebConfig {
            smtp: Some(self.settings()),
            mail_from: Some(MAIL_FROM.into()),
            mail_poll_every: Duration::from_millis(50),
            mail_retry_delays: vec![Duration::from_millis(300); 3],
            ..WebConfig::default()
        }
    }

    /// Every message received so far, oldest first.
    pub fn messages(&self) -> Vec<ReceivedMail> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .expect("read the sink's directory")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .collect();
        names.sort();
        names
            .into_iter()
            .map(|eml| {
                let raw = std::fs::read(&eml).expect("read a received message");
                let meta = std::fs::read(eml.with_extension("json"))
                    .ok()
                    .and_then(|b| serde_json::from_slice(&b).ok())
                    .unwrap_or(serde_json::Value::Null);
                ReceivedMail::parse(raw, &meta)
            })
            .collect()
    }

    /// Waits until at least `count` messages arrived; panics after `timeout`.
    pub async fn wait_for(&self, count: usize, timeout: Duration) -> Vec<ReceivedMail> {
        self.wait_until(|m| m.len() >= count, timeout)
            .await
            .unwrap_or_else(|got| {
                panic!(
                    "the SMTP sink got {} message(s) in {timeout:?}, expected {count}",
                    got.len()
                )
            })
    }

    /// Waits until `done(messages)` holds; Err(messages so far) after `timeout`.
    pub async fn wait_until(
        &self,
        done: impl Fn(&[ReceivedMail]) -> bool,
        timeout: Duration,
    ) -> Result<Vec<ReceivedMail>, Vec<ReceivedMail>> {
        let deadline = Instant::now() + timeout;
        loop {
            let messages = self.messages();
            if done(&messages) {
                return Ok(messages);
            }
            if Instant::now() >= deadline {
                return Err(messages);
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    async fn spawn(&mut self) {
        let log = self.dir.path().join("sink.log");
        let mail_dir = self.dir.path();
        let mut command = Command::new(python());
        command
            .arg(script())
            .arg("--port")
            .arg(self.port.to_string())
            .arg("--dir")
            .arg(mail_dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("sink log"));
        let o = &self.options;
        if let Some((cert, key)) = &o.starttls {
            command
                .arg("--starttls")
                .arg("--cert")
                .arg(cert)
                .arg("--key")
                .arg(key);
            if o.require_starttls {
                command.arg("--require-starttls");
            }
        }
        if let Some((cert, key)) = &o.implicit_tls {
            command
                .arg("--implicit-tls")
                .arg("--cert")
                .arg(cert)
                .arg("--key")
                .arg(key);
        }
        if let Some((user, password)) = &o.auth {
            command.arg("--auth").arg(format!("{user}:{password}"));
        }
        if let Some(line) = &o.reject {
            command.arg("--reject").arg(line);
        }
        let mut child = command.spawn().unwrap_or_else(|e| {
            panic!(
                "could not run {} for the SMTP test sink: {e}; run scripts/test (it sets up \
                 aiosmtpd) or set PARLEY_TEST_SMTP_PYTHON",
                python().display()
            )
        });
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = child.try_wait().expect("sink status") {
                let said = std::fs::read_to_string(&log).unwrap_or_default();
                if status.code() == Some(3) {
                    panic!(
                        "the SMTP test sink needs the Python package aiosmtpd, which {} lacks: \
                         run scripts/test (it installs it into target/test-venv), or set \
                         PARLEY_TEST_SMTP_PYTHON to a python that has it\n{said}",
                        python().display()
                    );
                }
                panic!("the SMTP test sink stopped ({status}):\n{said}");
            }
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the SMTP test sink did not listen on port {} in 15 s",
                self.port
            );
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
        self.child = Some(child);
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
