//! The perimeter: everything between the socket and a feature's handler — client IP, rate limits,
//! security headers, CORS, origin checks, body limits, request ids and the request log.

pub mod client_ip;
pub mod cors;
pub mod headers;
pub mod health;
pub mod json;
pub mod metrics;
pub mod origin;
pub mod rate_limit;
pub mod shared_counts;
pub mod static_files;
pub mod trace;
pub mod url_tokens;
pub mod ws_io;
