//! SMS reminders: the provider interface, and its webhook implementation.
//!
//! A tenant points `sms_webhook_url` at its SMS gateway (its own service, or an adapter in
//! front of a carrier's API). Each text is one `POST` of
//! `{"to": "+14165550123", "text": "…", "message_id": "…"}` with the headers
//! `Swiftacare-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">` (keyed with
//! the tenant's `sms_webhook_secret`) and `Idempotency-Key: <message_id>`. Any 2xx is
//! delivered; anything else is recorded as failed and not retried (like e-mail: a retry could
//! not know whether the first attempt reached the phone).
//!
//! The URL is the tenant's to choose, so where it may point is checked here, at send time:
//! the host is resolved once, every address must be public (not loopback, private, link-local,
//! shared or multicast) unless the operator allows private gateways
//! (`SWIFTACARE_SMS_ALLOW_PRIVATE`), and the request is pinned to the addresses checked — a
//! second, different DNS answer cannot redirect it. Redirects are not followed.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use domain::identity::tokens::TokenSigner;
use domain::scheduling::reminders::SmsGateway;
use futures::future::BoxFuture;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// One text to send.
#[derive(Debug, Clone, Copy)]
pub struct Sms<'a> {
    /// E.164.
    pub to: &'a str,
    pub text: &'a str,
    /// Stable per delivery, so a gateway can drop a duplicate.
    pub message_id: &'a str,
    pub gateway: &'a SmsGateway,
}

/// Sends texts. `Err` is a short reason code (stored in the delivery log and used as a metric
/// label), never the number or the text.
pub trait SmsSender: Send + Sync {
    fn send<'a>(&'a self, sms: Sms<'a>) -> BoxFuture<'a, Result<(), &'static str>>;
}

/// [`SmsSender`] that POSTs to the tenant's gateway (see the module docs).
pub struct WebhookSms {
    signer: Arc<TokenSigner>,
    allow_private: bool,
    timeout: Duration,
}

impl WebhookSms {
    pub fn new(signer: Arc<TokenSigner>, allow_private: bool) -> WebhookSms {
        WebhookSms {
            signer,
            allow_private,
            timeout: Duration::from_secs(10),
        }
    }

    async fn post(&self, sms: Sms<'_>) -> Result<(), &'static str> {
        let url = url::Url::parse(&sms.gateway.url).map_err(|_| "sms_bad_url")?;
        let host = url.host_str().ok_or("sms_bad_url")?.to_owned();
        let port = url.port_or_known_default().ok_or("sms_bad_url")?;
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), port))
            .await
            .map_err(|_| "sms_unresolvable")?
            .collect();
        if addrs.is_empty() {
            return Err("sms_unresolvable");
        }
        if !self.allow_private && !addrs.iter().all(|a| is_public(a.ip())) {
            return Err("sms_address_refused");
        }
        let secret = self
            .signer
            .sealer()
            .open(&sms.gateway.sealed_secret)
            .map_err(|_| "sms_secret_unreadable")?;
        let body = serde_json::to_vec(&serde_json::json!({
            "to": sms.to,
            "text": sms.text,
            "message_id": sms.message_id,
        }))
        .map_err(|_| "sms_encode")?;
        let t = chrono::Utc::now().timestamp();
        let signature = sign(&secret, t, &body)?;
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(self.timeout)
            .resolve_to_addrs(&host, &addrs)
            .build()
            .map_err(|_| "sms_client")?;
        let response = client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("Swiftacare-Signature", format!("t={t},v1={signature}"))
            .header("Idempotency-Key", sms.message_id)
            .body(body)
            .send()
            .await
            .map_err(|_| "sms_unreachable")?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err("sms_rejected")
        }
    }
}

impl SmsSender for WebhookSms {
    fn send<'a>(&'a self, sms: Sms<'a>) -> BoxFuture<'a, Result<(), &'static str>> {
        Box::pin(async move {
            let outcome = self.post(sms).await;
            metrics::counter!("swiftacare_sms_sent_total", "outcome" => outcome.err().unwrap_or("sent"))
                .increment(1);
            outcome
        })
    }
}

/// Hex HMAC-SHA256 of `"<t>.<body>"`.
pub fn sign(secret: &[u8], t: i64, body: &[u8]) -> Result<String, &'static str> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).map_err(|_| "sms_secret_unreadable")?;
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Ok(hex::encode(mac.finalize().into_bytes()))
}

/// Reachable on the public internet: not loopback, unspecified, private (RFC 1918, IPv6 ULA),
/// link-local, shared (RFC 6598), documentation, benchmarking, broadcast or multicast.
fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_unspecified()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_multicast()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 198 && (18..20).contains(&b))
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || first == 0x2001 && v6.segments()[1] == 0x0db8)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_are_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
        ] {
            let ip: IpAddr = private.parse().expect("ip");
            assert!(!is_public(ip), "{private}");
        }
        for public in ["1.1.1.1", "203.0.114.1", "2606:4700::1111"] {
            let ip: IpAddr = public.parse().expect("ip");
            assert!(is_public(ip), "{public}");
        }
    }

    #[test]
    fn signature_is_hmac_sha256_of_time_and_body() {
        // Computed independently (Python: hmac.new(b"Jefe", b"0.what do ya want for
        // nothing?", hashlib.sha256).hexdigest()).
        let tag = sign(b"Jefe", 0, b"what do ya want for nothing?").expect("sign");
        assert_eq!(
            tag,
            "37f471929915ccd2cbbe79feb84ffcff4f2bb25e15fc41c2506687331ae179cc"
        );
        assert_ne!(
            tag,
            sign(b"Jefe", 1, b"what do ya want for nothing?").expect("sign")
        );
    }
}
