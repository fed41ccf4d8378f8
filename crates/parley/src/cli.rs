//! Commands and settings. Every setting comes from a flag, else a `PARLEY_...`
//! environment variable, else the TOML file named by `--config`, else its default.

use std::io::Read;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use parley_core::{DisplayName, Email, Password, Role};
use parley_store::{NewUser, Store};
use parley_web::{AppState, WebConfig};
use serde::Deserialize;
use tokio::net::TcpListener;

#[derive(Parser)]
#[command(
    name = "parley",
    version,
    about = "Articles and the reader conversations under them, in one binary."
)]
pub struct Cli {
    /// Database URL: sqlite://FILE (created on first start) or postgres://USER@HOST/DB.
    /// [default: sqlite://parley.db]
    #[arg(long, global = true, env = "PARLEY_DATABASE")]
    database: Option<String>,

    /// TOML file with settings (any long option of `serve`, with underscores).
    #[arg(long, global = true, env = "PARLEY_CONFIG")]
    config: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the web server (runs migrations first).
    Serve(ServeArgs),
    /// Check the settings `serve` would run with, and the database, without changing
    /// anything; says what is wrong in plain words (exit status 1 when something is).
    Doctor(ServeArgs),
    /// Create or update the database schema, then exit.
    Migrate,
    /// Manage accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage sites (publications).
    #[command(subcommand)]
    Site(SiteCommand),
    /// Work with moderators' word lists (no database needed).
    #[command(subcommand)]
    Wordlist(WordlistCommand),
    /// Publish stories from Markdown files with front matter (see docs/PUBLISHING.md).
    #[command(subcommand)]
    Story(crate::story_cmd::StoryCommand),
    /// Import conversations from Disqus, WordPress, Commento, Comentario or a news page's text.
    #[command(subcommand)]
    Import(crate::import_cmd::ImportCommand),
    /// Write the whole database to a backup file (see docs/BACKUP.md); restore it with
    /// `parley import backup FILE`.
    Export(crate::backup_cmd::ExportArgs),
}

#[derive(Subcommand)]
enum WordlistCommand {
    /// Try a list: reads comment texts on standard input, one per line, and prints for each
    /// `hit<TAB>ENTRY<TAB>START-END<TAB>MATCHED TEXT` (byte offsets in the line) or `miss`.
    Test {
        /// The list: one entry per line, `#` comments (see docs/WORDLISTS.md).
        #[arg(long)]
        list: PathBuf,
    },
}

