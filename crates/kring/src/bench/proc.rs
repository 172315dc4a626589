//! What the bench reads about processes and the machine from `/proc` (Linux only): CPU time,
//! resident memory, machine busy time. Every reader returns `None` where `/proc` is missing.
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};

/// Clock ticks per second, the unit of CPU times in `/proc/<pid>/stat`.
fn clock_ticks() -> f64 {
    // SAFETY: sysconf only reads a configuration value.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 { t as f64 } else { 100.0 }
}

/// User plus system CPU seconds of a process (all its threads), or `None` if it is gone.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may contain spaces: fields start after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state is field 3, utime field 14, stime field 15 (see proc(5)).
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / clock_ticks())
}

/// Total CPU seconds of several processes; `None` if any is unreadable.
pub fn cpu_seconds_all(pids: &[u32]) -> Option<f64> {
    pids.iter().map(|&p| cpu_seconds(p)).sum()
}

/// A `kB` line of `/proc/<pid>/status` (VmRSS, VmHWM …), in bytes.
pub fn status_bytes(pid: u32, key: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|l| {
        let v = l.strip_prefix(key)?.strip_prefix(':')?;
        let kb: u64 = v.trim().trim_end_matches("kB").trim().parse().ok()?;
        Some(kb * 1024)
    })
}

/// (busy, total) jiffies of the whole machine, from the first line of `/proc/stat`.
pub fn machine_jiffies() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().next()?.strip_prefix("cpu ")?;
    let v: Vec<u64> = line
        .split_whitespace()
        .filter_map(|f| f.parse().ok())
        .collect();
    let total: u64 = v.iter().take(8).sum();
    // idle and iowait are fields 4 and 5.
    let idle = v.get(3)? + v.get(4).copied().unwrap_or(0);
    Some((total - idle, total))
}

/// CPU counters at one moment: the machine, the server, its database backends and this process.
#[derive(Debug, Clone, Copy)]
pub struct Snapshot {
    at: Instant,
    machine: Option<(u64, u64)>,
    server: Option<f64>,
    database: Option<f64>,
    client: Option<f64>,
}

/// CPU seconds used between two snapshots.
#[derive(Debug, Clone, Copy, Default)]
pub struct Usage {
    pub seconds: f64,
    pub server: Option<f64>,
    pub database: Option<f64>,
    pub client: Option<f64>,
    /// Share of the machine's CPU that was busy (all processes).
    pub machine_busy: Option<f64>,
    /// Cores used on average by processes other than the server, its database backends and
    /// the load generator: load from elsewhere that disturbs the measurement.
    pub other_cores: Option<f64>,
}

impl Snapshot {
    pub fn take(server: u32, database: &[u32]) -> Snapshot {
        Snapshot {
            at: Instant::now(),
            machine: machine_jiffies(),
            server: cpu_seconds(server),
            database: cpu_seconds_all(database),
            client: cpu_seconds(std::process::id()),
        }
    }

    pub fn usage_since(&self, earlier: &Snapshot) -> Usage {
        let d = |a: Option<f64>, b: Option<f64>| Some(b? - a?);
        let seconds = self.at.duration_since(earlier.at).as_secs_f64();
        let (server, database, client) = (
            d(earlier.server, self.server),
            d(earlier.database, self.database),
            d(earlier.client, self.client),
        );
        let (machine_busy, other_cores) = match (earlier.machine, self.machine) {
            (Some((b0, t0)), Some((b1, t1))) if t1 > t0 => {
                let busy = (b1 - b0) as f64 / clock_ticks();
                let ours = server.unwrap_or(0.0) + database.unwrap_or(0.0) + client.unwrap_or(0.0);
                (
                    Some((b1 - b0) as f64 / (t1 - t0) as f64),
                    Some(((busy - ours) / seconds.max(1e-9)).max(0.0)),
                )
            }
            _ => (None, None),
        };
        Usage {
            seconds,
            server,
            database,
            client,
            machine_busy,
            other_cores,
        }
    }
}

/// Wait (at most `limit`) until other processes use less than `cores` CPU cores, sampled over
/// one-second windows. Returns how long it waited and the other load of the last window.
pub async fn wait_for_quiet(limit: Duration, cores: f64, server: u32) -> (Duration, Option<f64>) {
    let t0 = Instant::now();
    loop {
        let a = Snapshot::take(server, &[]);
        tokio::time::sleep(Duration::from_secs(1)).await;
        let other = Snapshot::take(server, &[]).usage_since(&a).other_cores;
        match other {
            Some(o) if o >= cores && t0.elapsed() < limit => continue,
            _ => return (t0.elapsed(), other),
        }
    }
}

/// A description of the machine for the report.
pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map(|kb| format!("{:.0} GiB RAM", kb as f64 / 1024.0 / 1024.0))
        .unwrap_or_default();
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|k| format!("Linux {}", k.trim()))
        .unwrap_or_default();
    format!("{cores} cores ({cpu}), {mem}, {kernel}")
}

