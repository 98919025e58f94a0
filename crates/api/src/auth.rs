//! Authentication: argon2id passwords, HS256 access tokens (JWT), hashed integration tokens,
//! and the [`Auth`] extractor that turns a request's `Authorization` header into a
//! [`Principal`]. Handlers never look the caller up by hand.

use std::future::Future;
use std::pin::Pin;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use helpline_domain::access::{Permission, Principal};
use helpline_domain::ids::{TokenId, UserId};
use helpline_domain::user::{Actor, Role};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::app::AppState;
use crate::error::ApiError;

/// Hashes a password with argon2id and a random salt (PHC string).
pub fn hash_password(password: &str) -> Result<String, ApiError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ApiError::Internal(format!("password hashing failed: {e}")))
}

/// Checks a password against a PHC string, in constant time.
pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A hash to verify against when the user does not exist, so that a login for an unknown
/// name takes as long as one with a wrong password.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password("no such user, no such password").unwrap_or_default())
}

/// The claims of an access token.
#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: String,
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
    /// Issued at (seconds).
    pub iat: i64,
    /// Expires at (seconds).
    pub exp: i64,
    /// This token's own id: what a logout puts on the deny list.
    pub jti: String,
    /// Good only for setting up a second factor (one is required and the account has none).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub enrol: bool,
}

/// What a valid access token says: whose it is, its id, and until when it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The user.
    pub user: UserId,
    /// The token's id (`jti`).
    pub jti: String,
    /// When it was issued.
    pub issued_at: DateTime<Utc>,
    /// Its expiry.
    pub expires_at: DateTime<Utc>,
    /// Good only for setting up a second factor.
    pub enrolment_only: bool,
}

/// Signs and checks access tokens.
#[derive(Clone)]
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    audience: String,
    ttl_seconds: u64,
}

impl JwtKeys {
    /// Keys from the shared secret; tokens must carry our `iss` and `aud` and be unexpired.
    pub fn new(secret: &[u8], issuer: &str, audience: &str, ttl_seconds: u64) -> Self {
        // Only HS256: a token claiming `none` or another algorithm is refused.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub", "jti"]);
        validation.leeway = 0;
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            ttl_seconds,
        }
    }

    /// A fresh token for `user`, and its lifetime in seconds.
    /// A new access token for `user`; `enrolment_only` limits it to setting up a second factor.
    pub fn issue(
        &self,
        user: UserId,
        now: DateTime<Utc>,
        enrolment_only: bool,
    ) -> Result<(String, u64), ApiError> {
        let claims = Claims {
            sub: user.to_string(),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            iat: now.timestamp(),
            exp: now.timestamp() + i64::try_from(self.ttl_seconds).unwrap_or(3600),
            jti: uuid::Uuid::now_v7().simple().to_string(),
            enrol: enrolment_only,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map(|t| (t, self.ttl_seconds))
            .map_err(|e| ApiError::Internal(format!("token signing failed: {e}")))
    }

    /// The session a valid token names (not yet checked against the deny list).
    pub fn check(&self, token: &str) -> Result<Session, ApiError> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|e| ApiError::Unauthorized(format!("invalid access token: {e}")))?;
        let bad = |what: &str| ApiError::Unauthorized(format!("invalid access token: bad {what}"));
        let c = data.claims;
        if c.jti.is_empty() || c.jti.len() > 64 {
            return Err(bad("id"));
        }
        Ok(Session {
            user: UserId::parse(&c.sub).map_err(|_| bad("subject"))?,
            jti: c.jti,
            issued_at: DateTime::from_timestamp(c.iat, 0).ok_or_else(|| bad("issue time"))?,
            expires_at: DateTime::from_timestamp(c.exp, 0).ok_or_else(|| bad("expiry"))?,
            enrolment_only: c.enrol,
        })
    }
}

/// Prefix of integration tokens, so that they are recognisable (and findable by secret scanners).
pub const TOKEN_PREFIX: &str = "hlp_";

/// A new integration token: the text shown once, and the hash to store.
pub fn new_token_secret(id: TokenId) -> (String, String) {
    let mut raw = [0u8; 32];
    rand::rng().fill_bytes(&mut raw);
    let secret = URL_SAFE_NO_PAD.encode(raw);
    let text = format!("{TOKEN_PREFIX}{}_{secret}", id.as_uuid().simple());
    (text, hash_token_secret(&secret))
}

