//! Single sign-on: the claims a newsroom's signed token carries and the checks they must
//! pass once its signature is known to be good (site, times, shape). The signature and
//! replay checks need a key and storage and live in the web and store layers.

use serde::Deserialize;

use crate::account::Role;
use crate::text::{DisplayName, Email};

/// Clock difference tolerated between the newsroom's servers and ours, in seconds.
pub const CLOCK_SKEW_SECS: i64 = 60;
/// The highest role a token can ever grant, whatever a site allows: admins are made by
/// Parley's own admins, never by a token.
pub const ROLE_CEILING: Role = Role::Moderator;
/// Longest accepted `exp - iat`, in seconds: a token is a hand-off, not a credential to
/// keep (and its id is stored until it expires).
pub const MAX_LIFETIME_SECS: i64 = 24 * 60 * 60;
/// Most badges a token may carry, and their longest text.
pub const MAX_BADGES: usize = 10;
pub const MAX_BADGE_CHARS: usize = 40;
/// Longest accepted `sub` and `jti`.
pub const MAX_ID_CHARS: usize = 200;

/// `aud`: one site name or several.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    fn names(&self, site: &str) -> bool {
        match self {
            Audience::One(a) => a == site,
            Audience::Many(all) => all.iter().any(|a| a == site),
        }
    }
}

/// A token's payload as sent; every field may be missing until checked.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RawClaims {
    pub sub: Option<String>,
    pub email: Option<String>,
    pub name: Option<String>,
    pub role: Option<String>,
    pub badges: Option<Vec<String>>,
    pub iat: Option<i64>,
    pub exp: Option<i64>,
    pub nbf: Option<i64>,
    pub jti: Option<String>,
    pub aud: Option<Audience>,
}

/// Claims that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsoClaims {
    /// The newsroom's stable id for the reader.
    pub external_id: String,
    pub email: Email,
    pub display_name: DisplayName,
    pub role: Option<Role>,
    pub badges: Vec<String>,
    pub token_id: String,
    /// Unix seconds.
    pub expires_at: i64,
}

/// Why a token's claims are refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SsoRefusal {
    Missing(&'static str),
    Invalid {
        claim: &'static str,
        message: String,
    },
    Expired,
    FutureDated,
    WrongSite,
}

impl SsoRefusal {
    /// A stable code for API clients.
    pub fn code(&self) -> &'static str {
        match self {
            SsoRefusal::Missing(_) => "sso_missing_claim",
            SsoRefusal::Invalid { .. } => "sso_invalid_claim",
            SsoRefusal::Expired => "sso_expired",
            SsoRefusal::FutureDated => "sso_future_dated",
            SsoRefusal::WrongSite => "sso_wrong_site",
        }
    }
}

impl std::fmt::Display for SsoRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SsoRefusal::Missing(claim) => write!(f, "the token has no `{claim}` claim"),
            SsoRefusal::Invalid { claim, message } => {
                write!(f, "the token's `{claim}` claim is invalid: {message}")
            }
            SsoRefusal::Expired => f.write_str("the token has expired"),
            SsoRefusal::FutureDated => f.write_str("the token is dated in the future"),
            SsoRefusal::WrongSite => f.write_str("the token was issued for another site"),
        }
    }
}

fn required(value: &Option<String>, claim: &'static str) -> Result<String, SsoRefusal> {
    match value.as_deref().map(str::trim) {
        Some(v) if !v.is_empty() => Ok(v.to_owned()),
        _ => Err(SsoRefusal::Missing(claim)),
    }
}

fn bounded_id(value: String, claim: &'static str) -> Result<String, SsoRefusal> {
    if value.chars().count() > MAX_ID_CHARS || value.chars().any(char::is_control) {
        return Err(SsoRefusal::Invalid {
            claim,
            message: format!("at most {MAX_ID_CHARS} characters, no control characters"),
        });
    }
    Ok(value)
}

