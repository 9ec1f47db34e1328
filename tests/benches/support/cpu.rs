//! Where the CPU goes, from `/proc` (Linux; zeros elsewhere): `billingd` processes, the Postgres
//! server (the postmaster, the children it runs, and those it reaped), this process (the load
//! generator) and its waited-for children (pgbench).

use std::time::{Duration, Instant};

/// Clock ticks per second of `/proc/<pid>/stat` (`sysconf(_SC_CLK_TCK)`, 100 on Linux).
const TICKS: f64 = 100.0;

/// `utime + stime`, `cutime + cstime` (seconds) and the parent pid of a process.
fn proc_times(pid: &str) -> Option<(f64, f64, u32)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces: fields start after its closing parenthesis.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let tick = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .map(|t| t / TICKS)
    };
    let ppid = fields.get(1)?.parse().ok()?;
    Some((tick(11)? + tick(12)?, tick(13)? + tick(14)?, ppid))
}

/// Every pid on the machine with its parent and own CPU seconds.
fn all_processes() -> Vec<(u32, u32, f64)> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name();
            let pid: u32 = name.to_str()?.parse().ok()?;
            let (own, _, ppid) = proc_times(&pid.to_string())?;
            Some((pid, ppid, own))
        })
        .collect()
}

/// The processes to watch.
#[derive(Debug, Clone, Default)]
pub struct Watched {
    /// `billingd` processes.
    pub billingd: Vec<u32>,
    /// The postmaster of the Postgres server, if one runs here.
    pub postmaster: Option<u32>,
}

/// CPU seconds used so far.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    at: Instant,
    billingd: f64,
    server: f64,
    own: f64,
    children: f64,
}

impl Watched {
    /// CPU seconds used so far by each group.
    pub fn sample(&self) -> Sample {
        let (own, children, _) = proc_times("self").unwrap_or_default();
        let billingd = self
            .billingd
            .iter()
            .filter_map(|pid| proc_times(&pid.to_string()))
            .map(|(own, _, _)| own)
            .sum();
        let mut server = 0.0;
        if let Some(postmaster) = self.postmaster {
            if let Some((live, reaped, _)) = proc_times(&postmaster.to_string()) {
                server += live + reaped;
            }
            server += all_processes()
                .iter()
                .filter(|(_, ppid, _)| *ppid == postmaster)
                .map(|(_, _, own)| own)
                .sum::<f64>();
        }
        Sample {
            at: Instant::now(),
            billingd,
            server,
            own,
            children,
        }
    }

    /// How many processes the postmaster runs now.
    pub fn server_processes(&self) -> usize {
        self.postmaster.map_or(0, |postmaster| {
            all_processes()
                .iter()
                .filter(|(_, ppid, _)| *ppid == postmaster)
                .count()
        })
    }

    /// Polls (up to `deadline`) until the postmaster runs at most `count` processes again, so
    /// that the backends of a client that exited are reaped and their time is counted.
    pub fn wait_server_processes(&self, count: usize, deadline: Duration) {
        let until = Instant::now() + deadline;
        while self.server_processes() > count && Instant::now() < until {
            std::thread::yield_now();
        }
    }
}

/// CPU used between two samples.
#[derive(Debug, Clone, Copy)]
pub struct Used {
    wall: f64,
    /// `billingd` CPU seconds.
    pub billingd: f64,
    /// Postgres server CPU seconds.
    pub server: f64,
    /// This process's CPU seconds (the load generator).
    pub own: f64,
    /// Waited-for children's CPU seconds (pgbench).
    pub children: f64,
}

impl Sample {
    /// What was used since `before`.
    pub fn since(&self, before: &Sample) -> Used {
        Used {
            wall: self.at.duration_since(before.at).as_secs_f64(),
            billingd: self.billingd - before.billingd,
            server: self.server - before.server,
            own: self.own - before.own,
            children: self.children - before.children,
        }
    }
}

/// The machine's cores.
pub fn cores() -> f64 {
    std::thread::available_parallelism().map_or(1.0, |n| n.get() as f64)
}

impl Used {
    /// `x` CPU seconds as "ms per operation, % of the cores" (e.g. `0.84 ms, 61%`).
    pub fn cell(&self, seconds: f64, operations: u64) -> String {
        let per = seconds * 1000.0 / operations.max(1) as f64;
        let share = 100.0 * seconds / (self.wall.max(1e-9) * cores());
        format!("{per:.2} ms, {share:.0}%")
    }
}
