//! The bench's phases for the read path and memory (issue 9): the hashtag timeline and a status
//! with its context, a burst of concurrent sign-ups and log-ins, and the soak. Kept out of
//! `mod.rs`, which only calls `reads` and `after_fanout` and prints `markdown`.
use std::fmt::Write as _;
use std::sync::Arc;

use clap::Args;
use sqlx::AnyConnection;

use super::{BenchArgs, HomeBench, load, mib, opt, reads, signups, soak};

#[derive(Args, Debug, Clone)]
pub struct ExtraArgs {
    /// Also measure the hashtag timeline and a status with its context (their posts are made
    /// before and deleted after).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub more_reads: bool,
    /// Accounts signed up at once, then logged in at once (0: skip).
    #[arg(long, default_value_t = 50)]
    pub signups: usize,
    /// Seconds of the mixed soak at `--soak-load` of the mix's capacity (0: no soak).
    #[arg(long, default_value_t = 0.0)]
    pub soak_seconds: f64,
    /// The soak's request rate as a share of the mix's capacity, which a closed loop of the
    /// same mix measures first for `--soak-calibration-seconds`.
    #[arg(long, default_value_t = 0.8)]
    pub soak_load: f64,
    /// Seconds of the closed loop that measures the soak's mix capacity.
    #[arg(long, default_value_t = 20.0)]
    pub soak_calibration_seconds: f64,
    /// Offer this many requests/s instead of `--soak-load` of the measured capacity (0: the
    /// share), to compare two builds at the same load: each measures its own capacity.
    #[arg(long, default_value_t = 0.0)]
    pub soak_rate: f64,
}

#[derive(Debug, Clone, Default)]
pub struct ExtraReport {
    /// RSS after the reads and the fan-out, before the sign-ups: the steady state.
    pub rss_steady: Option<u64>,
    pub signups: Option<signups::Signups>,
    pub soak: Option<soak::Soak>,
}

/// The hashtag timeline, one status and its context, each on one connection.
pub(super) async fn reads(
    home: &HomeBench<'_>,
    db: &mut AnyConnection,
    tokens: &[String],
    out: &mut Vec<(&'static str, load::HomeLoad)>,
) -> Result<(), String> {
    if !home.args.extra.more_reads {
        return Ok(());
    }
    let base = &home.server.base_url;
    let fixtures = reads::prepare(base, tokens).await?;
    let id: i64 = fixtures
        .thread_status
        .parse()
        .map_err(|e| format!("status id: {e}"))?;
    let mut result = Ok(());
    for (name, target) in [
        (
            "`GET /api/v1/timelines/tag/kringbench?limit=40`",
            load::Target::Tag,
        ),
        ("`GET /api/v1/statuses/:id`", load::Target::Status(id)),
        (
            "`GET /api/v1/statuses/:id/context` (5 before, 5 after)",
            load::Target::Context(id),
        ),
    ] {
        let what = format!("{name}, 1 connection");
        match home.run(db, &what, 1, target).await {
            Ok(Some(r)) => out.push((name, r)),
            Ok(None) => {}
            Err(e) => {
                result = Err(e);
                break;
            }
        }
    }
    reads::cleanup(base, &fixtures).await?;
    result
}

/// After the fan-out: the steady RSS, the sign-ups, then the soak.
pub(super) async fn after_fanout(
    args: &BenchArgs,
    report: &mut super::Report,
    server: &super::proc::Server,
    tokens: &Arc<Vec<String>>,
    domain: &str,
) -> Result<(), String> {
    let x = &args.extra;
    report.extra.rss_steady = super::proc::status_bytes(server.pid, "VmRSS");
    if x.signups > 0 {
        let s = signups::run(&server.base_url, server.pid, x.signups).await?;
        eprintln!(
            "bench: {} sign-ups and log-ins: {:.1} s, {} errors, RSS {} -> {}, peak {}",
            s.count,
            s.seconds,
            s.errors.len(),
            mib(s.rss_before),
            mib(s.rss_after),
            mib(s.peak_after)
        );
        report.extra.signups = Some(s);
    }
    if x.soak_seconds > 0.0 {
        // For comparison in the report: the soak measures the mix's own capacity.
        let capacity = report
            .home
            .iter()
            .map(|h| h.requests_per_second)
            .fold(0.0, f64::max);
        super::quiet(args, "soak", server.pid).await;
        let s = soak::run(soak::Setup {
            server,
            domain,
            tokens: tokens.clone(),
            follow_targets: report
                .extra
                .signups
                .as_ref()
                .map(|s| s.ids.clone())
                .unwrap_or_default(),
            seconds: x.soak_seconds,
            offer: if x.soak_rate > 0.0 {
                soak::Offer::Rate(x.soak_rate)
            } else {
                soak::Offer::Share(x.soak_load)
            },
            calibration_seconds: x.soak_calibration_seconds,
            home_capacity: capacity,
        })
        .await?;
        eprintln!(
            "bench: soak: {} errors, {} shed, RSS {} -> {}",
            s.errors,
            s.shed,
            mib(s.rss_start),
            mib(s.rss_end)
        );
        report.extra.soak = Some(s);
    }
    Ok(())
}

impl ExtraReport {
    pub fn markdown(&self) -> String {
        let mut s = String::new();
        if let Some(r) = self.rss_steady {
            let _ = writeln!(
                s,
                "\nRSS after the reads and the fan-out (steady, before sign-ups): {} (budget ≤ 60 MB).",
                mib(Some(r))
            );
        }
        if let Some(u) = &self.signups {
            let _ = writeln!(
                s,
                "\nSign-ups: {n} accounts registered at once (`POST /api/v1/accounts`), then {n} password \
                 log-ins at once (`POST /oauth/token`), {:.1} s in all, {} CPU s; {} errors.\n\n\
                 | | p50 ms | p99 ms | max ms |\n|---|---:|---:|---:|\n\
                 | sign-up | {:.0} | {:.0} | {:.0} |\n| log-in | {:.0} | {:.0} | {:.0} |\n\n\
                 RSS before {}, after {}, 3 s later {}; peak (VmHWM) before {}, after {} (budget ≤ 150 MB).",
                u.seconds,
                opt(u.server_cpu_seconds, 1),
                u.errors.len(),
                u.sign_up.p50,
                u.sign_up.p99,
                u.sign_up.max,
                u.log_in.p50,
                u.log_in.p99,
                u.log_in.max,
                mib(u.rss_before),
                mib(u.rss_after),
                mib(u.rss_settled),
                mib(u.peak_before),
                mib(u.peak_after),
                n = u.count,
            );
            for e in u.errors.iter().take(5) {
                let _ = writeln!(s, "\n- error: {e}");
            }
        }
        if let Some(k) = &self.soak {
            s.push_str(&k.markdown());
        }
        s
    }
}