#[derive(Args, Default)]
pub(crate) struct ServeArgs {
    /// Address to listen on. [default: 127.0.0.1:8080]
    #[arg(long, env = "PARLEY_LISTEN")]
    listen: Option<String>,
    /// Load the demo site, story and conversation if they are not there yet.
    #[arg(long, env = "PARLEY_DEMO")]
    demo: bool,
    /// Site used when a request names none. [default: the first site]
    #[arg(long, env = "PARLEY_DEFAULT_SITE")]
    default_site: Option<String>,
    /// Public origin of this server (e.g. https://comments.example.org), used to check
    /// that cookie-authenticated writes come from our own pages.
    #[arg(long, env = "PARLEY_PUBLIC_ORIGIN")]
    public_origin: Option<String>,
    /// Mark session cookies Secure (when served over HTTPS).
    #[arg(long, env = "PARLEY_SECURE_COOKIES")]
    secure_cookies: bool,
    /// Trust X-Forwarded-For for the client address (only behind your own proxy).
    #[arg(long, env = "PARLEY_TRUST_PROXY")]
    trust_proxy: bool,
    /// Longest comment, in characters. [default: 5000]
    #[arg(long, env = "PARLEY_MAX_COMMENT_CHARS")]
    max_comment_chars: Option<usize>,
    /// How long after posting an author may edit, in seconds. [default: 900]
    #[arg(long, env = "PARLEY_EDIT_WINDOW_SECS")]
    edit_window_secs: Option<u64>,
    /// Deepest reply level; top-level comments are level 0. [default: 6]
    #[arg(long, env = "PARLEY_MAX_DEPTH")]
    max_depth: Option<i64>,
    /// Top-level comments per page. [default: 20]
    #[arg(long, env = "PARLEY_PAGE_SIZE")]
    page_size: Option<i64>,
    /// Replies shown under each comment before "more replies". [default: 5]
    #[arg(long, env = "PARLEY_REPLIES_PER_COMMENT")]
    replies_per_comment: Option<i64>,
    /// Session lifetime in days. [default: 30]
    #[arg(long, env = "PARLEY_SESSION_DAYS")]
    session_days: Option<u64>,
    /// Largest accepted request body, in bytes. [default: 65536]
    #[arg(long, env = "PARLEY_BODY_LIMIT_BYTES")]
    body_limit_bytes: Option<usize>,
    /// Log format. [default: text]
    #[arg(long, env = "PARLEY_LOG_FORMAT", value_enum)]
    log_format: Option<LogFormat>,
    /// How often background jobs (story auto-close, session sweep) run, in
    /// milliseconds. [default: 60000]
    #[arg(long, env = "PARLEY_JOBS_EVERY_MS", hide = true)]
    jobs_every_ms: Option<u64>,
    /// Accept webhook URLs on loopback and private addresses (see docs/WEBHOOKS.md).
    #[arg(long, env = "PARLEY_WEBHOOKS_ALLOW_PRIVATE")]
    webhooks_allow_private: bool,
    /// Days delivered and failed webhook deliveries stay in the log after their last
    /// attempt; pending ones stay until sent. [default: 30]
    #[arg(long, env = "PARLEY_WEBHOOK_LOG_DAYS")]
    webhook_log_days: Option<u64>,
    /// SMTP server for mail to readers (see docs/MAIL.md):
    /// smtp://USER:PASSWORD@HOST:587 (STARTTLS), smtps://... (implicit TLS) or
    /// smtp://HOST:25?tls=none (plain). Without it mail stays queued, unsent.
    #[arg(long, env = "PARLEY_SMTP_URL")]
    smtp_url: Option<String>,
    /// Sender of mail to readers, e.g. "Courier comments <comments@courier.example>".
    #[arg(long, env = "PARLEY_MAIL_FROM")]
    mail_from: Option<String>,
    /// A PEM file of CA certificates to trust for the SMTP server besides the public
    /// roots (a private relay's own CA).
    #[arg(long, env = "PARLEY_SMTP_CA_CERT")]
    smtp_ca_cert: Option<PathBuf>,
    /// How often the mail worker looks for due mail, in milliseconds. [default: 1000]
    #[arg(long, env = "PARLEY_MAIL_POLL_MS", hide = true)]
    mail_poll_ms: Option<u64>,
}

#[derive(Clone, Copy, ValueEnum, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub(crate) enum LogFormat {
    Text,
    Json,
}

/// The TOML file: the same settings as the flags.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileSettings {
    database: Option<String>,
    listen: Option<String>,
    default_site: Option<String>,
    public_origin: Option<String>,
    secure_cookies: Option<bool>,
    trust_proxy: Option<bool>,
    max_comment_chars: Option<usize>,
    edit_window_secs: Option<u64>,
    max_depth: Option<i64>,
    page_size: Option<i64>,
    replies_per_comment: Option<i64>,
    session_days: Option<u64>,
    body_limit_bytes: Option<usize>,
    log_format: Option<LogFormat>,
    webhooks_allow_private: Option<bool>,
    webhook_log_days: Option<u64>,
    smtp_url: Option<String>,
    mail_from: Option<String>,
    smtp_ca_cert: Option<PathBuf>,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create an account. The password is read from PARLEY_PASSWORD or standard input.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        #[arg(long, value_enum, default_value = "reader")]
        role: RoleArg,
        /// Site the account belongs to. [default: the only site]
        #[arg(long)]
        site: Option<String>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum RoleArg {
    Reader,
    Staff,
    Moderator,
    Admin,
}

impl From<RoleArg> for Role {
    fn from(r: RoleArg) -> Self {
        match r {
            RoleArg::Reader => Role::Reader,
            RoleArg::Staff => Role::Staff,
            RoleArg::Moderator => Role::Moderator,
            RoleArg::Admin => Role::Admin,
        }
    }
}

#[derive(Subcommand)]
enum SiteCommand {
    /// Create a site; --origin (repeatable) lists origins allowed to embed it.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long = "origin")]
        origins: Vec<String>,
    },
    /// List sites.
    List,
    /// Set a site's single sign-on (a newsroom's own accounts; see docs/INTEGRATION.md).
    Sso(crate::sso_cmd::SsoArgs),
}

fn load_file(path: Option<&PathBuf>) -> Result<FileSettings> {
    let Some(path) = path else {
        return Ok(FileSettings::default());
    };
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("reading settings from {}", path.display()))
}