/// SHA-256 of a token's secret part: tokens are random, so a fast hash suffices.
pub fn hash_token_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Splits `hlp_<id>_<secret>` into its parts.
fn parse_token(text: &str) -> Option<(TokenId, &str)> {
    let rest = text.strip_prefix(TOKEN_PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    let id = uuid::Uuid::try_parse(id).ok()?;
    Some((TokenId::from_uuid(id), secret))
}

/// The authenticated caller, as an extractor argument.
#[derive(Debug, Clone)]
pub struct Auth(pub Principal, pub Via);

/// How an authenticated request came: through which credential, and what it reads. The access
/// log of confidential cases keeps both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Via {
    /// The credential's id: `session:<jti>` or `token:<id>` (never the secret).
    pub credential: String,
    /// For a `GET` or `HEAD`: the method and path (ids only, no query string), else `None`.
    pub read: Option<String>,
    /// A session good only for setting up the second factor its account must have.
    pub enrolment_only: bool,
}

impl Auth {
    /// Refuses with 403 unless the caller may do `p`.
    pub fn require(&self, p: Permission) -> Result<(), ApiError> {
        if self.1.enrolment_only {
            return Err(ApiError::Forbidden(
                "this account must have a second factor: set one up (POST /api/v1/auth/second-factor, then its /confirm) and log in again".into(),
            ));
        }
        if self.0.may(p) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "your role ({}) does not allow {}",
                self.0.role,
                p.as_str().replace('_', " ")
            )))
        }
    }

    /// The actor for the audit trail.
    pub fn actor(&self) -> Actor {
        self.0.actor
    }
}

impl FromRequest for Auth {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Auth, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        match req.extensions_mut().remove::<Authenticated>() {
            Some(Authenticated(outcome)) => Box::pin(std::future::ready(outcome)),
            None => Box::pin(authenticate(req)),
        }
    }
}

/// How authenticating a request came out, worked out before its handler's arguments are read.
struct Authenticated(Result<Auth, ApiError>);

/// Authenticates a request that carries credentials before anything else of it is read. actix
/// reads a handler's arguments together and answers the first error that is ready: without
/// this, a caller whose principal must first be read from the database could learn that its
/// `If-Match` or its body is wrong before being told it is not authenticated.
pub async fn authenticate_first(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if req
        .headers()
        .contains_key(actix_web::http::header::AUTHORIZATION)
    {
        let outcome = authenticate(req.request()).await;
        req.extensions_mut().insert(Authenticated(outcome));
    }
    next.call(req).await
}

/// The bearer token of a request's `Authorization` header, or why there is none.
pub(crate) fn bearer(req: &HttpRequest) -> Result<String, ApiError> {
    let header = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .ok_or_else(|| ApiError::Unauthorized("missing Authorization: Bearer header".into()))?
        .to_str()
        .map_err(|_| ApiError::Unauthorized("unreadable Authorization header".into()))?;
    header
        .strip_prefix("Bearer ")
        .map(|t| t.trim().to_owned())
        .ok_or_else(|| ApiError::Unauthorized("expected Authorization: Bearer <token>".into()))
}

/// The caller named by the request's `Authorization: Bearer` header: a user's session token or
/// an integration token.
fn authenticate(req: &HttpRequest) -> impl Future<Output = Result<Auth, ApiError>> + 'static {
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let token = bearer(req);
    let read = reads(req);
    async move {
        let state = state.ok_or_else(|| ApiError::Internal("no app state".into()))?;
        check_credential(&state, token?, read).await
    }
}

/// What a request reads, for the access log: a `GET` or `HEAD`'s method and path.
pub(crate) fn reads(req: &HttpRequest) -> Option<String> {
    matches!(*req.method(), Method::GET | Method::HEAD)
        .then(|| format!("{} {}", req.method(), req.path()))
}

/// The caller a credential names — a session's access token or an integration token — with
/// the deny list, the account's state and the token's expiry checked: the one check behind
/// the API's bearer header and the console's session cookie.
pub(crate) async fn check_credential(
    state: &web::Data<AppState>,
    token: String,
    read: Option<String>,
) -> Result<Auth, ApiError> {
    if token.starts_with(TOKEN_PREFIX) {
        authenticate_token(state, token, read).await
    } else {
        let session = state.jwt.check(&token)?;
        let gone = match state.principals.revoked(&session.jti) {
            Some(gone) => gone,
            None => {
                let jti = session.jti.clone();
                let generation = state.principals.generation();
                let gone = state
                    .read(move |c| helpline_store::sessions::is_revoked(c, &jti))
                    .await?;
                state.principals.put_revoked(&session.jti, gone, generation);
                gone
            }
        };
        if gone {
            return Err(ApiError::Unauthorized(
                "this access token was given up (logged out)".into(),
            ));
        }
        let via = Via {
            credential: format!("session:{}", session.jti),
            read,
            enrolment_only: session.enrolment_only,
        };
        authenticate_user(state, &session, via).await
    }
}

