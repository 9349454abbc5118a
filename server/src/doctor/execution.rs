//! The execution checks of `opencoder doctor`: every Docker engine runs and terminals use
//! (reachable, how it is reached, its escape advisories, its images, the runtime), the seccomp
//! mode and the warm pool.

use super::{Check, Status};
use crate::config::Config;
use crate::exec::Engine;

/// Docker reachability, the engine's components against the runc escape advisories, every
/// language's image, the seccomp mode, the runtime and the warm pool (SPEC §5). Connects with
/// an empty pool and no start-up sweep; the only container doctor creates is the one tiny run
/// that proves `EXEC_RUNTIME` works (removed when it ends).
pub async fn execution(config: &Config) -> Vec<Check> {
    let settings = &config.exec;
    let mut checks = Vec::new();
    let languages = match crate::exec::language_table(settings) {
        Ok(table) => std::sync::Arc::new(table),
        Err(err) => return vec![Check::fail("languages", err.to_string())],
    };
    checks.push(Check::ok(
        "languages",
        format!("{} languages configured", languages.languages().len()),
    ));
    checks.push(match &settings.seccomp_profile {
        None => Check::ok("seccomp", "Docker's default seccomp profile"),
        Some(path) => Check::ok("seccomp", format!("operator profile {}", path.display())),
    });
    if settings.force_local {
        let status = if settings.allow_local {
            Status::Warn
        } else {
            Status::Fail
        };
        checks.push(Check::new(
            "docker",
            status,
            "EXEC_FORCE_LOCAL is set: code runs unsandboxed on the host",
        ));
        return checks;
    }
    // Every engine runs and terminals may use: each must answer and hold every language's image.
    let several = !settings.docker_hosts.is_empty();
    for engine in settings.engines() {
        if !host_checks(&mut checks, settings, &languages, &engine).await && !several {
            return checks;
        }
    }
    checks.push(match oc_sandbox::parse_pool_spec(&settings.pool) {
        Ok(sizes) if sizes.is_empty() => Check::ok("pool", "no warm pool (EXEC_POOL is empty)"),
        Ok(sizes) => {
            let unknown: Vec<&String> = sizes
                .keys()
                .filter(|l| languages.get(l).is_none())
                .collect();
            if unknown.is_empty() {
                let listed: Vec<String> = sizes.iter().map(|(l, n)| format!("{l}={n}")).collect();
                Check::ok("pool", format!("warm containers: {}", listed.join(", ")))
            } else {
                Check::fail(
                    "pool",
                    format!("EXEC_POOL names unknown languages: {unknown:?}"),
                )
            }
        }
        Err(err) => Check::fail("pool", format!("EXEC_POOL: {err}")),
    });
    checks
}

/// How an engine is reached, for its `docker` check; plain TCP to another machine is a warning
/// (production refuses it outright: see `ExecSettings::refuse_plain_remote_engines`).
fn transport(engine: &Engine) -> (Status, String) {
    let address = engine.address.as_deref().unwrap_or_default();
    match &engine.tls_dir {
        Some(dir) => (
            Status::Ok,
            format!("over TLS with the certificates in {}", dir.display()),
        ),
        None if !address.starts_with("tcp://") => (Status::Ok, "over a local socket".into()),
        None if oc_sandbox::hosts::is_loopback_tcp(address) => {
            (Status::Ok, "over plain TCP on this machine".into())
        }
        None => (
            Status::Warn,
            "over plain TCP without TLS: whoever reaches the port controls the engine \
             (set EXEC_DOCKER_TLS_DIR or ;tls=DIR)"
                .into(),
        ),
    }
}

