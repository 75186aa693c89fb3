//! Starting the built `handler` binary the way the Functions host does (spec §1.2–1.4, §11):
//! from the app root, with the host's variables, stdout and stderr captured.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A running (or exited) handler process and everything it printed.
pub struct HandlerProcess {
    pub port: u16,
    child: Child,
    output: Arc<Mutex<String>>,
    /// stdout and stderr apart (the host grades stderr lines as warnings and errors).
    streams: [Arc<Mutex<String>>; 2],
    /// The threads copying stdout and stderr; they end when the process closes its pipes.
    readers: Vec<std::thread::JoinHandle<()>>,
}

/// A free port on 127.0.0.1, picked as the host does: bind port 0, read it, release it.
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local address").port()
}

impl HandlerProcess {
    /// Starts the handler on `port` with the host's variables plus `env`.
    pub fn spawn(port: u16, env: &[(&str, &str)]) -> Self {
        Self::spawn_with_args(port, &[], env)
    }

    /// Like [`HandlerProcess::spawn`], with command-line arguments (`dev --port 0 ...`).
    pub fn spawn_with_args(port: u16, args: &[&str], env: &[(&str, &str)]) -> Self {
        let root = crate::APP.root;
        let worker_id = format!(
            "{:032x}",
            Instant::now().elapsed().as_nanos() ^ u128::from(port)
        );
        let mut command = Command::new(crate::APP.binary);
        command
            .args(args)
            .current_dir(root)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("FUNCTIONS_WORKER_RUNTIME", "custom")
            .env("FUNCTIONS_HTTPWORKER_PORT", port.to_string())
            .env("FUNCTIONS_HTTPWORKER_ID", &worker_id)
            .env("FUNCTIONS_CUSTOMHANDLER_PORT", port.to_string())
            .env("FUNCTIONS_CUSTOMHANDLER_WORKER_ID", &worker_id)
            .env("FUNCTIONS_APP_ROOT_PATH", root)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command.spawn().expect("start the handler binary");
        let output = Arc::new(Mutex::new(String::new()));
        let streams = [
            Arc::new(Mutex::new(String::new())),
            Arc::new(Mutex::new(String::new())),
        ];
        let mut readers = Vec::new();
        for (stream, separate) in [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .zip(streams.iter().map(Arc::clone))
        .filter_map(|(stream, separate)| Some((stream?, separate)))
        {
            let output = Arc::clone(&output);
            readers.push(std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    let mut output = output.lock().expect("output lock");
                    output.push_str(&line);
                    output.push('\n');
                    let mut separate = separate.lock().expect("stream lock");
                    separate.push_str(&line);
                    separate.push('\n');
                }
            }));
        }
        Self {
            port,
            child,
            output,
            streams,
            readers,
        }
    }

    /// Resident memory of the process now, in KiB (`VmRSS` from /proc).
    pub fn resident_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("read /proc/<pid>/status");
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS in /proc/<pid>/status")
    }

    /// CPU time the process has used so far, user and system (from /proc, in clock ticks of
    /// 10 ms).
    pub fn cpu_ticks(&self) -> u64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id()))
            .expect("read /proc/<pid>/stat");
        // Fields after the command name (which may hold spaces) start after the last ')';
        // utime and stime are fields 14 and 15, i.e. the 12th and 13th after it.
        let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        after_name
            .split_whitespace()
            .skip(11)
            .take(2)
            .map(|ticks| ticks.parse::<u64>().expect("clock ticks"))
            .sum()
    }

    /// Waits until the output contains `needle` (log lines arrive through a pipe, a moment after
    /// the response), at most `timeout`; returns the whole output either way.
    pub fn wait_for_output(&self, needle: &str, timeout: Duration) -> String {
        self.wait_for_count(needle, 1, timeout)
    }

    /// Waits until `needle` has appeared `count` times in the output, at most `timeout`.
    pub fn wait_for_count(&self, needle: &str, count: usize, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let output = self.output();
            if output.matches(needle).count() >= count || Instant::now() >= deadline {
                return output;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Waits, at most `timeout`, for the first output line that `parse` accepts (an address a
    /// banner prints, say); panics with the output when the process exits or time runs out.
    pub fn wait_for_line<T>(&mut self, parse: impl Fn(&str) -> Option<T>, timeout: Duration) -> T {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(found) = self.output().lines().find_map(&parse) {
                return found;
            }
            if let Some(status) = self.try_exit() {
                panic!("the process exited with {status}:\n{}", self.output());
            }
            assert!(
                Instant::now() < deadline,
                "the line did not appear in {timeout:?}:\n{}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Everything the process printed so far, stdout and stderr interleaved.
    pub fn output(&self) -> String {
        self.output.lock().expect("output lock").clone()
    }

    /// What the process wrote to stdout so far.
    pub fn stdout(&self) -> String {
        self.streams[0].lock().expect("stream lock").clone()
    }

    /// What the process wrote to stderr so far.
    pub fn stderr(&self) -> String {
        self.streams[1].lock().expect("stream lock").clone()
    }

    /// The exit status, if the process has exited.
    pub fn try_exit(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().expect("query child status")
    }

    /// Waits for the process to exit, at most `timeout`, and for all of its output.
    pub fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.try_exit() {
                for reader in self.readers.drain(..) {
                    reader.join().ok();
                }
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "handler did not exit in {timeout:?}:\n{}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Sends SIGTERM, as a platform stopping the process would.
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM failed");
    }
}

impl Drop for HandlerProcess {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            self.child.kill().ok();
            self.child.wait().ok();
        }
    }
}
