//! The security policy of every HTML page the server sends, whichever door renders it (the web
//! interface, the API door's OAuth authorize page, error pages): what the browser may load,
//! where forms may go, who may frame the page. The web door's response layer applies it
//! (`kring_web::security_headers`); it lives here, beside the session cookie's rules, so both
//! doors read the same policy and neither holds a copy.

/// No inline code, nothing from other origins, no framing (`frame-ancestors 'none'`), forms
/// only to this server.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
connect-src 'self'; font-src 'self'; object-src 'none'; frame-ancestors 'none'; form-action 'self'; \
base-uri 'none'";

/// The other headers every page carries, as (name, value).
pub const HEADERS: &[(&str, &str)] = &[
    ("referrer-policy", "same-origin"),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    (
        "permissions-policy",
        "camera=(), microphone=(), geolocation=(), interest-cohort=()",
    ),
    ("cross-origin-opener-policy", "same-origin"),
];

/// [`CSP`] with `form-action` widened to `targets` (CSP source expressions such as
/// `https://app.example` or `app.example.mobile:`). For the OAuth authorize page: its form
/// posts here, and the answer redirects the browser to the app's redirect URI, which browsers
/// check against `form-action` too. (Mastodon drops `form-action` on that page; naming the one
/// target keeps the rest of the policy.) A target that is not a plain source expression is
/// left out.
pub fn csp_with_form_targets(targets: &[&str]) -> String {
    let extra: Vec<&str> = targets
        .iter()
        .copied()
        .filter(|t| {
            !t.is_empty()
                && t.chars().all(|c| {
                    c.is_ascii_alphanumeric()
                        || matches!(c, ':' | '/' | '.' | '-' | '+' | '[' | ']')
                })
        })
        .collect();
    if extra.is_empty() {
        return CSP.to_string();
    }
    CSP.replace(
        "form-action 'self'",
        &format!("form-action 'self' {}", extra.join(" ")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_targets_widen_form_action_only() {
        assert_eq!(csp_with_form_targets(&[]), CSP);
        let csp = csp_with_form_targets(&["https://app.example:8443", "my.app:"]);
        assert!(csp.contains("form-action 'self' https://app.example:8443 my.app:;"));
        assert!(csp.contains("frame-ancestors 'none'"));
        // Nothing that could end the directive or add another one gets in.
        let csp = csp_with_form_targets(&["https://x; script-src *", "a b"]);
        assert_eq!(csp, CSP);
    }
}
