//! The pad terminal's container: starting it (charged to someone with a container place left),
//! stopping, replacing and restarting it, and the answers of the start in the background.

use super::byte_bucket::ByteBucket;
use super::*;

impl PadTerminal {
    /// Start a fresh container, charged to the first of `payers` with a container place left.
    /// Without one, everyone is told why (`too_many_containers`) and the terminal stays stopped.
    pub(super) fn start(&mut self, payers: &[UserId]) -> Result<(), String> {
        let mut refusal = None;
        let mut slot = None;
        for &user in payers {
            match self.terminals.claim_container(&self.state, user) {
                Ok(claimed) => {
                    slot = Some(claimed);
                    break;
                }
                Err(why) => refusal = Some(why),
            }
        }
        let Some(slot) = slot else {
            let why = refusal
                .unwrap_or_else(|| "nobody who may type is here to start the terminal".into());
            self.broadcast(error_message("too_many_containers", &why));
            self.stop(Status::Exited {
                code: None,
                error: Some(why.clone()),
            });
            return Err(why);
        };
        self.gen += 1;
        let gen = self.gen;
        let now = Instant::now();
        self.phase = Phase::Starting {
            gen,
            since: now,
            pending: Vec::new(),
        };
        self.last_input = now;
        self.last_start = Some(now);
        self.typed.clear();
        self.recorder.new_session();
        self.set_status(Status::Starting);
        if self.in_flight {
            self.queued = Some(slot);
        } else {
            self.spawn_start(gen, slot);
        }
        Ok(())
    }

    /// Create the container in a helper task that reports back with `Cmd::Started`.
    pub(super) fn spawn_start(&mut self, gen: u64, slot: ContainerSlot) {
        self.in_flight = true;
        let state = self.state.clone();
        let terminals = self.terminals.clone();
        let tx = self.tx.clone();
        let pad = self.pad;
        let size = self.size;
        self.state.tasks.spawn(async move {
            let result = async {
                let files = pad_files(&state, pad)
                    .await
                    .map_err(|e| SandboxError::Internal(format!("reading the pad's files: {e}")))?;
                terminals.start_session(pad, &files, size).await
            }
            .await;
            // (The slot is given back only once the container is gone.)
            if let Err(mpsc::error::SendError(Cmd::Started {
                result: Ok((session, _)),
                ..
            })) = tx.send(Cmd::Started { gen, result, slot }).await
            {
                session.close().await;
            }
        });
    }

    /// Stop the current session (if any): its container is removed in the background.
    pub(super) fn stop(&mut self, status: Status) {
        self.discard_session();
        self.set_status(status);
    }

    /// End the current container or creation without announcing anything.
    pub(super) fn discard_session(&mut self) {
        self.queued = None;
        match std::mem::replace(&mut self.phase, Phase::New) {
            Phase::Running { session, slot, .. } => {
                // A late `Output`/`Exited` of this generation is ignored from now on.
                self.gen += 1;
                self.close_in_background(session, slot);
            }
            Phase::Starting { .. } => self.gen += 1, // `Started` will close what it brings
            Phase::New | Phase::Stopped(_) => {}
        }
    }

    /// Remove a container; its place is given back once it is gone.
    pub(super) fn close_in_background(&self, session: Arc<TerminalSession>, slot: ContainerSlot) {
        self.state.tasks.spawn(async move {
            session.close().await;
            drop(slot);
        });
    }

    pub(super) fn on_started(
        &mut self,
        gen: u64,
        result: Result<(TerminalSession, mpsc::Receiver<TerminalEvent>), SandboxError>,
        slot: ContainerSlot,
    ) {
        self.in_flight = false;
        let current = matches!(&self.phase, Phase::Starting { gen: g, .. } if *g == gen);
        match result {
            Ok(started) if current => self.on_running(gen, started, slot),
            Ok((session, _)) => self.close_in_background(Arc::new(session), slot),
            Err(_) if !current => {}
            Err(err) => self.on_start_failed(err),
        }
        // A start wanted while this creation was in flight begins now.
        if let Some(slot) = self.queued.take() {
            if let Phase::Starting { gen, .. } = self.phase {
                self.spawn_start(gen, slot);
            }
        }
    }

    pub(super) fn on_start_failed(&mut self, err: SandboxError) {
        tracing::warn!(error = %err, pad = %self.pad, "terminal could not start");
        let (code, message) = match &err {
            SandboxError::Unavailable(m) | SandboxError::HostUnavailable(m) => (
                "terminal_unavailable",
                format!("the terminal sandbox is unavailable: {m}"),
            ),
            SandboxError::TooLarge { .. }
            | SandboxError::InvalidFileName(_)
            | SandboxError::InvalidRequest(_) => (
                "start_failed",
                format!("the pad's files cannot be placed in the terminal: {err}"),
            ),
            _ => ("start_failed", "the terminal could not start".to_string()),
        };
        self.broadcast(error_message(code, &message));
        self.phase = Phase::New;
        self.set_status(Status::Exited {
            code: None,
            error: Some(message),
        });
    }

