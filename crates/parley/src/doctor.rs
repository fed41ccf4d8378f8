//! `parley doctor`: checks the settings `serve` would run with and the database, changes
//! nothing, and says what is wrong in plain words.

use anyhow::{Result, bail};
use parley_core::moderation::Rules;
use parley_store::inspect::{Inspection, inspect};
use parley_web::service::merged_policy;
use tokio::net::TcpListener;

use crate::cli::{FileSettings, Resolved, ServeArgs, check_origin, redact, resolve};

#[derive(Default)]
struct Report {
    problems: usize,
    warnings: usize,
}

impl Report {
    fn ok(&mut self, what: impl AsRef<str>) {
        println!("ok       {}", what.as_ref());
    }
    fn warn(&mut self, what: impl AsRef<str>) {
        self.warnings += 1;
        println!("warning  {}", what.as_ref());
    }
    fn fail(&mut self, what: impl AsRef<str>) {
        self.problems += 1;
        println!("PROBLEM  {}", what.as_ref());
    }
}

pub async fn run(args: ServeArgs, file: FileSettings, database: &str) -> Result<()> {
    let mut report = Report::default();
    let default_site = match resolve(args, file) {
        Ok(settings) => {
            report.ok("the settings read correctly");
            check_serving(&mut report, &settings).await;
            settings.config.default_site
        }
        Err(e) => {
            report.fail(format!("the settings: {e:#}"));
            None
        }
    };
    check_database(&mut report, database, default_site.as_deref()).await;
    println!();
    match (report.problems, report.warnings) {
        (0, 0) => {
            println!("Everything looks right.");
            Ok(())
        }
        (0, w) => {
            println!("No problems; {w} warning(s) worth a look.");
            Ok(())
        }
        (p, _) => bail!("{p} problem(s) found: `parley serve` would not work as it should"),
    }
}

async fn check_serving(report: &mut Report, s: &Resolved) {
    match TcpListener::bind(s.addr).await {
        Ok(_) => report.ok(format!("{} is free to listen on", s.addr)),
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => report.fail(format!(
            "{} is taken by another program (is Parley already running?); choose another with --listen",
            s.addr
        )),
        Err(e) => report.fail(format!("cannot listen on {}: {e}", s.addr)),
    }
    match s.config.public_origin.as_deref() {
        None => report.warn(
            "no --public-origin: behind a proxy or CDN, set it to the address readers use, \
             or forms may be refused as cross-site",
        ),
        Some(origin) => match check_origin(origin) {
            Err(e) => report.fail(format!("--public-origin {e:#}")),
            Ok(()) if origin.starts_with("https://") && !s.config.secure_cookies => report.warn(
                format!(
                    "{origin} is served over HTTPS but cookies are not marked Secure; add --secure-cookies"
                ),
            ),
            Ok(()) => report.ok(format!("public origin {origin}")),
        },
    }
    if s.config.trust_proxy {
        report.warn(
            "--trust-proxy is on: client addresses come from X-Forwarded-For, so only run \
             Parley behind your own proxy",
        );
    }
    check_smtp(report, s).await;
}

/// The SMTP settings (already checked by `resolve`) and whether the server answers.
async fn check_smtp(report: &mut Report, s: &Resolved) {
    let Some(smtp) = &s.config.smtp else {
        report.warn(
            "no --smtp-url: mail to readers (address confirmations, password resets, \
             notifications) stays queued, unsent (docs/MAIL.md)",
        );
        return;
    };
    let from = s.config.mail_from.as_deref().unwrap_or_default();
    let connect = tokio::net::TcpStream::connect((smtp.host.as_str(), smtp.port));
    match tokio::time::timeout(std::time::Duration::from_secs(5), connect).await {
        Ok(Ok(_)) => report.ok(format!(
            "mail goes out through {} (it answers) from {from}",
            smtp.describe()
        )),
        Ok(Err(e)) => report.warn(format!(
            "the SMTP server {} does not answer ({e}); mail waits in the outbox and is retried",
            smtp.describe()
        )),
        Err(_) => report.warn(format!(
            "the SMTP server {} did not answer in 5 s; mail waits in the outbox and is retried",
            smtp.describe()
        )),
    }
}

