//! Escapes through the run API (Judge0 CVE-2024-29021 class: a request field that turns the
//! network on; a server secret visible to user code), over real HTTP and real Docker, under the
//! default runtime and gVisor's runsc (registered by `scripts/ensure-gvisor.sh`).

mod common;

use common::TestApp;
use serde_json::json;

const SECRET: &str = "escape-test-secret-0123456789abcdef-never-inside-a-sandbox";

/// Every IPv4 address of this machine plus the bridge gateway and the metadata address.
fn host_addresses() -> Vec<String> {
    let out = std::process::Command::new("hostname")
        .arg("-I")
        .output()
        .expect("hostname -I");
    let mut addrs: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .filter(|a| !a.contains(':'))
        .map(str::to_string)
        .collect();
    addrs.extend([
        "127.0.0.1".to_string(),
        "172.17.0.1".to_string(),
        "169.254.169.254".to_string(),
    ]);
    addrs
}

#[tokio::test]
async fn no_request_field_opens_the_network_and_no_secret_reaches_user_code() {
    oc_sandbox::testing::hold_shared_docker_lock();
    for runtime in ["", "runsc"] {
        let mut vars = vec![("JWT_SECRET", SECRET)];
        if !runtime.is_empty() {
            vars.push(("EXEC_RUNTIME", runtime));
        }
        let app = TestApp::spawn_with(&vars).await;
        let health = app.get("/api/health", None).await;
        assert_eq!(
            health.body["exec"]["backend"], "docker",
            "needs Docker and the runner image: {}",
            health.body
        );
        let ada = app.signup("Ada").await;
        let port = app.addr.port();
        let probe = format!(
            r#"import os, socket
reached = []
for h in {addrs:?}:
    for p in [{port}, 5432, 6379, 2375, 80]:
        s = socket.socket(); s.settimeout(1)
        try:
            s.connect((h, p)); reached.append(f"{{h}}:{{p}}")
        except OSError:
            pass
        s.close()
print("ifaces", sorted(os.listdir("/sys/class/net")))
print("reached", reached)
print("env", dict(os.environ))
print("pid1", open("/proc/1/environ", "rb").read())
print("kernel", os.uname().release)
"#,
            addrs = host_addresses()
        );
        let pad = app
            .post(
                "/api/pads",
                Some(&ada.token),
                json!({ "title": "escape", "language": "python" }),
            )
            .await;
        let slug = pad.body["pad"]["slug"].as_str().unwrap().to_string();
        let file = app
            .post(
                &format!("/api/pads/{slug}/files"),
                Some(&ada.token),
                json!({ "name": "probe.py", "content": probe }),
            )
            .await;
        assert_eq!(file.status, 201, "{:?}", file.body);
        let extra = [
            json!({}),
            json!({ "network": "bridge" }),
            json!({ "networkMode": "host", "network_mode": "host", "NetworkMode": "host" }),
            json!({ "privileged": true, "capAdd": ["NET_ADMIN"], "runtime": "runc" }),
            json!({ "limits": { "network": true, "enableNetwork": true, "memoryMb": 4096 } }),
            json!({ "enable_network": true, "hostConfig": { "NetworkMode": "host", "Privileged": true } }),
        ];
        let mut executed = 0;
        for fields in extra {
            let mut body = json!({ "entry": "probe.py" });
            body.as_object_mut()
                .unwrap()
                .extend(fields.as_object().unwrap().clone());
            let r = app
                .post(
                    &format!("/api/pads/{slug}/runs?wait=1"),
                    Some(&ada.token),
                    body.clone(),
                )
                .await;
            if r.status.as_u16() >= 400 && executed > 0 {
                assert!(
                    r.status.is_client_error(),
                    "{runtime:?} {body}: {} {:?}",
                    r.status,
                    r.body
                );
                continue;
            }
            executed += 1;
            assert_eq!(r.status, 200, "{runtime:?} {body}: {:?}", r.body);
            let out = r.body["run"]["stdout"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            assert!(
                out.contains("ifaces ['lo']"),
                "{runtime:?} {body}: {out} {:?}",
                r.body
            );
            assert!(out.contains("reached []"), "{runtime:?} {body}: {out}");
            assert!(
                !out.contains(SECRET) && !out.contains("JWT_SECRET"),
                "{runtime:?} {body}: a secret reached the run"
            );
            // gVisor answers with its own kernel, never the host's.
            let host_kernel = String::from_utf8(
                std::process::Command::new("uname")
                    .arg("-r")
                    .output()
                    .unwrap()
                    .stdout,
            )
            .unwrap();
            let sees_host_kernel = out.contains(&format!("kernel {}", host_kernel.trim()));
            assert_eq!(sees_host_kernel, runtime.is_empty(), "{runtime:?}: {out}");
            let stored = r.body.to_string();
            assert!(
                !stored.contains(SECRET),
                "{runtime:?}: the secret is in the run's answer"
            );
        }
        assert!(executed > 0, "{runtime:?}: no probe ran");
    }
}

#[tokio::test]
async fn a_runtime_the_daemon_does_not_list_refuses_to_start() {
    oc_sandbox::testing::hold_shared_docker_lock();
    let dir = tempfile::tempdir().unwrap();
    let vars: std::collections::HashMap<String, String> = [
        ("DATA_DIR", dir.path().display().to_string()),
        ("EXEC_RUNTIME", "oc-no-such-runtime".to_string()),
        ("EXEC_POOL", String::new()),
        ("EXEC_REMOVE_LEFTOVERS", "0".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let mut config = opencoder::config::Config::from_vars(&vars).expect("config");
    config.prepare().expect("prepare");
    let err = match opencoder::AppState::new(config).await {
        Ok(_) => panic!("the server started with a runtime the daemon does not list"),
        Err(err) => format!("{err:#}"),
    };
    assert!(
        err.contains("oc-no-such-runtime") && err.contains("ensure-gvisor.sh"),
        "{err}"
    );
}