    pub(super) fn on_running(
        &mut self,
        gen: u64,
        (session, events): (TerminalSession, mpsc::Receiver<TerminalEvent>),
        slot: ContainerSlot,
    ) {
        let Phase::Starting { since, pending, .. } = std::mem::replace(&mut self.phase, Phase::New)
        else {
            unreachable!()
        };
        let session = Arc::new(session);
        let (input_tx, mut input_rx) = mpsc::channel::<InputItem>(INPUT_QUEUE);
        // Input writer: keystrokes and resizes, in order, never blocking this task.
        let writer = session.clone();
        let started_size = self.size;
        self.state.tasks.spawn(async move {
            let mut size = started_size;
            while let Some(item) = input_rx.recv().await {
                let res = match item {
                    InputItem::Bytes(bytes) => writer.write(&bytes).await,
                    InputItem::Resize(new) if new != size => {
                        size = new;
                        writer.resize(new).await
                    }
                    InputItem::Resize(_) => Ok(()),
                };
                if let Err(err) = res {
                    // Never the input itself: only that writing failed.
                    tracing::debug!(error = %err, "terminal input not delivered");
                }
            }
        });
        // Output pump: rate limit, then hand to this task.
        let tx = self.tx.clone();
        let rate = self.terminals.settings().output_bytes_per_sec;
        self.state.tasks.spawn(async move {
            let mut events = events;
            let mut bucket = ByteBucket::new(rate);
            while let Some(event) = events.recv().await {
                let cmd = match event {
                    TerminalEvent::Output(bytes) => {
                        let wait = bucket.take(bytes.len(), Instant::now());
                        if !wait.is_zero() {
                            // Paused: the shell blocks on its TTY meanwhile.
                            tokio::time::sleep(wait).await;
                        }
                        Cmd::Output { gen, bytes }
                    }
                    TerminalEvent::Exited { code } => Cmd::Exited { gen, code },
                };
                if tx.send(cmd).await.is_err() {
                    break;
                }
            }
        });
        if !pending.is_empty() {
            let _ = input_tx.try_send(InputItem::Bytes(Bytes::from(pending)));
        }
        self.phase = Phase::Running {
            gen,
            since,
            session,
            input: input_tx,
            slot,
        };
        if let Some(size) = self.typist_size() {
            self.apply_size(size);
        }
        self.set_status(Status::Running);
    }

    /// A fresh container and shell in place of the current one, with `notice` in the output.
    pub(super) fn restart(
        &mut self,
        notice: &'static [u8],
        payers: &[UserId],
    ) -> Result<(), String> {
        self.discard_session();
        self.scrollback.push(notice);
        self.broadcast(Out::Binary(Bytes::from_static(notice)));
        self.start(payers)
    }

    /// A restart someone asked for: debounced, and charged to them.
    pub(super) fn requested_restart(&mut self, user: UserId) -> Result<(), RestartRefused> {
        let now = Instant::now();
        if let Some(wait) = self
            .last_start
            .map(|t| (t + RESTART_DEBOUNCE).saturating_duration_since(now))
        {
            if !wait.is_zero() {
                return Err(RestartRefused::TooSoon(wait));
            }
        }
        self.restart(RESTARTED_NOTICE, &[user])
            .map_err(RestartRefused::NoContainer)
    }

    /// `user` may no longer type here: if they typed into the current shell, replace it (no
    /// debounce) so nothing they left running survives, charged to someone who may still type.
    pub(super) fn on_typing_right_lost(&mut self, user: UserId) {
        if !self.typed.remove(&user) || matches!(self.phase, Phase::New | Phase::Stopped(_)) {
            return;
        }
        tracing::info!(pad = %self.pad, %user, "a typist lost access; replacing the shell");
        let mut payers: Vec<UserId> = Vec::new();
        for client in self.clients.values() {
            if client.role.can_edit() && client.user != user && !payers.contains(&client.user) {
                payers.push(client.user);
            }
        }
        if payers.is_empty() {
            self.scrollback.push(REPLACED_NOTICE);
            self.broadcast(Out::Binary(Bytes::from_static(REPLACED_NOTICE)));
            let why = "stopped: someone who typed here lost access, and nobody here may start a new shell";
            self.stop(Status::Exited {
                code: None,
                error: Some(why.into()),
            });
        } else {
            let _ = self.restart(REPLACED_NOTICE, &payers);
        }
    }
}