async fn authenticate_user(
    state: &AppState,
    session: &Session,
    via: Via,
) -> Result<Auth, ApiError> {
    // The role, the active flag and the session cut-off come from the database (through a
    // short cache), so that a deactivation or a role change takes effect at once rather than
    // when the token expires.
    let user = session.user;
    let who = Actor::User(user);
    let account = match state.principals.get(who) {
        Some(a) => a,
        None => {
            let generation = state.principals.generation();
            let found = state
                .read(move |c| {
                    let u = helpline_store::users::get(c, user)?;
                    let not_before = helpline_store::sessions::not_before(c, user)?;
                    Ok((u, not_before))
                })
                .await;
            let a = match found {
                Ok((u, not_before)) if u.active => Some((
                    Principal {
                        actor: who,
                        role: u.role,
                        scopes: Vec::new(),
                    },
                    not_before,
                )),
                Ok(_) | Err(ApiError::NotFound(_)) => None,
                Err(e) => return Err(e),
            };
            state.principals.put(who, a.clone(), generation);
            a
        }
    };
    let (principal, not_before) =
        account.ok_or_else(|| ApiError::Unauthorized("this account is not active".into()))?;
    // Tokens carry whole seconds: one issued in the second of the cut-off is refused too.
    if not_before.is_some_and(|t| session.issued_at.timestamp() <= t.timestamp()) {
        return Err(ApiError::Unauthorized(
            "this access token was revoked with its account's sessions; log in again".into(),
        ));
    }
    Ok(Auth(principal, via))
}

async fn authenticate_token(
    state: &AppState,
    text: String,
    read: Option<String>,
) -> Result<Auth, ApiError> {
    let refused = || ApiError::Unauthorized("invalid API token".into());
    let (id, secret) = parse_token(&text).ok_or_else(refused)?;
    let presented = hash_token_secret(secret);
    let found = match state.principals.token(id) {
        Some(t) => t,
        None => {
            let generation = state.principals.generation();
            let t = state
                .read(move |c| helpline_store::tokens::find(c, id))
                .await?;
            state.principals.put_token(id, t.clone(), generation);
            t
        }
    };
    let (token, stored_hash) = found.ok_or_else(refused)?;
    let matches: bool = presented.as_bytes().ct_eq(stored_hash.as_bytes()).into();
    if !matches {
        return Err(refused());
    }
    if !token.is_usable(state.now()) {
        return Err(ApiError::Unauthorized(
            "this API token is revoked or expired".into(),
        ));
    }
    Ok(Auth(
        Principal {
            actor: Actor::Token(token.id),
            role: Role::Integration,
            scopes: token.scopes,
        },
        Via {
            credential: format!("token:{}", token.id),
            read,
            enrolment_only: false,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_and_verify() {
        let h = hash_password("correct horse battery staple").unwrap_or_default();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery staple", &h));
        assert!(!verify_password("wrong", &h));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn tokens_round_trip() {
        let id = TokenId::new();
        let (text, hash) = new_token_secret(id);
        let (pid, secret) = parse_token(&text).unwrap_or_else(|| panic!("unparsable"));
        assert_eq!(pid, id);
        assert_eq!(hash_token_secret(secret), hash);
        assert!(parse_token("hlp_nothex_x").is_none());
    }

    #[test]
    fn jwt_checks_issuer_audience_and_key() {
        let k = JwtKeys::new(&[7u8; 32], "helpline", "helpline-api", 60);
        let u = UserId::new();
        let (t, _) = k
            .issue(u, Utc::now(), false)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(k.check(&t).ok().map(|s| s.user), Some(u));
        let other = JwtKeys::new(&[8u8; 32], "helpline", "helpline-api", 60);
        assert!(other.check(&t).is_err());
        let other_aud = JwtKeys::new(&[7u8; 32], "helpline", "other", 60);
        assert!(other_aud.check(&t).is_err());
    }
}
