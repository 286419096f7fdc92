//! Signed tokens: JWT with HS256 only. The algorithm is pinned, so tokens claiming `none`
//! or an asymmetric algorithm are refused before their signature is looked at.

use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use super::AuthError;

/// Issuer written into and required from every token.
pub const ISSUER: &str = "tapelibd";

/// What a token says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// User name.
    pub sub: String,
    /// DIVA role name at issue time (the current role is read from the catalog).
    pub role: String,
    pub iat: i64,
    pub exp: i64,
    /// Token id, used for revocation.
    pub jti: String,
    pub iss: String,
}

/// Signs and checks tokens with one HMAC key.
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKeys(..)")
    }
}

impl TokenKeys {
    pub fn new(secret: &[u8]) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "iat", "sub", "iss"]);
        // Expiry is exact: a token is refused from its `exp` second on.
        validation.leeway = 0;
        TokenKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
        }
    }

    pub fn sign(&self, claims: &Claims) -> Result<String, AuthError> {
        encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .map_err(|e| AuthError::Internal(format!("signing a token: {e}")))
    }

    /// The claims of a valid, unexpired token signed with this key.
    pub fn check(&self, token: &str) -> Result<Claims, AuthError> {
        decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|d| d.claims)
            .map_err(|e| {
                use jsonwebtoken::errors::ErrorKind;
                match e.kind() {
                    ErrorKind::ExpiredSignature => AuthError::TokenExpired,
                    _ => AuthError::InvalidToken(e.to_string()),
                }
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    fn claims(exp: i64) -> Claims {
        Claims {
            sub: "alice".into(),
            role: "operator".into(),
            iat: 0,
            exp,
            jti: "t1".into(),
            iss: ISSUER.into(),
        }
    }

    fn now() -> i64 {
        time::OffsetDateTime::now_utc().unix_timestamp()
    }

    #[test]
    fn round_trip_expiry_tamper_and_foreign_key() {
        let k = TokenKeys::new(b"0123456789abcdef0123456789abcdef");
        let t = k.sign(&claims(now() + 60)).expect("sign");
        assert_eq!(k.check(&t).expect("valid").sub, "alice");
        let expired = k.sign(&claims(now() - 1)).expect("sign");
        assert!(matches!(k.check(&expired), Err(AuthError::TokenExpired)));
        // Flip one character of the signature.
        let mut tampered = t.clone().into_bytes();
        let last = tampered.len() - 2;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).expect("ascii");
        assert!(matches!(
            k.check(&tampered),
            Err(AuthError::InvalidToken(_))
        ));
        let other = TokenKeys::new(b"another key of enough length!!!!");
        assert!(other.check(&t).is_err());
    }

    #[test]
    fn alg_none_and_rs256_headers_are_refused() {
        let k = TokenKeys::new(b"0123456789abcdef0123456789abcdef");
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let body = b64.encode(serde_json::to_vec(&claims(now() + 60)).expect("json"));
        for alg in ["none", "RS256", "HS512"] {
            let header = b64.encode(format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#));
            let valid = k.sign(&claims(now() + 60)).expect("sign");
            let sig = valid.rsplit('.').next().expect("sig");
            for token in [
                format!("{header}.{body}."),
                format!("{header}.{body}.{sig}"),
            ] {
                assert!(k.check(&token).is_err(), "{alg} accepted");
            }
        }
    }
}
