//! A real SMTP server for tests: aiosmtpd, installed from PyPI into the workspace's tools folder
//! on first use and run on a free loopback port, which reports every message it receives.
//!
//! (The Rust server `mailin-embedded` would not do: it needs rustls with its default features,
//! which turns on a second crypto provider for every crate of a workspace build and leaves
//! rustls without a default one.)

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::Duration;

use crate::error::{Error, Result};
use crate::process::free_port;

/// The server: accepts every recipient but `refused@...` (550) and `busy@...` (451), and
/// prints each message it receives as one JSON line; it stops when its stdin closes, so it
/// never outlives the test process.
const SERVER: &str = r#"
import json, sys
from aiosmtpd.controller import Controller

class Handler:
    def __init__(self):
        self.received = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("refused@"):
            return "550 5.1.1 <%s>: Recipient address rejected" % address
        if address.startswith("busy@"):
            return "451 4.2.0 Mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.received += 1
        print(json.dumps({
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "data": envelope.content.decode("utf-8", "replace"),
        }), flush=True)
        return "250 2.0.0 Ok: queued as TEST%04d" % self.received

controller = Controller(Handler(), hostname="127.0.0.1", port=int(sys.argv[1]))
controller.start()
print(json.dumps({"ready": True}), flush=True)
sys.stdin.read()
controller.stop()
"#;

/// One message the server accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMail {
    /// The envelope sender.
    pub mail_from: String,
    /// The envelope recipients.
    pub rcpt_tos: Vec<String>,
    /// The message as sent (RFC 5322: headers and bodies, possibly encoded).
    pub data: String,
}

/// A running SMTP server, stopped on drop. Recipients starting `refused@` are refused for good
/// (550), `busy@` for now (451); every reply to DATA reads `250 2.0.0 Ok: queued as TEST0001`,
/// counting up.
#[derive(Debug)]
pub struct TestSmtp {
    port: u16,
    received: Receiver<String>,
    child: Child,
    // Held open: the server stops when it closes.
    _stdin: ChildStdin,
}

impl Drop for TestSmtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl TestSmtp {
    /// Installs aiosmtpd (the first time) and starts it on a free port.
    pub fn start() -> Result<TestSmtp> {
        let python = crate::python::install_tool(
            "aiosmtpd-venv",
            &["aiosmtpd==1.4.6"],
            "import aiosmtpd.controller",
        )?;
        let port = free_port()?;
        let mut child = Command::new(python)
            .args(["-c", SERVER, &port.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|source| Error::Io {
                context: "starting aiosmtpd".into(),
                source,
            })?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            let _ = child.kill();
            return Err(Error::Io {
                context: "aiosmtpd's pipes".into(),
                source: std::io::Error::other("not captured"),
            });
        };
        let (lines, received) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if lines.send(line).is_err() {
                    return;
                }
            }
        });
        let waited = Duration::from_secs(30);
        let smtp = TestSmtp {
            port,
            received,
            child,
            _stdin: stdin,
        };
        match smtp.received.recv_timeout(waited) {
            Ok(line) if line.contains("ready") => Ok(smtp),
            other => Err(Error::Timeout {
                what: "aiosmtpd".into(),
                waited,
                log: format!("{other:?}"),
            }),
        }
    }

    /// The port it listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The next message received, waiting at most `timeout`; `None` when none came.
    pub fn next_message(&self, timeout: Duration) -> Option<ReceivedMail> {
        match self.received.recv_timeout(timeout) {
            Ok(line) => Some(parse(&line)),
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => None,
        }
    }

    /// A message already received, without waiting.
    pub fn try_next_message(&self) -> Option<ReceivedMail> {
        self.received.try_recv().ok().map(|line| parse(&line))
    }
}

fn parse(line: &str) -> ReceivedMail {
    let json: serde_json::Value = serde_json::from_str(line).unwrap_or_default();
    let text = |value: &serde_json::Value| value.as_str().unwrap_or_default().to_owned();
    ReceivedMail {
        mail_from: text(&json["mail_from"]),
        rcpt_tos: json["rcpt_tos"]
            .as_array()
            .map(|all| all.iter().map(text).collect())
            .unwrap_or_default(),
        data: text(&json["data"]),
    }
}
