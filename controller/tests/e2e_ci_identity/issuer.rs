//! A stand-in for GitHub Actions' OIDC issuer (`https://token.actions.githubusercontent.com`),
//! served over HTTPS on loopback so the API server can fetch its discovery document and JWKS,
//! and a signer that mints RS256 tokens the way GitHub does.
//!
//! The certificate authority, the issuer's serving certificate and the signing keys are made
//! with openssl (ring cannot generate RSA keys, and the cluster script already needs openssl).

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use ring::rand::SystemRandom;
use ring::rsa::PublicKeyComponents;
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde_json::{Value, json};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// Runs openssl in `dir` with `args`; panics with its stderr when it fails.
pub fn openssl(dir: &Path, args: &[&str]) {
    let out = std::process::Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl runs (the e2e tier needs it, as scripts/cluster.sh does)");
    assert!(
        out.status.success(),
        "openssl {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// An RSA key that signs tokens, published (or not) under `kid`.
pub struct Signer {
    kid: String,
    key: RsaKeyPair,
}

impl Signer {
    /// A new 2048-bit RSA key, made in `dir` under `name`.
    pub fn generate(dir: &Path, name: &str, kid: &str) -> Self {
        // openssl 3 writes a DER RSA key as PKCS#1 (RSAPrivateKey).
        let file = format!("{name}.rsa.der");
        openssl(
            dir,
            &[
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:2048",
                "-outform",
                "DER",
                "-out",
                &file,
            ],
        );
        let der = std::fs::read(dir.join(&file)).unwrap();
        Self {
            kid: kid.into(),
            key: RsaKeyPair::from_der(&der).expect("openssl wrote a PKCS#1 RSA key"),
        }
    }

    /// The public key as a JWK, as GitHub's JWKS lists it.
    pub fn jwk(&self) -> Value {
        let public: PublicKeyComponents<Vec<u8>> = self.key.public().into();
        json!({
            "kty": "RSA",
            "alg": "RS256",
            "use": "sig",
            "kid": self.kid,
            "n": URL_SAFE_NO_PAD.encode(&public.n),
            "e": URL_SAFE_NO_PAD.encode(&public.e),
        })
    }

    /// `claims` as a compact JWS: RS256, with this key's `kid` in the header.
    pub fn sign(&self, claims: &Value) -> String {
        let header = json!({"typ": "JWT", "alg": "RS256", "kid": self.kid});
        let encode = |v: &Value| URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap());
        let input = format!("{}.{}", encode(&header), encode(claims));
        let mut signature = vec![0; self.key.public().modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                input.as_bytes(),
                &mut signature,
            )
            .expect("RS256 signing");
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }
}

/// How often the API server fetched each document: evidence that it used this issuer.
#[derive(Default)]
pub struct Fetches {
    pub discovery: AtomicUsize,
    pub jwks: AtomicUsize,
}

struct Documents {
    discovery: Value,
    jwks: Value,
    fetches: Arc<Fetches>,
}

/// The issuer, serving until dropped.
pub struct Issuer {
    /// `https://127.0.0.1:<port>`: the `iss` of its tokens and the URL in the configuration.
    pub url: String,
    /// The PEM of the CA that signed the serving certificate, for `certificateAuthority`.
    pub ca_pem: String,
    pub fetches: Arc<Fetches>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Issuer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Issuer {
    /// Makes a CA and a serving certificate for 127.0.0.1 in `dir`, and serves the discovery
    /// document and a JWKS holding `signer`'s key on a free loopback port.
    pub async fn start(dir: &Path, signer: &Signer) -> Self {
        openssl(
            dir,
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "1",
                "-subj",
                "/CN=launchplane-e2e-issuer-ca",
                "-keyout",
                "ca.key",
                "-out",
                "ca.crt",
            ],
        );
        openssl(
            dir,
            &[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-subj",
                "/CN=127.0.0.1",
                "-keyout",
                "server.key",
                "-out",
                "server.csr",
            ],
        );
        std::fs::write(
            dir.join("server.ext"),
            "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
        )
        .unwrap();
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "1",
                "-extfile",
                "server.ext",
                "-outform",
                "DER",
                "-out",
                "server.crt.der",
            ],
        );
        openssl(
            dir,
            &[
                "pkcs8",
                "-topk8",
                "-nocrypt",
                "-in",
                "server.key",
                "-outform",
                "DER",
                "-out",
                "server.key.der",
            ],
        );
        let cert = CertificateDer::from(std::fs::read(dir.join("server.crt.der")).unwrap());
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
            std::fs::read(dir.join("server.key.der")).unwrap(),
        ));
        let tls = rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(vec![cert], key)
            .expect("the serving certificate and key match");
        let acceptor = TlsAcceptor::from(Arc::new(tls));

        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("https://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let fetches = Arc::new(Fetches::default());
        // GitHub's discovery document, with this issuer's URLs.
        let documents = Arc::new(Documents {
            discovery: json!({
                "issuer": url,
                "jwks_uri": format!("{url}/.well-known/jwks"),
                "subject_types_supported": ["public", "pairwise"],
                "response_types_supported": ["id_token"],
                "claims_supported": ["sub", "aud", "exp", "iat", "iss", "jti", "nbf", "ref",
                    "repository", "repository_id", "repository_owner", "repository_owner_id",
                    "run_id", "run_number", "run_attempt", "actor", "actor_id", "workflow",
                    "workflow_ref", "workflow_sha", "head_ref", "base_ref", "event_name",
                    "ref_type", "environment", "job_workflow_ref", "job_workflow_sha"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "scopes_supported": ["openid"],
            }),
            jwks: json!({"keys": [signer.jwk()]}),
            fetches: fetches.clone(),
        });
        let router = Router::new()
            .route(
                "/.well-known/openid-configuration",
                get(|State(d): State<Arc<Documents>>| async move {
                    d.fetches.discovery.fetch_add(1, Ordering::Relaxed);
                    axum::Json(d.discovery.clone())
                }),
            )
            .route(
                "/.well-known/jwks",
                get(|State(d): State<Arc<Documents>>| async move {
                    d.fetches.jwks.fetch_add(1, Ordering::Relaxed);
                    axum::Json(d.jwks.clone())
                }),
            )
            .with_state(documents);
        let task = tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                let (acceptor, router) = (acceptor.clone(), router.clone());
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(tls), TowerToHyperService::new(router))
                        .await;
                });
            }
        });
        Self {
            url,
            ca_pem: std::fs::read_to_string(dir.join("ca.crt")).unwrap(),
            fetches,
            task,
        }
    }
}
