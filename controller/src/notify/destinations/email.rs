//! The email destination: one message per notice over SMTP, STARTTLS (or TLS from the first
//! byte) always required, AUTH when a username and password are given.
//!
//! The Message-ID is derived from the notice's id (`<id@launchplane>`), so a resent notice is
//! the same message to the receiver; `In-Reply-To` names the occurrence's first message and
//! `References` every earlier one (from [`Notice::thread`]), so mail clients thread an incident.

use super::text;
use crate::notify::destination::{
    BuildError, Destination, EmailConfig, Notice, NoticeKind, SendError, Sent, SmtpSecurity,
};
use futures::FutureExt;
use futures::future::BoxFuture;
use launchplane_api::resources::IncidentTransitionType;
use launchplane_providers::SecretString;
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, Message};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use std::time::Duration;

pub struct EmailDestination {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    to: Vec<Mailbox>,
    relay: String,
    /// The budget of one send once connected (lettre bounds only the connect on tokio).
    timeout: Duration,
    /// Kept only to scrub it from any error text a server or library might echo.
    password: Option<SecretString>,
}

impl EmailDestination {
    pub fn new(config: &EmailConfig) -> Result<Self, BuildError> {
        Self::with_timeout(config, Duration::from_secs(60))
    }

    /// A destination that gives up connecting after `timeout` (at most 10 s), and gives up on
    /// the whole exchange `timeout` after that.
    pub fn with_timeout(config: &EmailConfig, timeout: Duration) -> Result<Self, BuildError> {
        // reqwest and lettre are built without a default TLS provider: ring, as everywhere.
        launchplane_providers::install_crypto_provider();
        let host = config.host.trim();
        if host.is_empty() || host.contains(['/', ' ']) {
            return Err(BuildError(format!(
                "email.host {:?} is not a host name: give the relay's name or address (e.g. smtp.example.com)",
                config.host
            )));
        }
        if config.port == 0 {
            return Err(BuildError(
                "email.port is 0: give the relay's port (587 for STARTTLS, 465 for TLS)".into(),
            ));
        }
        let from: Mailbox = config.from.parse().map_err(|e| {
            BuildError(format!(
                "email.from {:?} is not an email address: {e}",
                config.from
            ))
        })?;
        if config.to.is_empty() {
            return Err(BuildError(
                "email.to is empty: name at least one recipient".into(),
            ));
        }
        let to = config
            .to
            .iter()
            .enumerate()
            .map(|(i, t)| {
                t.parse::<Mailbox>()
                    .map_err(|e| BuildError(format!("email.to[{i}] {t:?} is not an email address: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut tls = TlsParameters::builder(host.to_string());
        if let Some(pem) = config.extra_ca_pem.as_deref() {
            let cert = Certificate::from_pem(pem.as_bytes()).map_err(|e| {
                BuildError(format!(
                    "email.extraCaPem could not be read as PEM certificates ({e}): give the relay's CA certificate, -----BEGIN CERTIFICATE----- …"
                ))
            })?;
            tls = tls.add_root_certificate(cert);
        }
        let tls = tls
            .build_rustls()
            .map_err(|e| BuildError(format!("email: TLS settings for {host}: {e}")))?;
        let tls = match config.security {
            SmtpSecurity::StartTls => Tls::Required(tls),
            SmtpSecurity::Tls => Tls::Wrapper(tls),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(config.port)
            .tls(tls)
            .timeout(Some(timeout.min(Duration::from_secs(10))));
        match (&config.username, &config.password) {
            (Some(user), Some(password)) => {
                builder = builder.credentials(Credentials::new(user.clone(), password.expose().to_string()));
            }
            (None, None) => {}
            (Some(_), None) => {
                return Err(BuildError(
                    "email.username is set but no password: name the Secret key holding the SMTP password, or drop the username".into(),
                ));
            }
            (None, Some(_)) => {
                return Err(BuildError(
                    "email: a password is set but no username: give email.username".into(),
                ));
            }
        }
        Ok(EmailDestination {
            transport: builder.build(),
            from,
            to,
            relay: format!("{host}:{}", config.port),
            timeout: timeout + timeout.min(Duration::from_secs(10)),
            password: config.password.clone(),
        })
    }

    fn message(&self, notice: &Notice) -> Result<Message, SendError> {
        let mut builder = Message::builder()
            .from(self.from.clone())
            .subject(subject(notice))
            .message_id(Some(message_id(&notice.id)));
        for to in &self.to {
            builder = builder.to(to.clone());
        }
        let own = message_id(&notice.id);
        let earlier: Vec<&str> = notice
            .thread
            .iter()
            .map(String::as_str)
            .filter(|t| is_message_id(t) && *t != own)
            .collect();
        if let Some(first) = earlier.first() {
            builder = builder
                .in_reply_to((*first).to_string())
                .references(earlier.join(" "));
        }
        builder
            .header(ContentType::TEXT_PLAIN)
            .body(body(notice))
            .map_err(|e| SendError::Permanent {
                message: format!("the email for this notice could not be built: {e}"),
            })
    }

    async fn deliver(&self, notice: &Notice) -> Result<Sent, SendError> {
        let message = self.message(notice)?;
        match tokio::time::timeout(self.timeout, self.transport.send(message)).await {
            Ok(Ok(_)) => Ok(Sent {
                remote_id: Some(message_id(&notice.id)),
            }),
            Ok(Err(e)) => Err(self.send_error(&e)),
            // Which command was waiting is not known: possibly the answer to DATA.
            Err(_) => Err(SendError::Unknown {
                message: format!(
                    "the SMTP relay {} did not finish the exchange within {:?}; the message may have been delivered (a resend carries the same Message-ID)",
                    self.relay, self.timeout
                ),
            }),
        }
    }

    /// An SMTP failure as the engine reads it: 4xx retry, 5xx need a person, a connection that
    /// never opened retries, anything after (a timeout waiting for the answer to DATA, a
    /// dropped connection) may have delivered.
    fn send_error(&self, e: &lettre::transport::smtp::Error) -> SendError {
        let relay = &self.relay;
        let detail = self.scrub(&e.to_string());
        if e.is_transient() {
            SendError::Retryable {
                message: format!("the SMTP relay {relay} deferred the message: {detail}"),
                retry_after: None,
            }
        } else if e.is_permanent() {
            let hint = match e.status().map(|c| c.to_string()) {
                Some(c) if c == "535" || c == "530" => {
                    ": check the username and password Secret, and that the relay allows AUTH over TLS"
                }
                _ => ": check the from and to addresses and the relay's policy",
            };
            SendError::Permanent {
                message: format!("the SMTP relay {relay} refused the message: {detail}{hint}"),
            }
        } else if let Some(cert) = certificate_error(e) {
            SendError::Permanent {
                message: format!(
                    "the SMTP relay {relay} presented a certificate Launchplane does not trust ({cert}): give the relay's CA in email.caSecretRef, or fix the relay's certificate and host name"
                ),
            }
        } else if e.is_client() || e.is_tls() {
            SendError::Permanent {
                message: format!(
                    "the SMTP relay {relay} could not be used securely: {detail}: Launchplane sends only over TLS (STARTTLS or TLS from the first byte) and authenticates only over TLS"
                ),
            }
        } else if detail.starts_with("Connection error") {
            SendError::Retryable {
                message: format!("the SMTP relay {relay} could not be reached: {detail}"),
                retry_after: None,
            }
        } else {
            SendError::Unknown {
                message: format!(
                    "the SMTP relay {relay} broke off or did not answer in time{}; the message may have been delivered (a resend carries the same Message-ID): {detail}",
                    if e.is_timeout() { " (timeout)" } else { "" }
                ),
            }
        }
    }

    fn scrub(&self, text: &str) -> String {
        match &self.password {
            Some(p) if !p.is_empty() => text.replace(p.expose(), "<redacted>"),
            _ => text.to_string(),
        }
    }
}

impl Destination for EmailDestination {
    fn type_name(&self) -> &'static str {
        "email"
    }

    fn deduplicates(&self) -> bool {
        true
    }

    fn send<'a>(&'a self, notice: &'a Notice) -> BoxFuture<'a, Result<Sent, SendError>> {
        self.deliver(notice).boxed()
    }
}

/// `<id@launchplane>` with every character an RFC 5322 msg-id cannot hold (and `=`) written as
/// `=XX`: stable, and two different ids never give the same Message-ID.
pub fn message_id(id: &str) -> String {
    let mut left = String::with_capacity(id.len());
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.') {
            left.push(char::from(b));
        } else {
            left.push_str(&format!("={b:02X}"));
        }
    }
    let left = left.trim_matches('.').replace("..", ".=2E");
    format!("<{left}@launchplane>")
}

fn is_message_id(s: &str) -> bool {
    s.starts_with('<') && s.ends_with('>') && s.contains('@') && !s.contains(char::is_whitespace)
}

pub fn subject(notice: &Notice) -> String {
    let state = match notice.kind {
        NoticeKind::Transition(IncidentTransitionType::Resolved) => "Resolved".to_string(),
        NoticeKind::Transition(IncidentTransitionType::Opened) => "Opened".to_string(),
        NoticeKind::Transition(IncidentTransitionType::Reopened) => "Reopened".to_string(),
        NoticeKind::Transition(IncidentTransitionType::VerdictChanged) => {
            format!("{} (now {})", notice.state.as_str(), notice.verdict.as_str())
        }
        NoticeKind::Repeat(n) => format!("{} (reminder {n})", notice.state.as_str()),
    };
    format!(
        "[Launchplane] {state}: {} [{}]",
        text::subject(notice),
        notice.severity.as_str()
    )
}

pub fn body(notice: &Notice) -> String {
    let i = &notice.incident;
    let evidence = if notice.message.trim().is_empty() {
        "(no message)".to_string()
    } else {
        text::clip(&notice.message, 16_000)
    };
    format!(
        "Launchplane incident {what}.\n\n\
         Product: {product}\n{kind}: {lane}\nCheck: {check}\n\
         Severity: {severity}\nVerdict: {verdict}\nState: {state}\nAt: {time}\n\
         Incident: {ns}/{name} (occurrence {occurrence})\n\n\
         Evidence:\n{evidence}\n",
        what = text::what(notice),
        product = i.product,
        kind = i.kind,
        lane = i.lane,
        check = i.check,
        severity = notice.severity.as_str(),
        verdict = notice.verdict.as_str(),
        state = notice.state.as_str(),
        time = notice.time,
        ns = i.namespace,
        name = i.name,
        occurrence = notice.occurrence,
    )
}

/// The TLS certificate problem under an SMTP error, if that is what it is: lettre reports a
/// refused certificate as a connection error, which retrying never mends.
fn certificate_error(e: &lettre::transport::smtp::Error) -> Option<String> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(cause) = source {
        let rustls_error = cause.downcast_ref::<rustls::Error>().or_else(|| {
            cause
                .downcast_ref::<std::io::Error>()
                .and_then(|io| io.get_ref())
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        });
        if let Some(err @ (rustls::Error::InvalidCertificate(_) | rustls::Error::NoCertificatesPresented)) =
            rustls_error
        {
            return Some(err.to_string());
        }
        source = cause.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_ids_are_stable_valid_and_distinct() {
        assert_eq!(message_id("abc-1.2_3"), "<abc-1.2_3@launchplane>");
        assert_eq!(message_id("uid/1:2"), "<uid=2F1=3A2@launchplane>");
        assert_ne!(message_id("a/b"), message_id("a=2Fb"));
        assert_eq!(message_id("a/b"), message_id("a/b"));
        assert!(is_message_id(&message_id("x y")));
    }
}