/// How a server start went.
#[derive(Debug, Clone, Default)]
pub struct Start {
    /// From spawn until a TCP connection is accepted.
    pub listening: Duration,
    /// Resident memory then (before any request).
    pub rss_listening: Option<u64>,
    /// From spawn until the first 200 from `/api/v1/instance`.
    pub ready: Duration,
    /// Resident memory right after the first 200.
    pub rss_ready: Option<u64>,
}

/// A `kring serve` child process.
pub struct Server {
    child: Child,
    pub pid: u32,
    pub base_url: String,
}

pub struct ServerCommand {
    pub bin: PathBuf,
    pub args: Vec<String>,
    pub addr: std::net::SocketAddr,
}

impl ServerCommand {
    /// Spawn the server and wait until `/api/v1/instance` answers 200.
    pub async fn start(&self) -> Result<(Server, Start), String> {
        let started = Instant::now();
        let mut child = Command::new(&self.bin)
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", self.bin.display()))?;
        let pid = child.id().ok_or("server exited at once")?;
        let base_url = format!("http://{}", self.addr);
        let deadline = started + Duration::from_secs(120);
        let exited = |child: &mut Child| -> Result<(), String> {
            match child.try_wait() {
                Ok(Some(status)) => Err(format!("server exited during start: {status}")),
                _ if Instant::now() > deadline => Err("server did not start within 120 s".into()),
                _ => Ok(()),
            }
        };
        loop {
            if tokio::net::TcpStream::connect(self.addr).await.is_ok() {
                break;
            }
            exited(&mut child)?;
            tokio::time::sleep(Duration::from_micros(500)).await;
        }
        let listening = started.elapsed();
        let rss_listening = status_bytes(pid, "VmRSS");
        let client = reqwest::Client::new();
        let url = format!("{base_url}/api/v1/instance");
        loop {
            if let Ok(r) = client.get(&url).send().await
                && r.status() == reqwest::StatusCode::OK
            {
                let _ = r.bytes().await;
                break;
            }
            exited(&mut child)?;
            tokio::time::sleep(Duration::from_micros(500)).await;
        }
        let ready = started.elapsed();
        let start = Start {
            listening,
            rss_listening,
            ready,
            rss_ready: status_bytes(pid, "VmRSS"),
        };
        Ok((
            Server {
                child,
                pid,
                base_url,
            },
            start,
        ))
    }
}

impl Server {
    /// Wait until the server has been (nearly) idle for a second: the job worker scans feeds at
    /// start. Returns how long that took and the CPU seconds spent since the process started.
    pub async fn settle(&self, limit: Duration) -> (Duration, Option<f64>) {
        let t0 = Instant::now();
        let mut quiet = 0;
        let mut last = cpu_seconds(self.pid);
        while t0.elapsed() < limit {
            tokio::time::sleep(Duration::from_millis(250)).await;
            let now = cpu_seconds(self.pid);
            match (last, now) {
                // Less than 2% of a core over 250 ms, four times in a row.
                (Some(a), Some(b)) if b - a < 0.005 => quiet += 1,
                (None, _) | (_, None) => break,
                _ => quiet = 0,
            }
            last = now;
            if quiet >= 4 {
                break;
            }
        }
        (t0.elapsed(), cpu_seconds(self.pid))
    }

    /// SIGTERM (graceful shutdown), then SIGKILL if it does not end within 30 s.
    pub async fn stop(mut self) -> Result<(), String> {
        // SAFETY: kill(2) on the pid of our own child, which has not been reaped yet.
        unsafe {
            libc::kill(self.pid as libc::pid_t, libc::SIGTERM);
        }
        match tokio::time::timeout(Duration::from_secs(30), self.child.wait()).await {
            Ok(Ok(_)) => Ok(()),
            _ => {
                let _ = self.child.kill().await;
                Err("server did not stop within 30 s of SIGTERM".into())
            }
        }
    }
}

/// Size in bytes of a file, for the binary-size line.
pub fn file_size(path: &Path) -> Option<u64> {
    std::fs::metadata(path).ok().map(|m| m.len())
}

/// Whether a 64-bit little-endian ELF file has a symbol table (`None`: not such a file).
pub fn has_symbol_table(path: &Path) -> Option<bool> {
    let bytes = std::fs::read(path).ok()?;
    if bytes.get(..6)? != b"\x7fELF\x02\x01" {
        return None;
    }
    let u16_at = |o: usize| Some(u16::from_le_bytes(bytes.get(o..o + 2)?.try_into().ok()?));
    let u32_at = |o: usize| Some(u32::from_le_bytes(bytes.get(o..o + 4)?.try_into().ok()?));
    let u64_at = |o: usize| Some(u64::from_le_bytes(bytes.get(o..o + 8)?.try_into().ok()?));
    let (shoff, shentsize, shnum) = (
        u64_at(0x28)? as usize,
        u16_at(0x3a)? as usize,
        u16_at(0x3c)?,
    );
    const SHT_SYMTAB: u32 = 2;
    let mut found = false;
    for i in 0..shnum as usize {
        found |= u32_at(shoff + i * shentsize + 4)? == SHT_SYMTAB;
    }
    Some(found)
}
