//! What the bench reads from the operating system: CPU time and RSS from `/proc`, the
//! open-file limit, and (with glibc) handing freed heap back so RSS deltas mean something.

use std::time::Duration;

/// CPU time and resident memory of a process, or of some of its threads.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Usage {
    /// User plus system CPU time.
    #[serde(serialize_with = "secs")]
    pub cpu: Duration,
    /// Resident set size in bytes (whole process).
    pub rss_bytes: u64,
}

fn secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

fn ticks_per_sec() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 { t as u64 } else { 100 }
}

/// utime + stime of a `stat` line, in clock ticks. Fields after the `(comm)` are fixed.
fn stat_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state); utime is field 14, stime 15.
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

fn ticks_to_duration(ticks: u64) -> Duration {
    Duration::from_secs_f64(ticks as f64 / ticks_per_sec() as f64)
}

fn rss_of(pid: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Usage of a whole process (`"self"` or a pid).
pub fn process(pid: &str) -> Option<Usage> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    Some(Usage {
        cpu: ticks_to_duration(stat_ticks(&stat)?),
        rss_bytes: rss_of(pid)?,
    })
}

/// CPU time of this process's threads whose name is `name` (tokio names the workers and
/// blocking threads of a runtime built with `thread_name`). RSS is the whole process's.
pub fn threads_named(name: &str) -> Usage {
    let mut ticks = 0;
    if let Ok(dir) = std::fs::read_dir("/proc/self/task") {
        for task in dir.flatten() {
            let path = task.path();
            let comm = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
            if comm.trim_end() != name {
                continue;
            }
            if let Ok(stat) = std::fs::read_to_string(path.join("stat")) {
                ticks += stat_ticks(&stat).unwrap_or(0);
            }
        }
    }
    Usage {
        cpu: ticks_to_duration(ticks),
        rss_bytes: rss_of("self").unwrap_or(0),
    }
}

/// Gives freed heap pages back to the OS, so that an RSS delta measures live memory and
/// not what the allocator kept from earlier phases (argon2 buffers, say).
pub fn trim_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks glibc's own arenas.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Makes glibc serve big allocations (argon2's 19 MiB blocks) from `mmap` and give them
/// back on free, instead of raising its threshold and keeping them in the heap, where later
/// allocations would reuse them and hide growth. Set for a child server only when
/// connections are measured (this process uses [`trim_heap`] instead).
pub const MMAP_THRESHOLD_ENV: (&str, &str) = ("MALLOC_MMAP_THRESHOLD_", "131072");

/// Raises the soft open-file limit to the hard one; returns the limit now in force.
pub fn raise_nofile() -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain syscalls on a local struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return 1024;
        }
        if lim.rlim_cur < lim.rlim_max {
            let want = libc::rlimit {
                rlim_cur: lim.rlim_max,
                rlim_max: lim.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &want) == 0 {
                lim.rlim_cur = lim.rlim_max;
            }
        }
    }
    lim.rlim_cur
}

pub fn nproc() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_with_spaces_in_comm() {
        let line = "123 (a b) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 1";
        assert_eq!(stat_ticks(line), Some(300));
    }

    #[test]
    fn reads_own_usage() {
        let u = process("self").expect("proc is mounted");
        assert!(u.rss_bytes > 0);
    }
}