/// Checks one Docker engine: it answers (and how it is reached), and it holds every language's
/// image. Returns whether it answered.
async fn host_checks(
    checks: &mut Vec<Check>,
    settings: &crate::exec::ExecSettings,
    languages: &std::sync::Arc<oc_sandbox::LanguageTable>,
    engine: &Engine,
) -> bool {
    let address = engine.address.clone();
    let name = match &address {
        Some(address) => format!("{}: ", oc_sandbox::hosts::display_address(address)),
        None => String::new(),
    };
    let host = oc_sandbox::DockerHost::connect(oc_sandbox::HostConfig {
        address: address.clone(),
        tls_dir: engine.tls_dir.clone(),
        ..oc_sandbox::HostConfig::default()
    })
    .await;
    let docker = match host {
        Ok(host) => {
            let cfg = oc_sandbox::DockerConfig {
                image: settings.image.clone(),
                seccomp_profile: settings.seccomp_profile.clone(),
                cache_dir: None,
                languages: languages.clone(),
                ..oc_sandbox::DockerConfig::default()
            };
            oc_sandbox::DockerBackend::new(host, cfg).await
        }
        Err(err) => Err(err),
    };
    let docker = match docker {
        Ok(docker) => docker,
        Err(err) => {
            checks.push(
                Check::fail("docker", format!("{name}{err}"))
                    .detail("run scripts/ensure-docker.sh"),
            );
            return false;
        }
    };
    // Whether the daemon answers; a missing image is the images check's to report.
    if !docker.host().check_health().await {
        let status = if settings.allow_local {
            Status::Warn
        } else {
            Status::Fail
        };
        checks.push(
            Check::new(
                "docker",
                status,
                format!("{name}{}", docker.host().detail()),
            )
            .detail("run scripts/ensure-docker.sh"),
        );
        docker.shutdown().await;
        return false;
    }
    let (status, how) = transport(engine);
    checks.push(Check::new(
        "docker",
        status,
        format!("{name}{}, {how}", docker.host().detail()),
    ));
    checks.push(escape_advisories(&name, docker.host().components().await));
    let mut missing = Vec::new();
    let mut images = std::collections::BTreeMap::<String, Vec<String>>::new();
    for lang in languages.languages() {
        images
            .entry(docker.image_for(lang).to_string())
            .or_default()
            .push(lang.id.clone());
    }
    for (image, langs) in &images {
        if docker.host().image_id(image).await.is_err() {
            missing.push(format!("{image} (for {})", langs.join(", ")));
        }
    }
    checks.push(if missing.is_empty() {
        Check::ok("images", format!("{name}present: {}", images.keys().cloned().collect::<Vec<_>>().join(", ")))
    } else {
        let fix = match &address {
            Some(address) => format!(
                "missing on {}; build with scripts/build-runner-image.sh, then scripts/load-runner-image.sh {address}",
                oc_sandbox::hosts::display_address(address)
            ),
            None => "missing; build with scripts/build-runner-image.sh".to_string(),
        };
        missing.into_iter().fold(Check::fail("images", fix), Check::detail)
    });
    docker.shutdown().await;
    if let Some(runtime) = &settings.runtime {
        checks.push(runtime_check(&name, settings, languages, engine, runtime).await);
    }
    true
}

