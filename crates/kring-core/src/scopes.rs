//! OAuth scopes as Mastodon defines them: `read`, `write`, `follow`, `push`, `admin:read`,
//! `admin:write`, and granular ones like `read:statuses`. A granted scope covers its
//! sub-scopes; `follow` (deprecated) covers the follow-related read/write scopes.
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Scopes(Vec<String>);

pub const KNOWN: &[&str] = &[
    "read",
    "write",
    "follow",
    "push",
    "profile",
    "read:accounts",
    "read:blocks",
    "read:bookmarks",
    "read:favourites",
    "read:filters",
    "read:follows",
    "read:groups",
    "read:lists",
    "read:mutes",
    "read:notifications",
    "read:search",
    "read:statuses",
    "write:accounts",
    "write:blocks",
    "write:bookmarks",
    "write:conversations",
    "write:favourites",
    "write:filters",
    "write:follows",
    "write:groups",
    "write:lists",
    "write:media",
    "write:mutes",
    "write:notifications",
    "write:reports",
    "write:statuses",
    "admin:read",
    "admin:write",
    "admin:read:accounts",
    "admin:read:reports",
    "admin:read:domain_allows",
    "admin:read:domain_blocks",
    "admin:read:ip_blocks",
    "admin:read:email_domain_blocks",
    "admin:read:canonical_email_blocks",
    "admin:write:accounts",
    "admin:write:reports",
    "admin:write:domain_allows",
    "admin:write:domain_blocks",
    "admin:write:ip_blocks",
    "admin:write:email_domain_blocks",
    "admin:write:canonical_email_blocks",
];

impl Scopes {
    /// Parse a space- (or plus-) separated list; unknown scopes are an error.
    pub fn parse(s: &str) -> Result<Scopes, String> {
        let mut v: Vec<String> = Vec::new();
        for part in s.split([' ', '+', ',']).filter(|p| !p.is_empty()) {
            if !KNOWN.contains(&part) {
                return Err(format!("unknown scope: {part}"));
            }
            if !v.iter().any(|x| x == part) {
                v.push(part.to_string());
            }
        }
        if v.is_empty() {
            v.push("read".into());
        }
        Ok(Scopes(v))
    }

    /// Whether these granted scopes allow an endpoint that needs `required`.
    pub fn allows(&self, required: &str) -> bool {
        self.0.iter().any(|g| covers(g, required))
    }

    /// Whether every scope in `other` is covered by these (an app may not hand out more than
    /// it registered for).
    pub fn contains_all(&self, other: &Scopes) -> bool {
        other.0.iter().all(|s| self.allows(s))
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }
}

fn covers(granted: &str, required: &str) -> bool {
    if granted == required {
        return true;
    }
    if let Some(rest) = required.strip_prefix(granted)
        && rest.starts_with(':')
    {
        return true;
    }
    granted == "follow"
        && matches!(
            required,
            "read:follows"
                | "write:follows"
                | "read:blocks"
                | "write:blocks"
                | "read:mutes"
                | "write:mutes"
        )
}

impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coverage() {
        let s = Scopes::parse("read write:statuses follow").unwrap();
        assert!(s.allows("read:accounts"));
        assert!(s.allows("write:statuses"));
        assert!(!s.allows("write:favourites"));
        assert!(s.allows("write:blocks"));
        assert!(!s.allows("admin:read"));
        let admin = Scopes::parse("admin:read").unwrap();
        assert!(admin.allows("admin:read:accounts"));
        assert!(Scopes::parse("read nonsense").is_err());
        assert_eq!(Scopes::parse("").unwrap().to_string(), "read");
        assert!(
            Scopes::parse("read write")
                .unwrap()
                .contains_all(&Scopes::parse("read:statuses write").unwrap())
        );
    }
}
