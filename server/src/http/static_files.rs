//! The web client (`web/dist`), served by the same binary as the API (SPEC §1).
//!
//! * Embedded with `rust-embed` (release builds carry the files; debug builds read `web/dist`
//!   from disk at run time). `allow_missing` keeps the crate compiling before the client is
//!   built; requests then get a page that says how to build it.
//! * `WEB_DIR` set: serve that directory from disk instead (development, or a custom client).
//! * Client routes (`/dashboard`, `/p/{slug}`, …) fall back to `index.html`; `/api/*` and `/ws/*`
//!   never do — they keep the JSON 404 — and neither does a missing file with an extension, so a
//!   stale script URL is a 404, not HTML served as JavaScript.
//! * Caching: Vite's content-hashed files under `/assets/` are `immutable` for a year; everything
//!   else (`index.html`, `theme-init.js`, the favicon) is `no-cache` and revalidated by ETag.
//! * Pre-compressed siblings written by the client build (`*.br`, `*.gz`) are sent when the
//!   browser accepts them.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::error::AppError;
use crate::AppState;

#[derive(rust_embed::RustEmbed)]
#[folder = "../web/dist"]
#[allow_missing = true]
struct Embedded;

const INDEX: &str = "index.html";
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const NO_CACHE: &str = "no-cache";

/// A file found in the client bundle.
struct Asset {
    bytes: Cow<'static, [u8]>,
    etag: String,
}

/// Where the client's files come from.
enum Source<'a> {
    Embedded,
    Disk(&'a Path),
}

impl Source<'_> {
    async fn get(&self, path: &str) -> Option<Asset> {
        match self {
            Source::Embedded => Embedded::get(path).map(|file| Asset {
                etag: format!("\"{}\"", hex::encode(&file.metadata.sha256_hash()[..12])),
                bytes: file.data,
            }),
            Source::Disk(root) => {
                let full: PathBuf = root.join(path);
                let meta = tokio::fs::metadata(&full).await.ok()?;
                if !meta.is_file() {
                    return None;
                }
                let bytes = tokio::fs::read(&full).await.ok()?;
                let modified = meta
                    .modified()
                    .ok()
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map(|d| d.as_nanos())
                    .unwrap_or(0);
                Some(Asset {
                    etag: format!("\"{:x}-{:x}\"", bytes.len(), modified),
                    bytes: Cow::Owned(bytes),
                })
            }
        }
    }
}

/// `/api`, `/api/…`, `/ws`, `/ws/…`: never the SPA.
fn is_reserved(path: &str) -> bool {
    ["/api", "/ws"].iter().any(|p| {
        path == *p
            || path
                .strip_prefix(p)
                .is_some_and(|rest| rest.starts_with('/'))
    })
}

/// The bundle-relative file for a request path, or `None` when the path is not a plain, safe
/// relative path (`..`, backslashes, NUL, empty segments are refused).
fn relative_file(path: &str) -> Option<String> {
    let trimmed = path.trim_start_matches('/');
    if trimmed.is_empty() {
        return Some(INDEX.to_string());
    }
    let ok = trimmed.split('/').all(|seg| {
        !seg.is_empty()
            && seg != "."
            && seg != ".."
            && !seg.contains('\\')
            && !seg.contains('\0')
            && !seg.starts_with('.')
    });
    ok.then(|| trimmed.to_string())
}

/// Does the last segment look like a file name (has an extension)?
fn looks_like_file(path: &str) -> bool {
    path.rsplit('/')
        .next()
        .is_some_and(|last| last.contains('.'))
}

fn content_type(path: &str) -> HeaderValue {
    let mime = mime_guess::from_path(path).first_or_octet_stream();
    let essence = mime.essence_str();
    let textual = essence.starts_with("text/")
        || matches!(
            essence,
            "application/javascript"
                | "application/json"
                | "image/svg+xml"
                | "application/manifest+json"
        );
    let value = if textual && mime.get_param("charset").is_none() {
        format!("{essence}; charset=utf-8")
    } else {
        mime.to_string()
    };
    HeaderValue::from_str(&value)
        .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"))
}

fn cache_control(path: &str) -> &'static str {
    if path.starts_with("assets/") {
        IMMUTABLE
    } else {
        NO_CACHE
    }
}

/// Encodings the browser accepts, best first, among those the build pre-compresses.
fn accepted_encodings(headers: &HeaderMap) -> Vec<(&'static str, &'static str)> {
    let accept = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let accepts = |name: &str| {
        accept.split(',').any(|part| {
            let mut it = part.trim().split(';');
            let coding = it.next().unwrap_or("").trim();
            let refused = it.any(|p| {
                matches!(
                    p.trim().replace(' ', "").as_str(),
                    "q=0" | "q=0.0" | "q=0.00" | "q=0.000"
                )
            });
            coding.eq_ignore_ascii_case(name) && !refused
        })
    };
    let mut out = Vec::new();
    if accepts("br") {
        out.push(("br", ".br"));
    }
    if accepts("gzip") {
        out.push(("gzip", ".gz"));
    }
    out
}

