//! The Docker client of one engine and how its failures are classified: a connection error
//! means "the daemon is not there", anything else "this request failed".

use std::sync::Mutex;
use std::time::Duration;

use bollard::errors::Error as DockerError;
use bollard::Docker;

use super::tls::Tls;
use crate::SandboxError;

/// The Docker client. bollard refuses to build a client for a unix socket that does not exist
/// yet, so a daemon that is not there at start gets its client on the first call that finds the
/// socket: a daemon that comes up later is used without a restart.
pub(crate) struct Client {
    address: Option<String>,
    /// TLS settings of a `tcp://` address (none: plain TCP, or a unix socket).
    tls: Option<Tls>,
    docker: Mutex<Option<Docker>>,
    timeout: Duration,
}

impl Client {
    /// The client of `address` (`None`: `DOCKER_HOST`, else the local socket); one whose socket
    /// does not exist yet is built on first use.
    pub(crate) fn new(
        address: Option<String>,
        tls: Option<Tls>,
        timeout: Duration,
    ) -> Result<Client, DockerError> {
        let docker = match Self::connect(address.as_deref(), tls.as_ref(), timeout) {
            Ok(docker) => Some(docker),
            Err(DockerError::SocketNotFoundError(_)) => None,
            Err(e) => return Err(e),
        };
        Ok(Client {
            address,
            tls,
            docker: Mutex::new(docker),
            timeout,
        })
    }

    fn connect(
        address: Option<&str>,
        tls: Option<&Tls>,
        timeout: Duration,
    ) -> Result<Docker, DockerError> {
        let docker = match (address, tls) {
            (Some(address), Some(tls)) => tls.connect(address, timeout.as_secs())?,
            (Some(address), None) => Docker::connect_with_host(address)?,
            (None, _) => Docker::connect_with_defaults()?,
        };
        Ok(docker.with_timeout(timeout.max(Duration::from_secs(5))))
    }

    pub(crate) fn tls(&self) -> Option<&Tls> {
        self.tls.as_ref()
    }

    pub(crate) fn get(&self) -> Result<Docker, DockerError> {
        let mut slot = self.docker.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(docker) = slot.as_ref() {
            return Ok(docker.clone());
        }
        let docker = Self::connect(self.address.as_deref(), self.tls.as_ref(), self.timeout)?;
        *slot = Some(docker.clone());
        Ok(docker)
    }
}

/// An error with its causes (`a: b: c`), or what a TLS failure among them means: the client's
/// errors ("connect", "send request") keep the reason in their causes.
pub(crate) fn describe(e: &(dyn std::error::Error + 'static)) -> String {
    if let Some(why) = super::tls::explain(e) {
        return why;
    }
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let part = c.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        cause = c.source();
    }
    text
}

/// Docker errors that mean "the daemon is not there" rather than "this request failed".
pub(crate) fn is_connection_error(e: &DockerError) -> bool {
    matches!(
        e,
        DockerError::IOError { .. }
            | DockerError::HyperResponseError { .. }
            | DockerError::HttpClientError { .. }
            | DockerError::SocketNotFoundError(_)
            | DockerError::RequestTimeoutError
            | DockerError::HyperLegacyError { .. }
    )
}

pub(crate) fn status_of(e: &DockerError) -> Option<u16> {
    match e {
        DockerError::DockerResponseServerError { status_code, .. } => Some(*status_code),
        _ => None,
    }
}

/// Classified failure of one Docker call.
#[derive(Debug)]
pub(crate) enum CallError {
    Down(String),
    Timeout(String),
    Api(Option<u16>, String),
}

impl CallError {
    pub(crate) fn message(&self) -> &str {
        match self {
            CallError::Down(m) | CallError::Timeout(m) | CallError::Api(_, m) => m,
        }
    }
    pub(crate) fn into_sandbox(self) -> SandboxError {
        match self {
            CallError::Down(m) | CallError::Timeout(m) => SandboxError::Unavailable(m),
            CallError::Api(_, m) => SandboxError::Internal(m),
        }
    }
}

impl From<CallError> for SandboxError {
    fn from(e: CallError) -> Self {
        e.into_sandbox()
    }
}