/// Mail waiting in the outbox, and mail that failed for good.
async fn check_mail_outbox(report: &mut Report, store: &dyn parley_store::Store) {
    match store.mail().mail_counts(None).await {
        Err(e) => report.fail(format!("reading the mail outbox: {e}")),
        Ok(c) if c.failed > 0 => report.warn(format!(
            "mail outbox: {} queued, {} failed for good (GET /api/v1/sites/NAME/mail shows why)",
            c.pending, c.failed
        )),
        Ok(c) => report.ok(format!("mail outbox: {} queued, none failed", c.pending)),
    }
}

async fn check_database(report: &mut Report, url: &str, default_site: Option<&str>) {
    let shown = redact(url);
    match inspect(url).await {
        Err(e) => {
            report.fail(format!("cannot reach the database {shown}: {e}"));
            if url.starts_with("postgres") {
                report.warn(
                    "is PostgreSQL running, and do the host, port, user and database name match?",
                );
            }
            return;
        }
        Ok(Inspection::Missing) => {
            report.ok(format!(
                "{shown} does not exist yet; `parley serve` creates it on first start"
            ));
            return;
        }
        Ok(Inspection::Reached { backend, schema }) => {
            report.ok(format!("the {backend} database {shown} answers"));
            if !schema.unknown.is_empty() {
                report.fail(format!(
                    "the database has migrations {:?} this Parley does not know: a newer \
                     version migrated it; upgrade this binary",
                    schema.unknown
                ));
                return;
            }
            if !schema.pending.is_empty() {
                report.warn(format!(
                    "{} migration(s) to apply ({:?}); `parley migrate` or the next `parley serve` applies them",
                    schema.pending.len(),
                    schema.pending
                ));
                return;
            }
            report.ok("the schema is current");
        }
    }
    // The schema is current: opening migrates nothing.
    let store = match parley_store::connect(url).await {
        Ok(store) => store,
        Err(e) => {
            report.fail(format!("opening the database: {e}"));
            return;
        }
    };
    let sites = match store.list_sites().await {
        Ok(sites) => sites,
        Err(e) => {
            report.fail(format!("reading the sites: {e}"));
            return;
        }
    };
    if sites.is_empty() {
        report.warn(
            "no site yet: create one with `parley site create --name NAME --origin https://...`, \
             or start with `parley serve --demo`",
        );
    }
    if let Some(name) = default_site
        && !sites.iter().any(|s| s.name == name)
    {
        report.fail(format!(
            "--default-site {name}: there is no such site (`parley site list` shows them)"
        ));
    }
    for site in &sites {
        check_site(report, store.as_ref(), site).await;
    }
    check_mail_outbox(report, store.as_ref()).await;
}

async fn check_site(
    report: &mut Report,
    store: &dyn parley_store::Store,
    site: &parley_store::Site,
) {
    let name = &site.name;
    for origin in &site.origins {
        if let Err(e) = check_origin(origin) {
            report.fail(format!("site {name}: embed origin {e:#}"));
        }
    }
    let settings = match store.site_settings(site.id).await {
        Ok(Some(text)) => text,
        Ok(None) => return,
        Err(e) => {
            report.fail(format!("site {name}: reading its settings: {e}"));
            return;
        }
    };
    let settings: serde_json::Value = match serde_json::from_str(&settings) {
        Ok(v) => v,
        Err(e) => {
            report.fail(format!(
                "site {name}: its settings are not valid JSON ({e}); the defaults apply"
            ));
            return;
        }
    };
    let mut scopes: Vec<(String, Option<i64>)> = vec![(format!("site {name}"), None)];
    if let Some(stories) = settings.get("stories").and_then(|s| s.as_object()) {
        for id in stories.keys() {
            match id.parse::<i64>() {
                Ok(n) => scopes.push((format!("site {name}, story {n}"), Some(n))),
                Err(_) => report.fail(format!(
                    "site {name}: a story override is keyed {id:?}, which is not a story id"
                )),
            }
        }
    }
    let mut fine = true;
    for (label, story) in scopes {
        match merged_policy(&settings, story) {
            Err(e) => {
                fine = false;
                report.fail(format!(
                    "{label}: the moderation policy does not read ({e}); the defaults apply"
                ));
            }
            Ok(policy) => {
                if let Err(e) = Rules::compile(policy) {
                    fine = false;
                    report.fail(format!("{label}: a word list does not read: {e}"));
                }
            }
        }
    }
    if fine {
        report.ok(format!(
            "site {name}: its moderation policy and word lists read"
        ));
    }
}