fn not_built() -> Response {
    let body = "<!doctype html><meta charset=utf-8><title>opencoder</title>\
<h1>The web client is not built</h1>\
<p>Build it with <code>cd web &amp;&amp; npm ci &amp;&amp; npm run build</code> (or <code>make run</code>), \
then rebuild the server, or point <code>WEB_DIR</code> at a built <code>web/dist</code>.</p>\
<p>The API is up: see <a href=\"/api/health\">/api/health</a>.</p>";
    let mut response = (StatusCode::SERVICE_UNAVAILABLE, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static(NO_CACHE));
    response
}

/// The router's fallback: the client's files, or `index.html` for client routes.
pub async fn serve(State(state): State<AppState>, request: Request) -> Response {
    let path = request.uri().path();
    if is_reserved(path) {
        return AppError::NoRoute.into_response();
    }
    let method = request.method().clone();
    if method != Method::GET && method != Method::HEAD {
        return AppError::NoRoute.into_response();
    }
    let source = match state.config.web_dir.as_deref() {
        Some(dir) => Source::Disk(dir),
        None => Source::Embedded,
    };
    let headers = request.headers();

    let requested = relative_file(path);
    let file = match &requested {
        Some(file) => source.get(file).await.map(|asset| (file.clone(), asset)),
        None => None,
    };
    let (file, asset) = match file {
        Some(found) => found,
        None if looks_like_file(path) => return AppError::NoRoute.into_response(),
        None => match source.get(INDEX).await {
            Some(index) => (INDEX.to_string(), index),
            None => return not_built(),
        },
    };

    let mut response_headers = HeaderMap::new();
    response_headers.insert(header::CONTENT_TYPE, content_type(&file));
    response_headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(cache_control(&file)),
    );
    response_headers.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    if let Ok(etag) = HeaderValue::from_str(&asset.etag) {
        response_headers.insert(header::ETAG, etag);
    }

    let not_modified = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|tag| tag.trim() == asset.etag || tag.trim() == "*")
        });
    if not_modified {
        return (StatusCode::NOT_MODIFIED, response_headers).into_response();
    }

    let mut body = asset.bytes;
    for (coding, suffix) in accepted_encodings(headers) {
        if let Some(compressed) = source.get(&format!("{file}{suffix}")).await {
            body = compressed.bytes;
            response_headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static(coding));
            break;
        }
    }
    response_headers.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
    if method == Method::HEAD {
        return (StatusCode::OK, response_headers).into_response();
    }
    (StatusCode::OK, response_headers, Body::from(body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_prefixes_keep_the_json_404() {
        for p in ["/api", "/api/", "/api/nope", "/ws", "/ws/pad/x"] {
            assert!(is_reserved(p), "{p}");
        }
        for p in [
            "/",
            "/apix",
            "/wsx",
            "/dashboard",
            "/p/abc",
            "/assets/app.js",
        ] {
            assert!(!is_reserved(p), "{p}");
        }
    }

    #[test]
    fn paths_are_confined_to_the_bundle() {
        assert_eq!(relative_file("/").as_deref(), Some("index.html"));
        assert_eq!(
            relative_file("/assets/a-1.js").as_deref(),
            Some("assets/a-1.js")
        );
        for bad in [
            "/../etc/passwd",
            "/assets/../../x",
            "/a//b",
            "/.env",
            "/a\\b",
            "/a/./b",
        ] {
            assert_eq!(relative_file(bad), None, "{bad}");
        }
    }

    #[test]
    fn caching_and_types() {
        assert_eq!(cache_control("assets/index-abc.js"), IMMUTABLE);
        assert_eq!(cache_control("index.html"), NO_CACHE);
        assert_eq!(cache_control("theme-init.js"), NO_CACHE);
        assert!(content_type("index.html")
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        assert!(content_type("a.js")
            .to_str()
            .unwrap()
            .contains("javascript"));
        assert!(content_type("a.css")
            .to_str()
            .unwrap()
            .starts_with("text/css"));
        assert_eq!(content_type("a.woff2").to_str().unwrap(), "font/woff2");
        assert_eq!(content_type("a.ttf").to_str().unwrap(), "font/ttf");
        assert!(looks_like_file("/assets/x.js"));
        assert!(!looks_like_file("/p/abcdef"));
    }

    #[test]
    fn encodings() {
        let mut h = HeaderMap::new();
        h.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("gzip, deflate, br, zstd"),
        );
        assert_eq!(accepted_encodings(&h), vec![("br", ".br"), ("gzip", ".gz")]);
        h.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("gzip;q=1, br;q=0"),
        );
        assert_eq!(accepted_encodings(&h), vec![("gzip", ".gz")]);
        assert!(accepted_encodings(&HeaderMap::new()).is_empty());
    }
}