/// Checks the claims of a token whose signature is good, for `site` at `now` (unix
/// seconds). Missing claims are reported before anything else, in a fixed order.
pub fn check_claims(raw: &RawClaims, site: &str, now: i64) -> Result<SsoClaims, SsoRefusal> {
    let sub = required(&raw.sub, "sub")?;
    let email = required(&raw.email, "email")?;
    let name = required(&raw.name, "name")?;
    let jti = required(&raw.jti, "jti")?;
    let iat = raw.iat.ok_or(SsoRefusal::Missing("iat"))?;
    let exp = raw.exp.ok_or(SsoRefusal::Missing("exp"))?;
    let aud = raw.aud.as_ref().ok_or(SsoRefusal::Missing("aud"))?;

    if !aud.names(site) {
        return Err(SsoRefusal::WrongSite);
    }
    if exp.saturating_add(CLOCK_SKEW_SECS) <= now {
        return Err(SsoRefusal::Expired);
    }
    let latest_start = now.saturating_add(CLOCK_SKEW_SECS);
    if iat > latest_start || raw.nbf.is_some_and(|nbf| nbf > latest_start) {
        return Err(SsoRefusal::FutureDated);
    }
    if exp <= iat || exp.saturating_sub(iat) > MAX_LIFETIME_SECS {
        return Err(SsoRefusal::Invalid {
            claim: "exp",
            message: format!("must be after `iat` and at most {MAX_LIFETIME_SECS} s after it"),
        });
    }

    let external_id = bounded_id(sub, "sub")?;
    let token_id = bounded_id(jti, "jti")?;
    let email = Email::parse(&email).map_err(|e| SsoRefusal::Invalid {
        claim: "email",
        message: e.message,
    })?;
    let display_name = DisplayName::parse(&name).map_err(|e| SsoRefusal::Invalid {
        claim: "name",
        message: e.message,
    })?;
    let role = match raw.role.as_deref() {
        None => None,
        Some(r) => Some(Role::parse(r.trim()).ok_or_else(|| SsoRefusal::Invalid {
            claim: "role",
            message: "one of reader, staff, moderator, admin".into(),
        })?),
    };
    let badges = check_badges(raw.badges.as_deref().unwrap_or_default())?;
    Ok(SsoClaims {
        external_id,
        email,
        display_name,
        role,
        badges,
        token_id,
        expires_at: exp,
    })
}

/// Characters a badge may not hold: control characters, and the invisible direction
/// marks and overrides that could make a label next to a name read differently.
fn unfit_in_badge(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}'
        )
}

/// The badges as they will be shown: each trimmed, 1 to [`MAX_BADGE_CHARS`] characters
/// without control or direction characters, at most [`MAX_BADGES`], repeats dropped
/// (first one kept). Anything else refuses the token: a newsroom sending bad labels
/// should hear of it rather than see them cut.
pub fn check_badges(raw: &[String]) -> Result<Vec<String>, SsoRefusal> {
    let invalid = || SsoRefusal::Invalid {
        claim: "badges",
        message: format!(
            "at most {MAX_BADGES} badges of 1 to {MAX_BADGE_CHARS} characters each, \
             without control characters"
        ),
    };
    if raw.len() > MAX_BADGES {
        return Err(invalid());
    }
    let mut badges: Vec<String> = Vec::with_capacity(raw.len());
    for badge in raw {
        let badge = badge.trim();
        let chars = badge.chars().count();
        if chars == 0 || chars > MAX_BADGE_CHARS || badge.chars().any(unfit_in_badge) {
            return Err(invalid());
        }
        if !badges.iter().any(|b| b == badge) {
            badges.push(badge.to_owned());
        }
    }
    Ok(badges)
}