pub async fn run(cli: Cli) -> Result<()> {
    let file = load_file(cli.config.as_ref())?;
    let database = cli
        .database
        .clone()
        .or(file.database.clone())
        .unwrap_or_else(|| "sqlite://parley.db".into());
    match cli.command {
        Command::Serve(args) => serve(args, file, &database).await,
        Command::Doctor(args) => crate::doctor::run(args, file, &database).await,
        Command::Migrate => {
            let store = open(&database).await?;
            println!("database is up to date ({})", store.backend());
            Ok(())
        }
        Command::User(UserCommand::Create {
            email,
            name,
            role,
            site,
        }) => create_user(&database, &email, &name, role.into(), site.as_deref()).await,
        Command::Site(SiteCommand::Create { name, origins }) => {
            let store = open(&database).await?;
            for o in &origins {
                check_origin(o)?;
            }
            let name = name.trim();
            if name.is_empty() {
                bail!("a site needs a name");
            }
            let site = store
                .create_site(name, &origins, parley_web::now_ms())
                .await?;
            println!("created site {} (id {})", site.name, site.id);
            Ok(())
        }
        Command::Wordlist(WordlistCommand::Test { list }) => wordlist_test(&list),
        Command::Story(command) => crate::story_cmd::run(command, &database).await,
        Command::Export(args) => crate::backup_cmd::export(&database, args).await,
        Command::Import(command) => {
            // Commands other than `serve` stay quiet unless asked (`PARLEY_LOG`).
            if std::env::var_os("PARLEY_LOG").is_some() {
                init_logging(LogFormat::Text);
            }
            crate::import_cmd::run(command, &database, file.max_depth).await
        }
        Command::Site(SiteCommand::Sso(args)) => {
            let store = open(&database).await?;
            crate::sso_cmd::run(args, store.as_ref()).await
        }
        Command::Site(SiteCommand::List) => {
            let store = open(&database).await?;
            for site in store.list_sites().await? {
                println!("{}\t{}\t{}", site.id, site.name, site.origins.join(" "));
            }
            Ok(())
        }
    }
}

/// `parley wordlist test`: one `hit`/`miss` line per line of standard input.
fn wordlist_test(path: &std::path::Path) -> Result<()> {
    use std::io::{BufRead, Write};
    let source =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let list = parley_core::wordlist::WordList::parse(&source).map_err(|e| {
        let lines: Vec<String> = e
            .errors
            .iter()
            .map(|err| format!("{}: {err}", path.display()))
            .collect();
        anyhow::anyhow!("the word list has errors:\n{}", lines.join("\n"))
    })?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for line in std::io::stdin().lock().split(b'\n') {
        let line = line.context("reading standard input")?;
        let text = String::from_utf8_lossy(&line);
        let text = text.strip_suffix('\r').unwrap_or(&text);
        match list.find(text) {
            Some(m) => writeln!(
                out,
                "hit\t{}\t{}-{}\t{}",
                m.entry,
                m.start,
                m.end,
                m.matched(text)
            )?,
            None => writeln!(out, "miss")?,
        }
    }
    out.flush()?;
    Ok(())
}

pub(crate) fn check_origin(origin: &str) -> Result<()> {
    let rest = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
        .with_context(|| format!("{origin}: an origin looks like https://www.example.org"))?;
    if rest.is_empty() || rest.contains('/') {
        bail!("{origin}: an origin is scheme://host[:port], without a path");
    }
    Ok(())
}

async fn open(database: &str) -> Result<std::sync::Arc<dyn Store>> {
    parley_store::connect(database)
        .await
        .with_context(|| format!("opening the database {}", redact(database)))
}

/// The URL without a password, for messages.
pub(crate) fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