/// The engine's and runc's versions against the runc container escapes (CVE-2019-5736,
/// CVE-2024-21626). Distribution builds are named with a pointer to their advisory instead of an
/// alarm (see `oc_sandbox::docker::advisories`).
fn escape_advisories(
    name: &str,
    components: Result<Vec<(String, String, Option<String>)>, oc_sandbox::SandboxError>,
) -> Check {
    use oc_sandbox::docker::advisories::{assess, fixed_in, Component, Verdict};
    let components = match components {
        Ok(components) => components,
        Err(err) => {
            return Check::warn(
                "escape-cves",
                format!("{name}cannot read the engine's versions: {err}"),
            )
        }
    };
    let mut status = Status::Ok;
    let mut distribution = false;
    let mut lines = Vec::new();
    let mut seen = Vec::new();
    for (component_name, version, commit) in &components {
        let component = match component_name.as_str() {
            "Engine" => Component::Engine,
            "runc" => Component::Runc,
            _ => continue,
        };
        seen.push(format!("{} {version}", component.name()));
        let fixes = |cves: &[&str]| {
            cves.iter()
                .map(|cve| {
                    format!(
                        "{cve} (fixed in {} {})",
                        component.name(),
                        fixed_in(component, cve).unwrap_or("?")
                    )
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        match assess(component, version, commit.as_deref()) {
            Verdict::Patched => {}
            Verdict::Vulnerable(cves) => {
                status = Status::Warn;
                lines.push(format!(
                    "{} {version} is older than the fix of {}: upgrade it",
                    component.name(),
                    fixes(&cves)
                ));
            }
            Verdict::DistributionBuild(cves) => {
                distribution = true;
                lines.push(format!(
                "{} version {version}{}: a distribution build (fixes are backported); check your distribution's advisory for {}",
                component.name(),
                commit.as_ref().map(|c| format!(" ({c})")).unwrap_or_default(),
                fixes(&cves)
                ))
            }
            Verdict::Unknown => {
                status = Status::Warn;
                lines.push(format!(
                    "{} version {version:?} cannot be compared with the escape fixes",
                    component.name()
                ));
            }
        }
    }
    if !components.iter().any(|(n, _, _)| n == "runc") {
        status = Status::Warn;
        lines.push("the engine does not report its runc version: check it against CVE-2019-5736 and CVE-2024-21626".into());
    }
    let summary = match status {
        Status::Ok if distribution => format!(
            "{name}{}: distribution builds, see their advisories",
            seen.join(", ")
        ),
        Status::Ok => format!(
            "{name}{}: no known runc escape applies by version",
            seen.join(", ")
        ),
        _ => format!(
            "{name}{}: may be open to a runc container escape",
            seen.join(", ")
        ),
    };
    lines
        .into_iter()
        .fold(Check::new("escape-cves", status, summary), Check::detail)
}

/// `EXEC_RUNTIME`: the daemon lists it and a tiny run works under it.
async fn runtime_check(
    name: &str,
    settings: &crate::exec::ExecSettings,
    languages: &std::sync::Arc<oc_sandbox::LanguageTable>,
    engine: &Engine,
    runtime: &str,
) -> Check {
    let host = match oc_sandbox::DockerHost::connect(oc_sandbox::HostConfig {
        address: engine.address.clone(),
        tls_dir: engine.tls_dir.clone(),
        runtime: Some(runtime.to_string()),
        ..oc_sandbox::HostConfig::default()
    })
    .await
    {
        Ok(host) => host,
        Err(err) => {
            return Check::fail("runtime", format!("{name}{err}"))
                .detail("run scripts/ensure-gvisor.sh")
        }
    };
    let cfg = oc_sandbox::DockerConfig {
        image: settings.image.clone(),
        seccomp_profile: settings.seccomp_profile.clone(),
        cache_dir: None,
        languages: languages.clone(),
        ..oc_sandbox::DockerConfig::default()
    };
    let docker = match oc_sandbox::DockerBackend::new(host, cfg).await {
        Ok(docker) => docker,
        Err(err) => return Check::fail("runtime", format!("{name}{err}")),
    };
    let (tx, mut rx) = tokio::sync::mpsc::channel(16);
    let probe = oc_sandbox::SandboxBackend::run(
        &docker,
        oc_sandbox::RunSpec::single("python", "main.py", "print(6 * 7)"),
        tx,
    );
    let (outcome, output) = tokio::join!(probe, async {
        let mut out = Vec::new();
        while let Some(chunk) = rx.recv().await {
            out.extend_from_slice(&chunk.data);
        }
        out
    });
    docker.shutdown().await;
    match outcome {
        Ok(o) if o.exit_code == Some(0) && String::from_utf8_lossy(&output).trim() == "42" => {
            Check::ok(
                "runtime",
                format!(
                    "{name}sandboxes run under {runtime:?} (a Python run took {:?})",
                    o.duration
                ),
            )
        }
        Ok(o) => Check::fail(
            "runtime",
            format!(
                "{name}a Python run under {runtime:?} did not print 42 (exit {:?}): {}",
                o.exit_code,
                String::from_utf8_lossy(&output).trim()
            ),
        ),
        Err(err) => Check::fail(
            "runtime",
            format!("{name}a Python run under {runtime:?} failed: {err}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn components(list: &[(&str, &str, Option<&str>)]) -> Vec<(String, String, Option<String>)> {
        list.iter()
            .map(|(n, v, c)| (n.to_string(), v.to_string(), c.map(str::to_string)))
            .collect()
    }

    #[test]
    fn old_upstream_runc_warns_and_debian_builds_point_to_the_advisory() {
        let old = escape_advisories(
            "",
            Ok(components(&[
                ("Engine", "24.0.7", None),
                ("runc", "1.1.11", Some("v1.1.11-0-g4bccb38")),
            ])),
        );
        assert_eq!(old.status, Status::Warn);
        assert!(
            old.details
                .iter()
                .any(|d| d.contains("runc 1.1.11") && d.contains("CVE-2024-21626")),
            "{old:?}"
        );
        let fixed = escape_advisories(
            "",
            Ok(components(&[
                ("Engine", "27.3.1", None),
                ("runc", "1.1.14", None),
            ])),
        );
        assert_eq!(fixed.status, Status::Ok);
        assert!(fixed.details.is_empty(), "{fixed:?}");
        let debian = escape_advisories(
            "",
            Ok(components(&[
                ("Engine", "20.10.24+dfsg1", Some("5d6db84")),
                ("runc", "1.1.5+ds1", Some("1.1.5+ds1-1+deb12u1")),
            ])),
        );
        assert_eq!(debian.status, Status::Ok);
        assert!(
            debian
                .details
                .iter()
                .any(|d| d.contains("runc version 1.1.5+ds1")
                    && d.contains("distribution's advisory")),
            "{debian:?}"
        );
        let silent = escape_advisories("", Ok(components(&[("Engine", "27.3.1", None)])));
        assert_eq!(
            silent.status,
            Status::Warn,
            "an engine that hides its runc version is not vouched for"
        );
    }
}
