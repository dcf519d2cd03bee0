//! ACS3-HMAC-SHA256, the request signature of Alibaba Cloud's OpenAPI (version 3), on both
//! sides: checking incoming server-verification requests and signing outgoing ones (the demo
//! backend and the tests use the latter).
//!
//! Canonical request = method ⏎ canonical URI ⏎ canonical query ⏎ canonical headers ⏎
//! signed headers ⏎ hex(SHA-256(body)); string to sign = `ACS3-HMAC-SHA256` ⏎
//! hex(SHA-256(canonical request)); signature = hex(HMAC-SHA256(secret, string to sign)).
//! Query keys are sorted and values percent-encoded (RFC 3986 unreserved kept); headers are
//! lower-cased, sorted, values trimmed and, when repeated, sorted and joined with commas.

use hmac::{Hmac, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use sha2::{Digest, Sha256};

/// The only algorithm accepted.
pub const ALGORITHM: &str = "ACS3-HMAC-SHA256";

const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// RFC 3986 percent-encoding as the SDKs apply it to query keys and values.
pub fn percent_encode(s: &str) -> String {
    utf8_percent_encode(s, UNRESERVED).to_string()
}

/// Lower-case hex SHA-256.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// The parts of an `Authorization: ACS3-HMAC-SHA256 Credential=…,SignedHeaders=…,Signature=…`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    pub access_key_id: String,
    pub signed_headers: Vec<String>,
    pub signature: String,
}

/// Why an `Authorization` header could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthParseError {
    #[error("unsupported signature algorithm")]
    Algorithm,
    #[error("authorization header is incomplete")]
    Incomplete,
}

impl Authorization {
    pub fn parse(header: &str) -> Result<Self, AuthParseError> {
        let rest = header
            .trim()
            .strip_prefix(ALGORITHM)
            .ok_or(AuthParseError::Algorithm)?;
        if !rest.starts_with(' ') {
            return Err(AuthParseError::Algorithm);
        }
        let (mut cred, mut signed, mut sig) = (None, None, None);
        for part in rest.split(',') {
            let (k, v) = part
                .trim()
                .split_once('=')
                .ok_or(AuthParseError::Incomplete)?;
            match k.trim() {
                "Credential" => cred = Some(v.trim().to_owned()),
                "SignedHeaders" => signed = Some(v.trim().to_owned()),
                "Signature" => sig = Some(v.trim().to_owned()),
                _ => {}
            }
        }
        let (Some(access_key_id), Some(signed), Some(signature)) = (cred, signed, sig) else {
            return Err(AuthParseError::Incomplete);
        };
        if access_key_id.is_empty() || signature.is_empty() || signed.is_empty() {
            return Err(AuthParseError::Incomplete);
        }
        let mut signed_headers: Vec<String> = signed
            .split(';')
            .map(|h| h.trim().to_ascii_lowercase())
            .collect();
        signed_headers.sort();
        Ok(Self {
            access_key_id,
            signed_headers,
            signature,
        })
    }
}

/// A request in the terms the signature covers.
pub struct Canonical<'a> {
    pub method: &'a str,
    /// The URI path as sent (`/` for RPC-style APIs).
    pub path: &'a str,
    /// Decoded query pairs.
    pub query: &'a [(String, String)],
    /// Header (lower-case name, value) pairs; only those named in `signed` are used.
    pub headers: &'a [(String, String)],
    /// Lower-case names of the signed headers.
    pub signed: &'a [String],
    /// Hex SHA-256 of the body.
    pub payload_hash: &'a str,
}