async fn create_user(
    database: &str,
    email: &str,
    name: &str,
    role: Role,
    site: Option<&str>,
) -> Result<()> {
    let email = Email::parse(email)?;
    let name = DisplayName::parse(name)?;
    let raw = match std::env::var("PARLEY_PASSWORD") {
        Ok(p) => p,
        Err(_) => {
            let mut line = String::new();
            std::io::stdin()
                .read_to_string(&mut line)
                .context("reading the password from standard input")?;
            line.trim_end_matches(['\r', '\n']).to_owned()
        }
    };
    let password = Password::parse(&raw)?;
    let store = open(database).await?;
    let sites = store.list_sites().await?;
    let site = match site {
        Some(n) => sites
            .into_iter()
            .find(|s| s.name == n)
            .with_context(|| format!("no site named {n}"))?,
        None => match sites.len() {
            0 => bail!("there is no site yet: create one with `parley site create --name NAME`"),
            1 => sites.into_iter().next().context("no site")?,
            _ => bail!("there are several sites: name one with --site"),
        },
    };
    let hash = parley_web::auth::hash_password(password.expose().to_owned())
        .await
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let user = store
        .create_user(NewUser {
            site_id: site.id,
            email: email.as_str().to_owned(),
            display_name: name.as_str().to_owned(),
            password_hash: Some(hash),
            role,
            now: parley_web::now_ms(),
        })
        .await?;
    println!(
        "created {} {} <{}> on {} (id {})",
        role.as_str(),
        user.display_name,
        user.email,
        site.name,
        user.id
    );
    Ok(())
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("PARLEY_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// What `serve` runs with, from its flags, the environment and the settings file.
pub(crate) struct Resolved {
    pub config: WebConfig,
    pub addr: SocketAddr,
    pub log_format: LogFormat,
    pub demo: bool,
}

pub(crate) fn resolve(args: ServeArgs, file: FileSettings) -> Result<Resolved> {
    let log_format = args
        .log_format
        .or(file.log_format)
        .unwrap_or(LogFormat::Text);
    let defaults = WebConfig::default();
    let (smtp, mail_from) = mail_settings(
        args.smtp_url.clone().or(file.smtp_url.clone()),
        args.mail_from.clone().or(file.mail_from.clone()),
        args.smtp_ca_cert.clone().or(file.smtp_ca_cert.clone()),
    )?;
    let config = WebConfig {
        default_site: args.default_site.or(file.default_site),
        public_origin: args.public_origin.or(file.public_origin),
        secure_cookies: args.secure_cookies || file.secure_cookies.unwrap_or(false),
        trust_proxy: args.trust_proxy || file.trust_proxy.unwrap_or(false),
        max_comment_chars: args
            .max_comment_chars
            .or(file.max_comment_chars)
            .unwrap_or(defaults.max_comment_chars),
        edit_window: args
            .edit_window_secs
            .or(file.edit_window_secs)
            .map_or(defaults.edit_window, Duration::from_secs),
        max_depth: args
            .max_depth
            .or(file.max_depth)
            .unwrap_or(defaults.max_depth),
        page_size: args
            .page_size
            .or(file.page_size)
            .unwrap_or(defaults.page_size),
        replies_per_comment: args
            .replies_per_comment
            .or(file.replies_per_comment)
            .unwrap_or(defaults.replies_per_comment),
        session_ttl: args
            .session_days
            .or(file.session_days)
            .map_or(defaults.session_ttl, |d| Duration::from_secs(d * 24 * 3600)),
        body_limit_bytes: args
            .body_limit_bytes
            .or(file.body_limit_bytes)
            .unwrap_or(defaults.body_limit_bytes),
        jobs_every: args
            .jobs_every_ms
            .map_or(defaults.jobs_every, Duration::from_millis),
        webhooks_allow_private: args.webhooks_allow_private
            || file.webhooks_allow_private.unwrap_or(false),
        webhook_log_retention: args
            .webhook_log_days
            .or(file.webhook_log_days)
            .map_or(defaults.webhook_log_retention, |d| {
                Duration::from_secs(d.saturating_mul(24 * 3600))
            }),
        smtp,
        mail_from,
        mail_poll_every: args
            .mail_poll_ms
            .map_or(defaults.mail_poll_every, Duration::from_millis),
        ..defaults
    };
    if config.webhook_log_retention.is_zero() {
        bail!("--webhook-log-days must be at least 1");
    }
    if config.max_comment_chars == 0
        || config.max_depth < 0
        || config.page_size < 1
        || config.replies_per_comment < 0
    {
        bail!(
            "max_comment_chars and page_size must be positive; max_depth and replies_per_comment not negative"
        );
    }
    let config = WebConfig {
        max_page_size: config.max_page_size.max(config.page_size),
        ..config
    };
    let listen = args
        .listen
        .or(file.listen)
        .unwrap_or_else(|| "127.0.0.1:8080".into());
    let addr: SocketAddr = listen
        .parse()
        .with_context(|| format!("{listen}: listen on HOST:PORT, e.g. 127.0.0.1:8080"))?;
    Ok(Resolved {
        config,
        addr,
        log_format,
        demo: args.demo,
    })
}

/// The SMTP server and sender, checked: a URL that does not parse, a sender that is
/// not a mailbox, a missing sender or an unreadable CA file stop the start.
pub(crate) fn mail_settings(
    url: Option<String>,
    from: Option<String>,
    ca_cert: Option<PathBuf>,
) -> Result<(Option<parley_web::mail::SmtpSettings>, Option<String>)> {
    use parley_web::mail::{check_transport, parse_from, parse_smtp_url};
    if let Some(from) = &from {
        parse_from(from)?;
    }
    let Some(url) = url else {
        if ca_cert.is_some() {
            bail!("--smtp-ca-cert is for the SMTP server: give --smtp-url too");
        }
        return Ok((None, from));
    };
    let mut smtp = parse_smtp_url(&url).context("--smtp-url (PARLEY_SMTP_URL)")?;
    smtp.ca_cert = ca_cert;
    if from.is_none() {
        bail!(
            "--smtp-url needs --mail-from (PARLEY_MAIL_FROM), the sender of every mail, \
             e.g. \"Courier comments <comments@courier.example>\""
        );
    }
    if smtp.ca_cert.is_some() && smtp.tls == parley_web::mail::SmtpTls::None {
        bail!("--smtp-ca-cert is for TLS, but the SMTP URL says tls=none");
    }
    check_transport(&smtp)?;
    Ok((Some(smtp), from))
}

async fn serve(args: ServeArgs, file: FileSettings, database: &str) -> Result<()> {
    let Resolved {
        config,
        addr,
        log_format,
        demo,
    } = resolve(args, file)?;
    init_logging(log_format);
    let store = open(database).await?;
    if demo {
        let summary = crate::demo::seed(store.as_ref())
            .await
            .context("loading the demo content")?;
        tracing::info!("{summary}");
    }
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("listening on {addr}"))?;
    let bound = listener.local_addr()?;
    tracing::info!(
        backend = store.backend(),
        "Parley is listening on http://{bound}"
    );
    println!("Parley is listening on http://{bound}");
    let mut config = config;
    if config.public_origin.is_none() {
        if config.smtp.is_some() {
            tracing::warn!(
                "no --public-origin: links in mail point at http://{bound}; set it to the address readers use"
            );
        }
        let host = if bound.ip().is_unspecified() {
            format!("localhost:{}", bound.port())
        } else {
            bound.to_string()
        };
        config.links_origin = Some(format!("http://{host}"));
    }
    let state = AppState::new(store, config);
    parley_web::serve(listener, state, shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_kept_out_of_messages() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("sqlite://x.db"), "sqlite://x.db");
    }

    #[test]
    #[allow(clippy::unwrap_used)]
    fn mail_settings_need_a_sender_and_a_good_url() {
        let url = || Some("smtp://u:p%40ss@relay.example:2525".to_owned());
        let from = || Some("Courier comments <comments@courier.example>".to_owned());
        let (smtp, sender) = mail_settings(url(), from(), None).unwrap();
        let smtp = smtp.unwrap();
        assert_eq!((smtp.host.as_str(), smtp.port), ("relay.example", 2525));
        assert_eq!(smtp.password.as_deref(), Some("p@ss"));
        assert_eq!(sender, from());
        assert_eq!(mail_settings(None, None, None).unwrap(), (None, None));
        let no_from = mail_settings(url(), None, None).unwrap_err().to_string();
        assert!(no_from.contains("--mail-from"), "{no_from}");
        let bad = mail_settings(Some("http://relay".into()), from(), None).unwrap_err();
        assert!(format!("{bad:#}").contains("smtp://"), "{bad:#}");
        assert!(mail_settings(url(), Some("nobody".into()), None).is_err());
        let missing = mail_settings(url(), from(), Some("/nonexistent/ca.pem".into()))
            .unwrap_err()
            .to_string();
        assert!(missing.contains("/nonexistent/ca.pem"), "{missing}");
        assert!(mail_settings(None, from(), Some("/x.pem".into())).is_err());
    }

    #[test]
    #[allow(clippy::unwrap_used)]
    fn the_webhook_log_is_kept_30_days_unless_a_flag_or_the_file_says() {
        let day = Duration::from_secs(24 * 3600);
        let kept = |args: ServeArgs, file: FileSettings| {
            resolve(args, file).map(|r| r.config.webhook_log_retention)
        };
        let file = || FileSettings {
            webhook_log_days: Some(7),
            ..FileSettings::default()
        };
        let flag = |d| ServeArgs {
            webhook_log_days: Some(d),
            ..ServeArgs::default()
        };
        assert_eq!(
            kept(ServeArgs::default(), FileSettings::default()).unwrap(),
            30 * day
        );
        assert_eq!(kept(ServeArgs::default(), file()).unwrap(), 7 * day);
        assert_eq!(kept(flag(2), file()).unwrap(), 2 * day);
        assert!(kept(flag(0), file()).is_err());
    }

    #[test]
    fn origins_have_no_path() {
        assert!(check_origin("https://news.example.org").is_ok());
        assert!(check_origin("https://news.example.org/x").is_err());
        assert!(check_origin("news.example.org").is_err());
    }
}
