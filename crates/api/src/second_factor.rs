//! Second factors for staff logins: TOTP (RFC 6238: SHA-1, 6 digits, 30-second steps, what
//! every authenticator app reads) and one-time recovery codes.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use openssl::symm::{decrypt_aead, encrypt_aead, Cipher};
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, Secret, TOTP};

use crate::error::ApiError;

/// The key that seals TOTP secrets in the database, derived from the server secret (the JWT
/// secret every node shares): a copy of the database alone — a backup — holds no usable seed.
/// Changing the server secret makes the stored seeds unreadable: their owners' logins then fail
/// until an admin resets their second factor.
#[derive(Clone)]
pub struct SealKey([u8; 32]);

impl SealKey {
    /// The key of this server secret.
    pub fn derive(server_secret: &[u8]) -> SealKey {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(server_secret)
            .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
        mac.update(b"helpline: TOTP secrets at rest, v1");
        SealKey(mac.finalize().into_bytes().into())
    }

    /// `v1:` + base64 of nonce, AES-256-GCM ciphertext and tag.
    pub fn seal(&self, secret: &str) -> Result<String, ApiError> {
        let mut nonce = [0u8; 12];
        rand::rng().fill_bytes(&mut nonce);
        let mut tag = [0u8; 16];
        let sealed = encrypt_aead(
            Cipher::aes_256_gcm(),
            &self.0,
            Some(&nonce),
            b"totp",
            secret.as_bytes(),
            &mut tag,
        )
        .map_err(|e| ApiError::Internal(format!("sealing a TOTP secret: {e}")))?;
        let mut all = nonce.to_vec();
        all.extend_from_slice(&sealed);
        all.extend_from_slice(&tag);
        Ok(format!("v1:{}", STANDARD.encode(all)))
    }

    /// The secret a [`SealKey::seal`] kept.
    pub fn open(&self, stored: &str) -> Result<String, ApiError> {
        let broken = || {
            ApiError::Internal(
                "a stored TOTP secret cannot be opened (was the server secret changed?)".into(),
            )
        };
        let raw = stored
            .strip_prefix("v1:")
            .and_then(|b| STANDARD.decode(b).ok())
            .filter(|r| r.len() > 28)
            .ok_or_else(broken)?;
        let (nonce, rest) = raw.split_at(12);
        let (sealed, tag) = rest.split_at(rest.len() - 16);
        let plain = decrypt_aead(
            Cipher::aes_256_gcm(),
            &self.0,
            Some(nonce),
            b"totp",
            sealed,
            tag,
        )
        .map_err(|_| broken())?;
        String::from_utf8(plain).map_err(|_| broken())
    }
}

/// Seconds per code.
const STEP: u64 = 30;

/// Recovery codes handed out at enrolment.
pub const RECOVERY_CODES: usize = 10;

/// A new shared secret (160 random bits), base32 as authenticators take it.
pub fn new_secret() -> String {
    Secret::generate_secret().to_encoded().to_string()
}

fn totp(secret: &str, account: &str) -> Result<TOTP, ApiError> {
    let bytes = Secret::Encoded(secret.to_owned())
        .to_bytes()
        .map_err(|e| ApiError::Internal(format!("a stored TOTP secret is unreadable: {e:?}")))?;
    TOTP::new(
        Algorithm::SHA1,
        6,
        1,
        STEP,
        bytes,
        Some("Helpline".to_owned()),
        account.to_owned(),
    )
    .map_err(|e| ApiError::Internal(format!("TOTP: {e}")))
}

/// The `otpauth://` URI of a secret (what a QR code carries), for the account `account`.
pub fn otpauth_uri(secret: &str, account: &str) -> Result<String, ApiError> {
    Ok(totp(secret, account)?.get_url())
}

/// The time step `code` is valid for at `now` (Unix seconds), allowing one step of clock
/// drift either way; `None` when it is not a current code. Compared in constant time.
pub fn step_of(secret: &str, code: &str, now: i64) -> Result<Option<i64>, ApiError> {
    let code = code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    let t = totp(secret, "check")?;
    let now = u64::try_from(now).unwrap_or(0);
    let mut found = None;
    for at in [now.saturating_sub(STEP), now, now + STEP] {
        let same: bool = t.generate(at).as_bytes().ct_eq(code.as_bytes()).into();
        if same {
            found = i64::try_from(at / STEP).ok();
        }
    }
    Ok(found)
}

/// Fresh recovery codes (80 random bits each, as `xxxx-xxxx-xxxx-xxxx` in base32), shown once.
pub fn new_recovery_codes() -> Vec<String> {
    (0..RECOVERY_CODES)
        .map(|_| {
            let mut raw = [0u8; 10];
            rand::rng().fill_bytes(&mut raw);
            let text = base32::encode(base32::Alphabet::Rfc4648Lower { padding: false }, &raw);
            text.as_bytes()
                .chunks(4)
                .map(|c| String::from_utf8_lossy(c).into_owned())
                .collect::<Vec<_>>()
                .join("-")
        })
        .collect()
}

/// How a recovery code is kept: SHA-256 of its letters (case and dashes ignored). A plain hash
/// suffices: each code is 80 random bits, beyond any guessing.
pub fn hash_recovery_code(code: &str) -> String {
    let letters: String = code
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    hex::encode(Sha256::digest(letters.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_is_good_for_its_step_and_the_next_and_previous_only() {
        let secret = new_secret();
        let t = totp(&secret, "a").unwrap_or_else(|e| panic!("{e}"));
        let now = 1_800_000_000i64;
        let code = t.generate(1_800_000_000);
        assert_eq!(step_of(&secret, &code, now).ok().flatten(), Some(now / 30));
        assert!(step_of(&secret, &code, now + 30).ok().flatten().is_some());
        assert!(step_of(&secret, &code, now + 90).ok().flatten().is_none());
        assert!(step_of(&secret, "12345", now).ok().flatten().is_none());
        assert!(step_of(&secret, "abcdef", now).ok().flatten().is_none());
    }

    #[test]
    fn sealed_secrets_open_only_with_their_key() {
        let key = SealKey::derive(b"server secret one");
        let secret = new_secret();
        let stored = key.seal(&secret).unwrap_or_default();
        assert!(stored.starts_with("v1:") && !stored.contains(&secret));
        assert_eq!(key.open(&stored).ok(), Some(secret.clone()));
        assert_ne!(
            key.seal(&secret).ok(),
            Some(stored.clone()),
            "a fresh nonce each time"
        );
        assert!(SealKey::derive(b"server secret two").open(&stored).is_err());
        let mut tampered = stored.into_bytes();
        let last = tampered.len() - 3;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        assert!(key
            .open(&String::from_utf8(tampered).unwrap_or_default())
            .is_err());
        assert!(key.open(&secret).is_err(), "an unsealed value is refused");
    }

    #[test]
    fn recovery_codes_are_distinct_and_hash_the_same_however_typed() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODES);
        assert_eq!(codes[0].len(), 19, "{}", codes[0]);
        let mut unique = codes.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), codes.len());
        assert_eq!(
            hash_recovery_code(&codes[0]),
            hash_recovery_code(&codes[0].to_uppercase().replace('-', " "))
        );
    }
}
