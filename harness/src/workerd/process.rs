//! Processes the workerd target starts (`wrangler dev`, `wrangler d1 migrations apply`), each in
//! a process group of its own, with its output captured line by line.
//!
//! Every process runs under a small supervisor (bash) that leads the group: it starts the command
//! and watches its own stdin, a pipe only the harness holds. Whatever ends the harness (a clean
//! exit, a panic, ctrl-c, even SIGKILL), the pipe closes and the supervisor stops the whole group,
//! workerd included (workerd outlives a killed node otherwise). On [`Drop`] the harness stops the
//! group itself: SIGTERM, then SIGKILL for anything left after a grace period, and waits until no
//! live process of the group remains.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;

/// Starts `"$@"`; when stdin (the harness's pipe) closes, stops the whole process group; when the
/// command ends on its own, stops what it left behind in the group and exits with its status.
const SUPERVISOR: &str = r#"exec 3<&0
"$@" </dev/null 3<&- &
child=$!
( read -r _ <&3; kill -TERM 0 ) </dev/null &
wait "$child"
status=$?
trap '' TERM
kill -TERM 0 2>/dev/null
exit "$status""#;

/// Every line any captured process printed, in arrival order, ANSI colours removed.
pub struct Output {
    lines: Mutex<Vec<String>>,
    echo: bool,
}

impl Output {
    pub fn new(echo: bool) -> Arc<Output> {
        Arc::new(Output { lines: Mutex::new(Vec::new()), echo })
    }

    pub fn push(&self, source: &str, line: String) {
        if self.echo {
            eprintln!("{source}| {line}");
        }
        self.lines.lock().expect("output lock poisoned").push(line);
    }

    pub fn len(&self) -> usize {
        self.lines.lock().expect("output lock poisoned").len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Lines `from..to` (to the end when `to` is None).
    pub fn slice(&self, from: usize, to: Option<usize>) -> Vec<String> {
        let lines = self.lines.lock().expect("output lock poisoned");
        let to = to.unwrap_or(lines.len()).min(lines.len());
        lines[from.min(to)..to].to_vec()
    }

    /// The index of the first line at or after `from` that satisfies `found`.
    pub fn position(&self, from: usize, found: impl Fn(&str) -> bool) -> Option<usize> {
        let lines = self.lines.lock().expect("output lock poisoned");
        lines.iter().enumerate().skip(from).find(|(_, line)| found(line)).map(|(i, _)| i)
    }

    /// The index of the last line at or after `from` that satisfies `found`.
    pub fn last_position(&self, from: usize, found: impl Fn(&str) -> bool) -> Option<usize> {
        let lines = self.lines.lock().expect("output lock poisoned");
        lines.iter().enumerate().skip(from).filter(|(_, line)| found(line)).map(|(i, _)| i).last()
    }

    /// The last `n` lines from `from`, for error messages.
    pub fn tail(&self, from: usize, n: usize) -> String {
        let lines = self.slice(from, None);
        let start = lines.len().saturating_sub(n);
        lines[start..].iter().map(|l| format!("    | {l}")).collect::<Vec<_>>().join("\n")
    }
}

fn strip_ansi(line: &str) -> String {
    static ANSI: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let ansi = ANSI.get_or_init(|| regex::Regex::new(r"\x1b\[[0-9;?]*[ -/]*[@-~]").expect("a valid regex"));
    ansi.replace_all(line, "").trim_end_matches('\r').to_owned()
}

fn capture(reader: impl Read + Send + 'static, source: String, output: Arc<Output>) {
    std::thread::spawn(move || {
        let mut reader = BufReader::new(reader);
        let mut buffer = Vec::new();
        loop {
            buffer.clear();
            match reader.read_until(b'\n', &mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let text = String::from_utf8_lossy(&buffer);
                    output.push(&source, strip_ansi(text.trim_end_matches('\n')));
                }
            }
        }
    });
}

/// A command running in a process group of its own under the supervisor.
pub struct Supervised {
    label: String,
    child: Child,
    pgid: i32,
    watch: Option<ChildStdin>,
    status: Option<ExitStatus>,
}

impl Supervised {
    pub fn spawn(
        label: &str,
        program: &Path,
        args: &[OsString],
        cwd: &Path,
        env: &[(String, String)],
        output: &Arc<Output>,
    ) -> anyhow::Result<Supervised> {
        let mut command = Command::new("bash");
        command
            .arg("-c")
            .arg(SUPERVISOR)
            .arg("agency-harness-supervisor")
            .arg(program)
            .args(args)
            .current_dir(cwd)
            // Nothing from the caller's environment reaches wrangler (with `secrets.required` it
            // reads secrets from the process environment too), only what `env` names.
            .env_clear()
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        let mut child = command.spawn().with_context(|| format!("starting {label} ({})", program.display()))?;
        let pgid = i32::try_from(child.id()).context("a process id fits an i32")?;
        if let Ok(mut groups) = GROUPS.lock() {
            groups.push(pgid);
        }
        let watch = child.stdin.take();
        if let Some(stdout) = child.stdout.take() {
            capture(stdout, label.to_owned(), output.clone());
        }
        if let Some(stderr) = child.stderr.take() {
            capture(stderr, label.to_owned(), output.clone());
        }
        Ok(Supervised { label: label.to_owned(), child, pgid, watch, status: None })
    }

    pub fn pgid(&self) -> i32 {
        self.pgid
    }

