//! Outgoing mail: SMTP when `SWIFTACARE_SMTP_URL` is set, otherwise `.eml` files under
//! `SWIFTACARE_DATA_DIR/mail/` (the embedded default), both through `lettre`.
//!
//! Messages carry links and tenant names only — never health information. Nothing about a
//! message (recipient, subject, token) is logged; failures are logged by kind.

use std::path::PathBuf;

use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::AsyncSmtpTransport;
use lettre::{AsyncFileTransport, AsyncTransport, Message, Tokio1Executor};

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("invalid address: {0}")]
    Address(String),
    #[error("could not build the message: {0}")]
    Build(String),
    #[error("delivery failed: {0}")]
    Delivery(String),
}

pub enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Files(AsyncFileTransport<Tokio1Executor>, PathBuf),
}

pub struct Mailer {
    from: Mailbox,
    transport: Transport,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.transport {
            Transport::Smtp(_) => f.write_str("Mailer(smtp)"),
            Transport::Files(_, dir) => write!(f, "Mailer(files: {})", dir.display()),
        }
    }
}

impl Mailer {
    /// `smtp://[user:pass@]host[:port][?tls=required|opportunistic]` or `smtps://…` (lettre's
    /// URL format), else files in `dir`.
    pub fn new(smtp_url: Option<&str>, from: &str, dir: PathBuf) -> Result<Mailer, MailError> {
        let from: Mailbox = from
            .parse()
            .map_err(|e| MailError::Address(format!("{e}")))?;
        let transport = match smtp_url {
            Some(url) => Transport::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|e| MailError::Delivery(format!("SMTP URL: {e}")))?
                    .build(),
            ),
            None => Transport::Files(AsyncFileTransport::new(&dir), dir),
        };
        Ok(Mailer { from, transport })
    }

    pub async fn send(&self, to: &str, subject: &str, text: String) -> Result<(), MailError> {
        self.send_with_id(to, subject, text, None).await
    }

    /// As [`Mailer::send`], with a fixed `Message-ID` (so a receiver can spot a duplicate).
    pub async fn send_with_id(
        &self,
        to: &str,
        subject: &str,
        text: String,
        message_id: Option<String>,
    ) -> Result<(), MailError> {
        let to: Mailbox = to.parse().map_err(|e| MailError::Address(format!("{e}")))?;
        let message = Message::builder()
            .message_id(message_id.map(|id| format!("<{id}>")))
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(text)
            .map_err(|e| MailError::Build(e.to_string()))?;
        let result = match &self.transport {
            Transport::Smtp(t) => t
                .send(message)
                .await
                .map(|_| ())
                .map_err(|e| MailError::Delivery(e.to_string())),
            Transport::Files(t, dir) => {
                tokio::fs::create_dir_all(dir)
                    .await
                    .map_err(|e| MailError::Delivery(e.to_string()))?;
                t.send(message)
                    .await
                    .map(|_| ())
                    .map_err(|e| MailError::Delivery(e.to_string()))
            }
        };
        if let Err(e) = &result {
            // The error text can quote the recipient (SMTP replies often do): log its kind only.
            let kind = match e {
                MailError::Address(_) => "address",
                MailError::Build(_) => "build",
                MailError::Delivery(_) => "delivery",
            };
            tracing::warn!(kind, "mail delivery failed");
        }
        result
    }
}
