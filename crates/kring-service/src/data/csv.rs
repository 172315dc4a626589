//! The CSV files of the export, with Mastodon's exact headers (so Mastodon, GoToSocial and
//! Kring can import them).

/// One CSV field, quoted when it must be (RFC 4180).
pub fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// A CSV document: an optional header line, then rows, each line ending in `\n`.
pub fn document(header: Option<&str>, rows: &[Vec<String>]) -> String {
    let mut out = String::new();
    if let Some(h) = header {
        out.push_str(h);
        out.push('\n');
    }
    for row in rows {
        let fields: Vec<String> = row.iter().map(|f| field(f)).collect();
        out.push_str(&fields.join(","));
        out.push('\n');
    }
    out
}

pub const FOLLOWING_HEADER: &str = "Account address,Show boosts,Notify on new posts,Languages";
pub const FOLLOWERS_HEADER: &str = "Account address";
pub const MUTED_HEADER: &str = "Account address,Hide notifications";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_only_when_needed() {
        assert_eq!(field("a@b.c"), "a@b.c");
        assert_eq!(field("Friends, close"), "\"Friends, close\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        let d = document(Some("A,B"), &[vec!["x".into(), "y,z".into()]]);
        assert_eq!(d, "A,B\nx,\"y,z\"\n");
    }
}