    /// The exit status, once the command has ended.
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.child.try_wait().ok().flatten();
        }
        self.status
    }

    /// Waits for the command to end (up to `timeout`), polling without blocking the runtime.
    pub async fn wait(&mut self, timeout: Duration) -> anyhow::Result<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.try_wait() {
                return Ok(status);
            }
            if Instant::now() > deadline {
                anyhow::bail!("{} did not finish within {} s", self.label, timeout.as_secs());
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Stops the whole group: SIGTERM, then SIGKILL after `grace`; returns once no live process
    /// of the group remains (or after a last SIGKILL and another short wait).
    pub fn stop(&mut self, grace: Duration) {
        if let Some(mut watch) = self.watch.take() {
            let _ = watch.flush();
        }
        signal_group(self.pgid, libc::SIGTERM);
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            let _ = self.try_wait();
            if live_members(self.pgid).is_empty() {
                break;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        if !live_members(self.pgid).is_empty() {
            signal_group(self.pgid, libc::SIGKILL);
            let deadline = Instant::now() + Duration::from_secs(2);
            while Instant::now() < deadline && !live_members(self.pgid).is_empty() {
                std::thread::sleep(Duration::from_millis(25));
            }
        }
        if self.status.is_none() {
            // The leader is dead or dying after SIGKILL at the latest: reap it.
            self.status = self.child.wait().ok();
        }
        if let Ok(mut groups) = GROUPS.lock() {
            groups.retain(|g| *g != self.pgid);
        }
    }
}

impl Drop for Supervised {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(5));
    }
}

/// Process groups started and not yet stopped, for [`kill_all_groups`].
static GROUPS: Mutex<Vec<i32>> = Mutex::new(Vec::new());

/// SIGKILLs every group still running: the last resort of an interrupted harness whose
/// cooperative stop did not finish.
pub fn kill_all_groups() {
    let groups = GROUPS.lock().map(|g| g.clone()).unwrap_or_default();
    for pgid in groups {
        signal_group(pgid, libc::SIGKILL);
    }
}

fn signal_group(pgid: i32, signal: libc::c_int) {
    if pgid > 1 {
        // SAFETY: kill(2) with a negative pid signals exactly that process group.
        unsafe {
            libc::kill(-pgid, signal);
        }
    }
}

/// Processes of group `pgid` that are still alive (zombies are dead: they hold no port and run
/// nothing, and init reaps them).
pub fn live_members(pgid: i32) -> Vec<(i32, String)> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    let mut members = Vec::new();
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else { continue };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
        // pid (comm) state ppid pgrp …; comm may hold spaces and parentheses.
        let Some((head, rest)) = stat.rsplit_once(')') else { continue };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let (Some(state), Some(pgrp)) = (fields.first(), fields.get(2).and_then(|g| g.parse::<i32>().ok())) else { continue };
        if pgrp == pgid && !matches!(*state, "Z" | "X") {
            let comm = head.split_once('(').map_or("", |(_, c)| c).to_owned();
            members.push((pid, comm));
        }
    }
    members
}

/// A free loopback port, as the kernel hands them out (a race with other programs is possible
/// and is reported by wrangler as a bind failure).
pub fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).context("finding a free loopback port")?;
    Ok(listener.local_addr()?.port())
}

/// Whether something accepts connections on 127.0.0.1:`port`.
pub fn port_in_use(port: u16) -> bool {
    std::net::TcpStream::connect_timeout(&std::net::SocketAddr::from(([127, 0, 0, 1], port)), Duration::from_millis(200)).is_ok()
}

/// Waits until nothing listens on `port` any more.
pub fn wait_port_free(port: u16, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if !port_in_use(port) {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropping_a_supervised_group_leaves_no_process_and_frees_its_port() {
        let output = Output::new(false);
        let port = free_port().unwrap();
        // A group with a grandchild that ignores SIGTERM and listens on a port.
        let script = format!(
            "python3 -c 'import signal,socket,time; signal.signal(signal.SIGTERM, signal.SIG_IGN); s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind((\"127.0.0.1\",{port})); s.listen(); print(\"listening\", flush=True); time.sleep(600)' & sleep 600"
        );
        let env = vec![("PATH".to_owned(), std::env::var("PATH").unwrap_or_default())];
        let mut process = Supervised::spawn("test", Path::new("bash"), &["-c".into(), script.into()], Path::new("/"), &env, &output).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while output.position(0, |l| l == "listening").is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(port_in_use(port), "the grandchild listens");
        let pgid = process.pgid();
        assert!(live_members(pgid).len() >= 3, "{:?}", live_members(pgid));
        process.stop(Duration::from_millis(500));
        drop(process);
        assert!(live_members(pgid).is_empty(), "{:?}", live_members(pgid));
        assert!(wait_port_free(port, Duration::from_secs(2)), "port {port} is still bound");
    }

    #[test]
    fn the_supervisor_stops_the_group_when_the_harness_pipe_closes() {
        let output = Output::new(false);
        let env = vec![("PATH".to_owned(), std::env::var("PATH").unwrap_or_default())];
        let mut process =
            Supervised::spawn("test", Path::new("bash"), &["-c".into(), "sleep 600 & sleep 600".into()], Path::new("/"), &env, &output).unwrap();
        let pgid = process.pgid();
        std::thread::sleep(Duration::from_millis(200));
        assert!(!live_members(pgid).is_empty());
        // What a dying harness does: its end of the pipe closes. Nothing else.
        drop(process.watch.take());
        let deadline = Instant::now() + Duration::from_secs(5);
        while !live_members(pgid).is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(live_members(pgid).is_empty(), "{:?}", live_members(pgid));
    }

    #[test]
    fn ansi_colours_are_removed() {
        assert_eq!(strip_ansi("\x1b[33m▲ \x1b[43;33m[\x1b[43;30mWARNING\x1b[43;33m]\x1b[0m \x1b[1mrun=x\x1b[0m\r"), "▲ [WARNING] run=x");
    }
}
