//! GitHub's delivery signature: `X-Hub-Signature-256: sha256=<hex>`, the HMAC-SHA256 of the raw
//! body under the webhook's secret, compared in constant time (`hmac`'s `verify_slice`).

use hmac::{Hmac, Mac};
use sha2::Sha256;
use thiserror::Error;

/// Why a delivery's signature was refused. Names no secret and no digest.
#[derive(Clone, Copy, Debug, Error, PartialEq, Eq)]
pub enum SignatureError {
    #[error("the X-Hub-Signature-256 header is missing")]
    Missing,
    #[error("the X-Hub-Signature-256 header is not `sha256=` followed by 64 hex digits")]
    Malformed,
    #[error("the X-Hub-Signature-256 signature does not match the body under the webhook secret")]
    Mismatch,
}

/// Check `header` (the `X-Hub-Signature-256` value) against `body` under `secret`.
pub fn verify(secret: &[u8], header: Option<&str>, body: &[u8]) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let hex_digest = header
        .trim()
        .strip_prefix("sha256=")
        .ok_or(SignatureError::Malformed)?;
    if hex_digest.len() != 64 {
        return Err(SignatureError::Malformed);
    }
    let expected = hex::decode(hex_digest).map_err(|_| SignatureError::Malformed)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).map_err(|_| SignatureError::Mismatch)?;
    mac.update(body);
    mac.verify_slice(&expected).map_err(|_| SignatureError::Mismatch)
}

/// The header value GitHub would send for `body` under `secret` (tests and the GitHub fake).
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    // HMAC takes a key of any length; this cannot fail.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(mac) => mac,
        Err(_) => return String::new(),
    };
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn githubs_documented_example_verifies() {
        // GitHub's docs: secret "It's a Secret to Everybody", payload "Hello, World!".
        let header = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        assert_eq!(sign(b"It's a Secret to Everybody", b"Hello, World!"), header);
        assert_eq!(
            verify(b"It's a Secret to Everybody", Some(header), b"Hello, World!"),
            Ok(())
        );
    }

    #[test]
    fn a_wrong_secret_body_or_header_is_refused() {
        let good = sign(b"s3cret", b"{}");
        assert_eq!(
            verify(b"other", Some(&good), b"{}"),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(b"s3cret", Some(&good), b"{ }"),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(verify(b"s3cret", None, b"{}"), Err(SignatureError::Missing));
        for bad in [
            "",
            "sha1=abc",
            "sha256=zz",
            &good[..good.len() - 1],
            &good.replace("sha256=", ""),
        ] {
            assert_eq!(
                verify(b"s3cret", Some(bad), b"{}"),
                Err(SignatureError::Malformed),
                "{bad}"
            );
        }
        let mut flipped = good.clone();
        flipped.replace_range(good.len() - 1.., if good.ends_with('0') { "1" } else { "0" });
        assert_eq!(
            verify(b"s3cret", Some(&flipped), b"{}"),
            Err(SignatureError::Mismatch)
        );
    }
}
