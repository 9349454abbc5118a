//! What the terminal does for the commands of its clients and of REST: a join, a restart, a file
//! sync, and access changes (a member's new role, a revoked user).

use super::*;

impl PadTerminal {
    /// A socket joins: it is told its role, the status, the size and the scrollback; the first
    /// join of a role that may type starts the container.
    pub(super) fn on_join(
        &mut self,
        conn: ConnId,
        user: UserId,
        role: Role,
        out: mpsc::Sender<Out>,
        close: oneshot::Sender<CloseReason>,
        ack: oneshot::Sender<Result<(), CloseReason>>,
    ) {
        if self.clients.len() >= MAX_CLIENTS_PER_PAD {
            let _ = ack.send(Err(CLOSE_TOO_MANY));
            return;
        }
        if ack.send(Ok(())).is_err() {
            return;
        }
        self.clients.insert(
            conn,
            Client {
                user,
                role,
                role_stale: false,
                out,
                close: Some(close),
                size: None,
                last_refusal: None,
            },
        );
        self.empty_since = None;
        self.send_to(conn, role_message(role));
        // Only a role that may type brings a container into being.
        let starts = matches!(self.phase, Phase::New) && role.can_edit();
        if !starts {
            // (A starting terminal announces `starting` to everyone.)
            let status = self.status_message();
            self.send_to(conn, status);
            if matches!(self.phase, Phase::New) {
                self.send_to(conn, error_message("not_running", NOT_STARTED));
            }
        }
        let size = self.size_message();
        self.send_to(conn, size);
        if !self.scrollback.is_empty() {
            let replay = Bytes::from(self.scrollback.contents());
            self.send_to(conn, Out::Binary(replay));
        }
        if starts {
            let _ = self.start(&[user]);
        }
    }

    /// A restart asked for by a socket (its current role must allow typing) or through REST
    /// (already checked), debounced.
    pub(super) async fn on_restart(
        &mut self,
        by: Requester,
        reply: Option<oneshot::Sender<AppResult<()>>>,
    ) {
        let user = match by {
            Requester::Socket(conn) => match self.current_role(conn).await {
                Some(role) if role.can_edit() => match self.clients.get(&conn) {
                    Some(client) => client.user,
                    None => return,
                },
                Some(_) => {
                    self.refuse(conn, "read_only", "your role may not restart the terminal");
                    return;
                }
                None => return,
            },
            Requester::Api(user) => user,
        };
        let result = self.requested_restart(user);
        match (by, reply, result) {
            (_, Some(reply), result) => {
                let _ = reply.send(result.map_err(RestartRefused::into_app_error));
            }
            (Requester::Socket(conn), None, Err(RestartRefused::TooSoon(_))) => {
                self.refuse(
                    conn,
                    "restart_too_soon",
                    &RestartRefused::too_soon_message(),
                );
            }
            // `too_many_containers` was told to everyone by the start itself.
            (_, None, _) => {}
        }
    }

    /// Write the pad's current files into the running session's workspace (in a helper task).
    pub(super) fn on_sync_files(&mut self, reply: oneshot::Sender<AppResult<usize>>) {
        match &self.phase {
            Phase::Running { session, .. } => {
                let session = session.clone();
                let state = self.state.clone();
                let pad = self.pad;
                self.state.tasks.spawn(async move {
                    let result = async {
                        let files = pad_files(&state, pad).await?;
                        session.sync_files(&files).await.map_err(sandbox_error)?;
                        Ok(files.len())
                    }
                    .await;
                    let _ = reply.send(result);
                });
            }
            _ => {
                let _ = reply.send(Err(AppError::conflict(
                    "terminal_not_running",
                    "the terminal is not running",
                )));
            }
        }
    }

    /// A member's role changed (`None`: removed): their sockets follow at once, and a typist
    /// who lost the right to type has the shell replaced.
    pub(super) fn on_member(&mut self, user: UserId, role: Option<Role>) {
        for conn in self.conns_of(user) {
            match role {
                None => self.drop_client(conn, Some(CLOSE_FORBIDDEN)),
                Some(role) => {
                    if let Some(client) = self.clients.get_mut(&conn) {
                        client.role = role;
                        client.role_stale = false;
                    }
                    if self.typist == Some(conn) && !role.can_edit() {
                        self.typist = None;
                    }
                    self.send_to(conn, role_message(role));
                }
            }
        }
        if !role.is_some_and(Role::can_edit) {
            self.on_typing_right_lost(user);
        }
    }

    /// A user's sessions were revoked: their sockets close; a deleted account's shell goes too.
    pub(super) async fn on_user_revoked(&mut self, user: UserId) {
        for conn in self.conns_of(user) {
            self.drop_client(conn, Some(CLOSE_REVOKED));
        }
        // A deleted account (not just logged out everywhere) has no membership left:
        // nothing it typed into the shell may outlive it.
        if self.typed.contains(&user) {
            match crate::pads::store::member_role(&self.state.db, self.pad, user).await {
                Ok(Some(_)) => {}
                Ok(None) => self.on_typing_right_lost(user),
                Err(err) => {
                    tracing::error!(error = %err, "re-reading a revoked user's role failed")
                }
            }
        }
    }

    /// The sockets of `user` on this terminal.
    fn conns_of(&self, user: UserId) -> Vec<ConnId> {
        self.clients
            .iter()
            .filter(|(_, c)| c.user == user)
            .map(|(conn, _)| *conn)
            .collect()
    }
}
