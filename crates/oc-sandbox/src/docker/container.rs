//! Run containers: what one is created with, creating and starting it, and the guard that
//! removes it whatever happens to the run.

use std::sync::Arc;

use bollard::models::ContainerCreateBody;

use super::backend::Inner;
use super::labels::ContainerKind;
use super::lockdown::{base_env, sandbox_host_config, SANDBOX_USER};
use crate::languages::Language;
use crate::prestart::Interpreter;
use crate::script;
use crate::{RunLimits, SandboxError};

const LANGUAGE_LABEL: &str = "opencoder.sandbox.language";
const POOL_LABEL: &str = "opencoder.sandbox.pool";
/// Name prefix of run containers.
const NAME_PREFIX: &str = "oc-sbx";

impl Inner {
    fn container_body(
        &self,
        lang: &Language,
        limits: &RunLimits,
        pooled: bool,
    ) -> ContainerCreateBody {
        let plan = lang.plan("", &[], &script::docker_paths());
        let mut env = base_env();
        env.extend(plan.env.iter().map(|(k, v)| format!("{k}={v}")));
        let host = sandbox_host_config(limits, self.seccomp.as_deref(), self.host.runtime());
        let mut labels = self.host.labels(ContainerKind::Run);
        labels.insert(LANGUAGE_LABEL.to_string(), lang.id.clone());
        labels.insert(
            POOL_LABEL.to_string(),
            if pooled { "1" } else { "0" }.to_string(),
        );
        // A pooled container of a language that allows it waits with its interpreter started.
        let cmd = match Interpreter::of(lang).filter(|_| pooled) {
            Some(interpreter) => interpreter.container_cmd(),
            None => script::container_cmd(),
        };
        ContainerCreateBody {
            image: Some(self.image_for(lang)),
            entrypoint: Some(vec![cmd[0].clone()]),
            cmd: Some(cmd[1..].to_vec()),
            env: Some(env),
            user: Some(SANDBOX_USER.into()),
            working_dir: Some(script::HOME.into()),
            hostname: Some("sandbox".into()),
            // Nothing in a sandbox deserves a graceful stop (also keeps daemon shutdowns fast).
            stop_signal: Some("SIGKILL".into()),
            stop_timeout: Some(1),
            attach_stdin: Some(true),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            open_stdin: Some(true),
            stdin_once: Some(true),
            tty: Some(false),
            network_disabled: Some(true),
            labels: Some(labels),
            host_config: Some(host),
            ..Default::default()
        }
    }

    /// Creates and starts an idle container (waiting for its input: the tar of [`script`], or a
    /// pre-started interpreter's input for a pooled one).
    pub(crate) async fn create_started(
        &self,
        lang: &Language,
        limits: &RunLimits,
        pooled: bool,
    ) -> Result<String, SandboxError> {
        let body = self.container_body(lang, limits, pooled);
        self.host.create_started(NAME_PREFIX, body).await
    }

    pub(crate) async fn start_pool_container(
        &self,
        language: &str,
    ) -> Result<String, SandboxError> {
        let lang = self
            .cfg
            .languages
            .get(language)
            .ok_or_else(|| SandboxError::UnknownLanguage(language.to_string()))?
            .clone();
        let limits = self.pool.cfg.limits.clone();
        self.create_started(&lang, &limits, true).await
    }
}

/// Removes the container when dropped unless disarmed (cancellation, early returns, panics).
pub(crate) struct ContainerGuard {
    inner: Arc<Inner>,
    id: Option<String>,
}

impl ContainerGuard {
    pub(crate) fn new(inner: Arc<Inner>, id: String) -> Self {
        Self {
            inner,
            id: Some(id),
        }
    }
    pub(crate) fn id(&self) -> &str {
        self.id.as_deref().unwrap_or("")
    }
    /// The run ended at its end frames: the container is removed in the background once it
    /// stopped by itself.
    pub(crate) fn retire(mut self) {
        if let Some(id) = self.id.take() {
            self.inner.spawn_remove_after_exit(id);
        }
    }
    /// Removes the container now (waiting for it).
    pub(crate) async fn remove_now(mut self) {
        if let Some(id) = self.id.take() {
            self.inner.remove_now(&id).await;
        }
    }
}

impl Drop for ContainerGuard {
    fn drop(&mut self) {
        if let Some(id) = self.id.take() {
            self.inner.spawn_remove(id);
        }
    }
}
