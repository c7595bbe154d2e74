//! A real SMTP server for the email tests: `scripts/smtp-server.sh` (aiosmtpd, installed from
//! PyPI into `.tools/` the first time) on a free loopback port, with STARTTLS (or TLS from the
//! first byte) and AUTH required and a self-signed certificate for 127.0.0.1, writing what it
//! accepts to a folder this helper reads.
//!
//! [`SmtpServer::start`] answers `Ok(None)` after printing `SKIPPED` only when python3 is
//! absent; anything else that stops the server (pip cannot install, openssl missing) is an
//! error, so CI never skips silently.

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

/// How the server is secured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain, upgraded with STARTTLS (required before MAIL and AUTH).
    StartTls,
    /// TLS from the first byte.
    Implicit,
}

/// A message the server accepted.
#[derive(Clone, Debug)]
pub struct ReceivedMail {
    /// The message as received (headers and body).
    pub raw: String,
    pub mail_from: String,
    pub rcpt_tos: Vec<String>,
    /// Who authenticated (none if the client did not).
    pub auth_login: Option<String>,
    /// Whether the session was under TLS when the message came.
    pub tls: bool,
}

impl ReceivedMail {
    /// The first value of header `name` (case-insensitive, unfolded).
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.raw.split("\r\n\r\n").next().unwrap_or_default();
        let mut value: Option<String> = None;
        for line in head.split("\r\n") {
            if let Some(v) = value.as_mut()
                && (line.starts_with(' ') || line.starts_with('\t'))
            {
                v.push(' ');
                v.push_str(line.trim());
                continue;
            }
            if value.is_some() {
                break;
            }
            if let Some((k, v)) = line.split_once(':')
                && k.eq_ignore_ascii_case(name)
            {
                value = Some(v.trim().to_string());
            }
        }
        value
    }
}

/// The running server. Dropping it stops it (the child this helper started, by its handle).
pub struct SmtpServer {
    child: Child,
    stdin: Option<ChildStdin>,
    pub port: u16,
    folder: tempfile::TempDir,
    pub user: String,
    pub password: String,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/smtp-server.sh")
}

fn python_present() -> bool {
    Command::new("python3")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl SmtpServer {
    /// Start a server accepting `user`/`password`. Blocking (it waits for the server to listen,
    /// installing aiosmtpd first if needed): call it from `spawn_blocking` or before the
    /// runtime is busy.
    pub fn start(tls: SmtpTls, user: &str, password: &str) -> Result<Option<SmtpServer>, String> {
        if !python_present() {
            eprintln!("\n*** SKIPPED: the SMTP server needs python3, which is not on this machine ***\n");
            return Ok(None);
        }
        let folder = tempfile::tempdir().map_err(|e| format!("temp folder: {e}"))?;
        let password_file = folder.path().join("password");
        std::fs::write(&password_file, password).map_err(|e| format!("password file: {e}"))?;
        // A port can be taken between probing and binding: try a few.
        let mut last = String::new();
        for _ in 0..3 {
            let port = free_port().map_err(|e| format!("free port: {e}"))?;
            // A file, not a pipe: a pipe nobody reads would stall the server once full.
            let log_path = folder.path().join("server.log");
            let log = std::fs::File::create(&log_path).map_err(|e| format!("server log: {e}"))?;
            let mut command = Command::new("bash");
            command
                .arg(script())
                .args(["--port", &port.to_string()])
                .args(["--user", user])
                .arg("--password-file")
                .arg(&password_file)
                .arg("--folder")
                .arg(folder.path().join("server"))
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(log);
            if tls == SmtpTls::Implicit {
                command.arg("--implicit-tls");
            }
            let mut child = command
                .spawn()
                .map_err(|e| format!("starting {}: {e}", script().display()))?;
            let stdin = child.stdin.take();
            let stdout = child.stdout.take();
            let ready = stdout.and_then(|out| {
                BufReader::new(out)
                    .lines()
                    .map_while(Result::ok)
                    .find(|l| l.starts_with("READY "))
            });
            if ready.is_some() {
                let server = SmtpServer {
                    child,
                    stdin,
                    port,
                    folder,
                    user: user.into(),
                    password: password.into(),
                };
                return Ok(Some(server));
            }
            drop(stdin);
            let _ = child.kill();
            let _ = child.wait();
            last = std::fs::read_to_string(&log_path).unwrap_or_default();
        }
        Err(format!("the SMTP server did not start: {last}"))
    }

    /// The server's certificate (PEM): the CA a client trusts to reach it.
    pub fn ca_pem(&self) -> String {
        std::fs::read_to_string(self.folder.path().join("server/cert.pem")).unwrap_or_default()
    }

    fn mail_dir(&self) -> PathBuf {
        self.folder.path().join("server/mail")
    }

    /// Make the server answer the next DATA with `reply` (e.g. `451 4.3.0 Try later`), storing
    /// nothing; `delay N` stores the message and answers 250 only after N seconds.
    pub fn fault_next_data(&self, reply: &str) -> std::io::Result<()> {
        std::fs::create_dir_all(self.mail_dir())?;
        std::fs::write(self.mail_dir().join("fault-next"), reply)
    }

    /// Every message accepted so far, in order.
    pub fn messages(&self) -> Vec<ReceivedMail> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(self.mail_dir())
            .map(|d| {
                d.filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
            .into_iter()
            .filter_map(|eml| {
                let raw = std::fs::read_to_string(&eml).ok()?;
                let meta: Value =
                    serde_json::from_str(&std::fs::read_to_string(eml.with_extension("json")).ok()?).ok()?;
                Some(ReceivedMail {
                    raw,
                    mail_from: meta["mail_from"].as_str().unwrap_or_default().into(),
                    rcpt_tos: meta["rcpt_tos"]
                        .as_array()
                        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
                        .unwrap_or_default(),
                    auth_login: meta["auth_login"].as_str().map(str::to_string),
                    tls: meta["tls"].as_bool().unwrap_or(false),
                })
            })
            .collect()
    }

    /// Wait until at least `n` messages arrived (or `timeout` passed); what arrived.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<ReceivedMail> {
        let start = Instant::now();
        loop {
            let got = self.messages();
            if got.len() >= n || start.elapsed() > timeout {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
