//! The format patterns enforced by the CRDs, against good and bad samples.
#![allow(clippy::unwrap_used)]

use launchplane_api::resources::{
    DNS1123_LABEL_PATTERN, DNS1123_SUBDOMAIN_PATTERN, DURATION_PATTERN, ENV_NAME_PATTERN, GIT_SHA_PATTERN,
    HTTP_URL_PATTERN, IMAGE_DIGEST_PATTERN, IMAGE_REPOSITORY_PATTERN, SOURCE_REPOSITORY_PATTERN,
    URL_PATH_PATTERN,
};
use regex::Regex;

fn check(pattern: &str, good: &[&str], bad: &[&str]) {
    let re = Regex::new(pattern).unwrap();
    for g in good {
        assert!(re.is_match(g), "{pattern} should accept {g:?}");
    }
    for b in bad {
        assert!(!re.is_match(b), "{pattern} should refuse {b:?}");
    }
}

#[test]
fn image_digest_is_sha256_and_64_lowercase_hex() {
    let hex = "0fc1689bcf85da10378cbb9b92a3600e9433b3b9b496af787f8f15caeec385cf";
    check(
        IMAGE_DIGEST_PATTERN,
        &[&format!("sha256:{hex}")],
        &[
            hex,
            "latest",
            &format!("sha256:{}", &hex[1..]),
            &format!("sha256:{hex}0"),
            &format!("sha256:{}", hex.to_uppercase()),
            &format!("sha512:{hex}"),
            &format!("ghcr.io/acme/shop@sha256:{hex}"),
        ],
    );
}

#[test]
fn git_sha_is_40_lowercase_hex_never_a_branch() {
    check(
        GIT_SHA_PATTERN,
        &["3f2a9c1d8e7b6a5f4e3d2c1b0a9f8e7d6c5b4a39"],
        &[
            "main",
            "3f2a9c1",
            "refs/heads/main",
            "3F2A9C1D8E7B6A5F4E3D2C1B0A9F8E7D6C5B4A39",
            "3f2a9c1d8e7b6a5f4e3d2c1b0a9f8e7d6c5b4a3g",
        ],
    );
}

#[test]
fn references_are_dns1123_labels() {
    check(
        DNS1123_LABEL_PATTERN,
        &["shop", "shop-prod", "a", "pr-42"],
        &["Shop", "-shop", "shop-", "shop_prod", "shop.prod", ""],
    );
}

#[test]
fn hosts_urls_paths_and_durations() {
    check(
        DNS1123_SUBDOMAIN_PATTERN,
        &["shop.example.com", "pr-42.preview.shop.example.com"],
        &[
            "Shop.example.com",
            "shop..example.com",
            "https://shop.example.com",
            "-a.example.com",
        ],
    );
    check(
        HTTP_URL_PATTERN,
        &["https://shop.example.com", "http://10.0.0.1:8080/healthz"],
        &["shop.example.com", "ftp://x", "https://", "https://a b"],
    );
    check(
        URL_PATH_PATTERN,
        &["/healthz", "/", "/api/health?full=1"],
        &["healthz", "/a b"],
    );
    check(
        DURATION_PATTERN,
        &["72h", "90m", "1h30m", "45s"],
        &["72", "3d", "h", "1.5h", "-1h", "72 h"],
    );
    check(
        ENV_NAME_PATTERN,
        &["APP_ENV", "_X", "log_level"],
        &["1X", "APP-ENV", "A B", ""],
    );
}

#[test]
fn repositories() {
    check(
        IMAGE_REPOSITORY_PATTERN,
        &[
            "ghcr.io/acme/shop",
            "nginx",
            "registry.example.com:5000/team/app",
            "docker.io/library/postgres",
        ],
        &[
            "ghcr.io/acme/shop:1.2.3",
            "ghcr.io/acme/shop@sha256:abc",
            "GHCR.io/acme/shop",
            "ghcr.io/acme/shop/",
        ],
    );
    check(
        SOURCE_REPOSITORY_PATTERN,
        &[
            "acme/shop",
            "github.com/acme/shop",
            "gitlab.example.com/group/sub/app",
        ],
        &["shop", "https://github.com/acme/shop", "/acme/shop", "acme/"],
    );
}
