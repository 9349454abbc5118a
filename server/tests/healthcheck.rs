//! `opencoder healthcheck [--ready]`, the container image's HEALTHCHECK: the real binary against
//! a real server (exit 0), a port nobody listens on and a server that answers 503 (exit 1, the
//! reason on stderr, with what `/readyz` said failed).

mod common;

use std::process::Output;

use common::TestApp;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const BIN: &str = env!("CARGO_BIN_EXE_opencoder");

/// `opencoder healthcheck <args>` configured like a server on `HOST`/`PORT`, nothing else.
async fn healthcheck(host: &str, port: u16, args: &[&str]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    tokio::process::Command::new(BIN)
        .env_clear()
        .current_dir(dir.path())
        .env("DATA_DIR", dir.path().join("data"))
        .env("HOST", host)
        .env("PORT", port.to_string())
        .arg("healthcheck")
        .args(args)
        .output()
        .await
        .expect("run opencoder healthcheck")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test]
async fn a_serving_node_passes_both_checks_even_when_it_listens_on_every_address() {
    let app = TestApp::spawn().await;
    let port = app.addr.port();
    for args in [&[][..], &["--ready"][..]] {
        let out = healthcheck("127.0.0.1", port, args).await;
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        // HOST=0.0.0.0 (a container's setting) is asked over loopback.
        let out = healthcheck("0.0.0.0", port, args).await;
        assert!(
            out.status.success(),
            "{args:?} on 0.0.0.0: {}",
            stderr(&out)
        );
    }
}

#[tokio::test]
async fn nobody_listening_fails_with_the_address() {
    // A port just freed: nothing listens there.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let out = healthcheck("127.0.0.1", port, &[]).await;
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains(&format!("127.0.0.1:{port}/healthz")), "{err}");
}

#[tokio::test]
async fn a_503_fails_the_check_and_shows_what_failed() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let answered = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut request = vec![0u8; 1024];
        let n = socket.read(&mut request).await.unwrap();
        let body = r#"{"ready":false,"failing":["database"]}"#;
        let reply = format!(
            "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
             content-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        socket.write_all(reply.as_bytes()).await.unwrap();
        String::from_utf8_lossy(&request[..n]).into_owned()
    });
    let out = healthcheck("127.0.0.1", port, &["--ready"]).await;
    let request = answered.await.unwrap();
    assert!(request.starts_with("GET /readyz HTTP/1.1\r\n"), "{request}");
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("answered 503") && err.contains(r#""failing":["database"]"#),
        "{err}"
    );
}