/// The role a token's claim grants: none unless the site allows role claims, and never
/// above the site's maximum or [`ROLE_CEILING`].
pub fn granted_role(claimed: Option<Role>, allow_roles: bool, site_max: Role) -> Option<Role> {
    if !allow_roles {
        return None;
    }
    claimed.map(|r| r.min(site_max).min(ROLE_CEILING))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    const NOW: i64 = 1_800_000_000;

    fn good() -> RawClaims {
        RawClaims {
            sub: Some("reader-42".into()),
            email: Some("ada@example.com".into()),
            name: Some("Ada Reader".into()),
            role: None,
            badges: None,
            iat: Some(NOW - 5),
            exp: Some(NOW + 300),
            nbf: None,
            jti: Some("t-1".into()),
            aud: Some(Audience::One("daily".into())),
        }
    }

    #[test]
    fn accepts_good_claims() {
        let c = check_claims(&good(), "daily", NOW).unwrap();
        assert_eq!(c.external_id, "reader-42");
        assert_eq!(c.email.as_str(), "ada@example.com");
        assert_eq!(c.display_name.as_str(), "Ada Reader");
        assert_eq!(c.token_id, "t-1");
        assert_eq!(c.expires_at, NOW + 300);
        assert_eq!(c.role, None);
    }

    #[test]
    fn each_missing_claim_is_named() {
        type Clear = fn(&mut RawClaims);
        let cases: [(&str, Clear); 7] = [
            ("sub", |c| c.sub = None),
            ("email", |c| c.email = None),
            ("name", |c| c.name = Some("  ".into())),
            ("jti", |c| c.jti = None),
            ("iat", |c| c.iat = None),
            ("exp", |c| c.exp = None),
            ("aud", |c| c.aud = None),
        ];
        for (claim, clear) in cases {
            let mut raw = good();
            clear(&mut raw);
            assert_eq!(
                check_claims(&raw, "daily", NOW),
                Err(SsoRefusal::Missing(claim))
            );
        }
    }

    #[test]
    fn expiry_allows_the_skew_and_no_more() {
        let mut raw = good();
        raw.iat = Some(NOW - 600);
        raw.exp = Some(NOW - CLOCK_SKEW_SECS + 1);
        assert!(check_claims(&raw, "daily", NOW).is_ok());
        raw.exp = Some(NOW - CLOCK_SKEW_SECS);
        assert_eq!(check_claims(&raw, "daily", NOW), Err(SsoRefusal::Expired));
    }

    #[test]
    fn future_dates_allow_the_skew_and_no_more() {
        let mut raw = good();
        raw.iat = Some(NOW + CLOCK_SKEW_SECS);
        raw.exp = Some(NOW + 600);
        assert!(check_claims(&raw, "daily", NOW).is_ok());
        raw.iat = Some(NOW + CLOCK_SKEW_SECS + 1);
        assert_eq!(
            check_claims(&raw, "daily", NOW),
            Err(SsoRefusal::FutureDated)
        );
        let mut raw = good();
        raw.nbf = Some(NOW + 3600);
        assert_eq!(
            check_claims(&raw, "daily", NOW),
            Err(SsoRefusal::FutureDated)
        );
    }

    #[test]
    fn audience_must_name_the_site() {
        let mut raw = good();
        raw.aud = Some(Audience::One("weekly".into()));
        assert_eq!(check_claims(&raw, "daily", NOW), Err(SsoRefusal::WrongSite));
        raw.aud = Some(Audience::Many(vec!["weekly".into(), "daily".into()]));
        assert!(check_claims(&raw, "daily", NOW).is_ok());
    }

    #[test]
    fn lifetime_is_bounded() {
        let mut raw = good();
        raw.exp = Some(NOW - 5 + MAX_LIFETIME_SECS + 1);
        assert_eq!(
            check_claims(&raw, "daily", NOW).unwrap_err().code(),
            "sso_invalid_claim"
        );
        raw.exp = raw.iat;
        assert_eq!(
            check_claims(&raw, "daily", NOW).unwrap_err().code(),
            "sso_invalid_claim"
        );
    }

    #[test]
    fn bad_email_name_role_and_badges_are_invalid() {
        type Spoil = fn(&mut RawClaims);
        let cases: [(&str, Spoil); 4] = [
            ("email", |c| c.email = Some("not an email".into())),
            ("name", |c| c.name = Some("x".repeat(500))),
            ("role", |c| c.role = Some("overlord".into())),
            ("badges", |c| c.badges = Some(vec![String::new()])),
        ];
        for (claim, spoil) in cases {
            let mut raw = good();
            spoil(&mut raw);
            match check_claims(&raw, "daily", NOW) {
                Err(SsoRefusal::Invalid { claim: c, .. }) => assert_eq!(c, claim),
                other => panic!("{claim}: {other:?}"),
            }
        }
    }

    #[test]
    fn badges_are_trimmed_bounded_and_free_of_control_characters() {
        let owned = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            check_badges(&owned(&["  Subscriber ", "Columnist", "Subscriber"])).unwrap(),
            owned(&["Subscriber", "Columnist"])
        );
        // The limit counts the shown text, not the padding around it.
        let longest = "b".repeat(MAX_BADGE_CHARS);
        assert!(check_badges(&[format!("  {longest}  ")]).is_ok());
        assert!(check_badges(&[format!("{longest}b")]).is_err());
        assert!(check_badges(&vec!["x".to_owned(); MAX_BADGES]).is_ok());
        assert!(check_badges(&vec!["x".to_owned(); MAX_BADGES + 1]).is_err());
        for bad in [
            "",
            "   ",
            "Sub\nscriber",
            "\u{202E}rebircsbuS",
            "a\u{200B}b",
        ] {
            assert!(check_badges(&[bad.to_owned()]).is_err(), "{bad:?}");
        }
        // Markup is just text here; the pages escape it.
        assert_eq!(
            check_badges(&owned(&["<b>Gold</b>"])).unwrap(),
            owned(&["<b>Gold</b>"])
        );
    }

    #[test]
    fn roles_are_granted_only_when_allowed_and_never_above_the_maximum() {
        assert_eq!(
            granted_role(Some(Role::Moderator), false, Role::Moderator),
            None
        );
        assert_eq!(granted_role(None, true, Role::Moderator), None);
        assert_eq!(
            granted_role(Some(Role::Staff), true, Role::Moderator),
            Some(Role::Staff)
        );
        assert_eq!(
            granted_role(Some(Role::Moderator), true, Role::Staff),
            Some(Role::Staff)
        );
        assert_eq!(
            granted_role(Some(Role::Admin), true, Role::Admin),
            Some(Role::Moderator)
        );
    }

    #[test]
    fn claims_parse_from_json() {
        let raw: RawClaims = serde_json::from_str(
            r#"{"sub":"1","email":"a@b.co","name":"A B","iat":1,"exp":2,"jti":"j","aud":["x"],"badges":["Subscriber"]}"#,
        )
        .unwrap();
        assert_eq!(raw.aud, Some(Audience::Many(vec!["x".into()])));
        assert_eq!(raw.badges, Some(vec!["Subscriber".into()]));
    }
}
