//! Username rules (as Mastodon's).
//!
//! A local username is 1 to 30 ASCII letters, digits and underscores (Mastodon's
//! `/\A[a-z0-9_]+\z/i`), unique case-insensitively ([`canonical`]), and not one of the
//! [`RESERVED`] names.

/// Longest local username, in characters.
pub const MAX_LENGTH: usize = 30;

/// Names no one may register: they are taken by the server, look official, or clash with routes.
/// Compared against [`canonical`] forms.
pub const RESERVED: &[&str] = &[
    "admin",
    "administrator",
    "root",
    "support",
    "help",
    "settings",
    "about",
    "webmaster",
    "postmaster",
    "hostmaster",
    "abuse",
    "security",
    "ssladmin",
    "mod",
    "moderator",
    "owner",
    "everyone",
    "all",
    "instance",
    "kring",
    "system",
    "api",
    "oauth",
    "well-known",
    "inbox",
    "outbox",
    "users",
    "notes",
    "groups",
    "tags",
];

/// Why a username can't be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsernameError {
    #[error("can't be blank")]
    Blank,
    #[error("is too long (maximum is 30 characters)")]
    TooLong,
    #[error("must contain only letters, numbers and underscores")]
    Invalid,
    #[error("is reserved")]
    Reserved,
}

impl UsernameError {
    /// Mastodon's code for the rule, as sign-up errors carry it in `details`.
    pub fn code(&self) -> &'static str {
        match self {
            UsernameError::Blank => "ERR_BLANK",
            UsernameError::TooLong => "ERR_TOO_LONG",
            UsernameError::Invalid => "ERR_INVALID",
            UsernameError::Reserved => "ERR_RESERVED",
        }
    }
}

/// Validate a new local username. The first failing rule wins, in the order blank, too long,
/// invalid characters, reserved.
pub fn validate_local(username: &str) -> Result<(), UsernameError> {
    validate_local_allow_reserved(username)?;
    if is_reserved(username) {
        return Err(UsernameError::Reserved);
    }
    Ok(())
}

/// [`validate_local`] without the reserved-name check (for the first admin account, made from the
/// command line, which may be called "admin").
pub fn validate_local_allow_reserved(username: &str) -> Result<(), UsernameError> {
    if username.trim().is_empty() {
        return Err(UsernameError::Blank);
    }
    if username.chars().count() > MAX_LENGTH {
        return Err(UsernameError::TooLong);
    }
    if !username
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return Err(UsernameError::Invalid);
    }
    Ok(())
}

/// Whether `username` is one of the [`RESERVED`] names (case-insensitively).
pub fn is_reserved(username: &str) -> bool {
    let canonical = canonical(username);
    RESERVED.contains(&canonical.as_str())
}

/// Canonical form used for uniqueness (lowercase).
pub fn canonical(username: &str) -> String {
    username.to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_valid_names() {
        for name in [
            "alice",
            "Alice_01",
            "_",
            "a",
            "x_y_z",
            "ABC",
            &"a".repeat(30),
        ] {
            assert_eq!(validate_local(name), Ok(()), "{name}");
        }
    }

    #[test]
    fn rejects_blank() {
        assert_eq!(validate_local(""), Err(UsernameError::Blank));
        assert_eq!(validate_local("   "), Err(UsernameError::Blank));
        assert_eq!(validate_local_allow_reserved(""), Err(UsernameError::Blank));
    }

    #[test]
    fn rejects_too_long() {
        assert_eq!(validate_local(&"a".repeat(31)), Err(UsernameError::TooLong));
        // Length is counted in characters, and checked before the character set.
        assert_eq!(validate_local(&"é".repeat(31)), Err(UsernameError::TooLong));
        assert_eq!(validate_local(&"é".repeat(20)), Err(UsernameError::Invalid));
    }

    #[test]
    fn rejects_invalid_characters() {
        for name in [
            "al ice",
            "alice.b",
            "alice-b",
            "al@ice",
            "@alice",
            "café",
            "日本",
            "a\n",
            " alice",
            "alice!",
            "well-known",
        ] {
            assert_eq!(
                validate_local(name),
                Err(UsernameError::Invalid),
                "{name:?}"
            );
        }
    }

    #[test]
    fn rejects_reserved_case_insensitively() {
        for name in [
            "admin", "Admin", "ROOT", "kring", "Tags", "everyone", "ssladmin",
        ] {
            assert_eq!(validate_local(name), Err(UsernameError::Reserved), "{name}");
            assert!(is_reserved(name));
        }
        assert!(!is_reserved("admin2"));
        assert_eq!(validate_local("admin2"), Ok(()));
        assert_eq!(validate_local("administrators"), Ok(()));
    }

    #[test]
    fn allow_reserved_skips_only_the_reserved_check() {
        assert_eq!(validate_local_allow_reserved("admin"), Ok(()));
        assert_eq!(validate_local_allow_reserved("Root"), Ok(()));
        assert_eq!(
            validate_local_allow_reserved("ad min"),
            Err(UsernameError::Invalid)
        );
        assert_eq!(
            validate_local_allow_reserved(&"a".repeat(31)),
            Err(UsernameError::TooLong)
        );
    }

    #[test]
    fn canonical_is_lowercase() {
        assert_eq!(canonical("Alice_01"), "alice_01");
        assert_eq!(canonical("alice"), canonical("ALICE"));
        assert_eq!(canonical("Ünï"), "ünï");
    }

    #[test]
    fn error_messages() {
        assert_eq!(UsernameError::Blank.to_string(), "can't be blank");
        assert_eq!(
            UsernameError::TooLong.to_string(),
            "is too long (maximum is 30 characters)"
        );
        assert_eq!(
            UsernameError::Invalid.to_string(),
            "must contain only letters, numbers and underscores"
        );
        assert_eq!(UsernameError::Reserved.to_string(), "is reserved");
    }

    #[test]
    fn reserved_list_is_canonical() {
        for name in RESERVED {
            assert_eq!(canonical(name), *name);
        }
    }
}