impl Canonical<'_> {
    /// The canonical request text.
    pub fn request(&self) -> String {
        let mut q: Vec<(String, String)> = self
            .query
            .iter()
            .map(|(k, v)| (percent_encode(k), percent_encode(v)))
            .collect();
        q.sort();
        let query = q
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&");
        let mut names: Vec<&String> = self.signed.iter().collect();
        names.sort();
        names.dedup();
        let mut headers = String::new();
        for name in &names {
            let mut values: Vec<&str> = self
                .headers
                .iter()
                .filter(|(n, _)| n == *name)
                .map(|(_, v)| v.trim())
                .collect();
            values.sort_unstable();
            headers.push_str(name);
            headers.push(':');
            headers.push_str(&values.join(","));
            headers.push('\n');
        }
        let signed = names
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(";");
        format!(
            "{}\n{}\n{}\n{}\n{}\n{}",
            self.method, self.path, query, headers, signed, self.payload_hash
        )
    }

    /// The hex signature of this request under `secret`.
    pub fn signature(&self, secret: &[u8]) -> String {
        let to_sign = string_to_sign(&self.request());
        let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
        mac.update(to_sign.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

/// The string to sign for a canonical request.
pub fn string_to_sign(canonical_request: &str) -> String {
    format!("{ALGORITHM}\n{}", sha256_hex(canonical_request.as_bytes()))
}

/// One RPC-style call to sign: where it goes, what it asks, and its replay-protection fields.
#[derive(Debug, Clone, Copy)]
pub struct RpcCall<'a> {
    pub host: &'a str,
    pub action: &'a str,
    pub version: &'a str,
    /// The form-encoded body.
    pub body: &'a str,
    /// `x-acs-date`, ISO 8601 UTC (`2023-01-01T00:00:00Z`).
    pub date: &'a str,
    /// `x-acs-signature-nonce`, unique per request.
    pub nonce: &'a str,
}

/// Build the headers (including `Authorization`) for an RPC-style call with a form body.
/// Used by the demo backend and by tests as a reference client.
pub fn sign_rpc_form(
    call: &RpcCall<'_>,
    access_key_id: &str,
    secret: &str,
) -> Vec<(String, String)> {
    let RpcCall {
        host,
        action,
        version,
        body,
        date,
        nonce,
    } = *call;
    let mut headers: Vec<(String, String)> = vec![
        ("host".into(), host.into()),
        ("x-acs-action".into(), action.into()),
        ("x-acs-version".into(), version.into()),
        ("x-acs-date".into(), date.into()),
        ("x-acs-signature-nonce".into(), nonce.into()),
        (
            "content-type".into(),
            "application/x-www-form-urlencoded".into(),
        ),
        ("x-acs-content-sha256".into(), sha256_hex(body.as_bytes())),
        ("accept".into(), "application/json".into()),
    ];
    let signed: Vec<String> = headers.iter().map(|(n, _)| n.clone()).collect();
    let payload_hash = sha256_hex(body.as_bytes());
    let canonical = Canonical {
        method: "POST",
        path: "/",
        query: &[],
        headers: &headers,
        signed: &signed,
        payload_hash: &payload_hash,
    };
    let signature = canonical.signature(secret.as_bytes());
    let mut names = signed.clone();
    names.sort();
    headers.push((
        "authorization".into(),
        format!(
            "{ALGORITHM} Credential={access_key_id},SignedHeaders={},Signature={signature}",
            names.join(";")
        ),
    ));
    headers
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_encoding_keeps_only_unreserved() {
        assert_eq!(percent_encode("a b*c~d/e+f=g"), "a%20b%2Ac~d%2Fe%2Bf%3Dg");
        assert_eq!(percent_encode("验"), "%E9%AA%8C");
    }

    #[test]
    fn canonical_request_layout() {
        let headers = vec![
            ("x-acs-date".to_owned(), " 2023-10-26T10:22:32Z ".to_owned()),
            ("host".to_owned(), "example.com".to_owned()),
            ("x-multi".to_owned(), "b".to_owned()),
            ("x-multi".to_owned(), "a".to_owned()),
            ("unsigned".to_owned(), "x".to_owned()),
        ];
        let signed = vec![
            "x-multi".to_owned(),
            "host".to_owned(),
            "x-acs-date".to_owned(),
        ];
        let query = vec![
            ("b".to_owned(), "2 3".to_owned()),
            ("a".to_owned(), "1".to_owned()),
        ];
        let c = Canonical {
            method: "POST",
            path: "/",
            query: &query,
            headers: &headers,
            signed: &signed,
            payload_hash: "e3",
        };
        assert_eq!(
            c.request(),
            "POST\n/\na=1&b=2%203\nhost:example.com\nx-acs-date:2023-10-26T10:22:32Z\nx-multi:a,b\n\nhost;x-acs-date;x-multi\ne3"
        );
    }

    #[test]
    fn authorization_parses_and_rejects() {
        let a = Authorization::parse(
            "ACS3-HMAC-SHA256 Credential=AK,SignedHeaders=x-acs-date;host,Signature=ab",
        )
        .unwrap();
        assert_eq!(a.access_key_id, "AK");
        assert_eq!(a.signed_headers, vec!["host", "x-acs-date"]);
        assert_eq!(
            Authorization::parse("HMAC-SHA1 x"),
            Err(AuthParseError::Algorithm)
        );
        assert_eq!(
            Authorization::parse("ACS3-HMAC-SHA256 Credential=AK"),
            Err(AuthParseError::Incomplete)
        );
        assert_eq!(
            Authorization::parse("ACS3-HMAC-SHA256"),
            Err(AuthParseError::Algorithm)
        );
    }

    #[test]
    fn signing_and_checking_agree_and_secret_matters() {
        let h = sign_rpc_form(
            &RpcCall {
                host: "h:1",
                action: "VerifyIntelligentCaptcha",
                version: "2023-03-05",
                body: "A=1",
                date: "2023-01-01T00:00:00Z",
                nonce: "n1",
            },
            "AK",
            "s3cret",
        );
        let auth =
            Authorization::parse(&h.iter().find(|(n, _)| n == "authorization").unwrap().1).unwrap();
        let payload = sha256_hex(b"A=1");
        let c = Canonical {
            method: "POST",
            path: "/",
            query: &[],
            headers: &h,
            signed: &auth.signed_headers,
            payload_hash: &payload,
        };
        assert_eq!(c.signature(b"s3cret"), auth.signature);
        assert_ne!(c.signature(b"other"), auth.signature);
    }
}
