//! Reading one variable: trimmed values, flags, bounded numbers, and the lists and names whose
//! syntax the configuration checks (origins, proxies, the cookie domain).

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;

use super::{invalid, ConfigError};

/// A variable's value, trimmed; unset and empty are the same. Shared by every settings module.
pub(crate) fn get<'a>(vars: &'a HashMap<String, String>, key: &str) -> Option<&'a str> {
    vars.get(key).map(|v| v.trim()).filter(|v| !v.is_empty())
}

/// A true/false variable (`1/0`, `true/false`, `yes/no`, `on/off`); unset is false.
pub(crate) fn flag(vars: &HashMap<String, String>, var: &'static str) -> Result<bool, ConfigError> {
    match get(vars, var).map(str::to_ascii_lowercase).as_deref() {
        None | Some("0" | "false" | "no" | "off") => Ok(false),
        Some("1" | "true" | "yes" | "on") => Ok(true),
        Some(other) => Err(invalid(var, format!("expected true/false, got {other:?}"))),
    }
}

/// A number variable within `min..=max`; unset is `default`.
pub(crate) fn number<T>(
    vars: &HashMap<String, String>,
    var: &'static str,
    default: T,
    min: T,
    max: T,
) -> Result<T, ConfigError>
where
    T: std::str::FromStr + PartialOrd + fmt::Display + Copy,
{
    let Some(raw) = get(vars, var) else {
        return Ok(default);
    };
    let value: T = raw
        .parse()
        .map_err(|_| invalid(var, format!("expected a number, got {raw:?}")))?;
    if value < min || value > max {
        return Err(invalid(
            var,
            format!("must be between {min} and {max}, got {value}"),
        ));
    }
    Ok(value)
}

pub(super) fn parse_origins(raw: &str) -> Result<Vec<String>, ConfigError> {
    let mut origins = Vec::new();
    for origin in raw.split(',').map(str::trim).filter(|o| !o.is_empty()) {
        let origin = origin.trim_end_matches('/');
        let valid_scheme = origin.starts_with("http://") || origin.starts_with("https://");
        if !valid_scheme || origin[origin.find("://").unwrap_or(0) + 3..].contains('/') {
            return Err(invalid(
                "ALLOWED_ORIGINS",
                format!("{origin:?} is not an origin like https://pad.example.com"),
            ));
        }
        origins.push(origin.to_ascii_lowercase());
    }
    if origins.is_empty() {
        return Err(invalid("ALLOWED_ORIGINS", "set but lists no origin"));
    }
    Ok(origins)
}

/// `COOKIE_DOMAIN` goes verbatim into `Set-Cookie`, so it must be a bare host name: anything else
/// (`;`, spaces, a scheme, a port) would inject cookie attributes or make the header unbuildable.
pub(super) fn parse_cookie_domain(raw: &str) -> Result<String, ConfigError> {
    let host = raw.strip_prefix('.').unwrap_or(raw);
    let valid = !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        });
    if !valid {
        return Err(invalid(
            "COOKIE_DOMAIN",
            format!("{raw:?} is not a host name like pad.example.com (no scheme, port or path)"),
        ));
    }
    Ok(raw.to_ascii_lowercase())
}

pub(super) fn parse_proxies(raw: &str) -> Result<Vec<IpNet>, ConfigError> {
    raw.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            p.parse::<IpNet>()
                .or_else(|_| p.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| invalid("TRUSTED_PROXIES", format!("{p:?} is not an IP or CIDR")))
        })
        .collect()
}
