//! The pad terminal's clients: what each is told (status, size, errors) and how they leave.

use super::*;

impl PadTerminal {
    pub(super) fn status_message(&self) -> Out {
        let status = match &self.phase {
            Phase::New => Status::Exited {
                code: None,
                error: Some(NOT_STARTED.into()),
            },
            Phase::Starting { .. } => Status::Starting,
            Phase::Running { .. } => Status::Running,
            Phase::Stopped(status) => status.clone(),
        };
        let settings = self.terminals.settings();
        let mut message = json!({
            "type": "status",
            "state": status.as_str(),
            "idleMs": settings.idle.as_millis() as u64,
            "maxMs": settings.max_lifetime.as_millis() as u64,
            "local": self.terminals.is_local(),
        });
        if let Status::Exited { code, error } = status {
            message["code"] = json!(code);
            if let Some(error) = error {
                message["message"] = json!(error);
            }
        }
        text(message)
    }

    pub(super) fn size_message(&self) -> Out {
        text(json!({ "type": "size", "cols": self.size.cols, "rows": self.size.rows }))
    }

    /// Queue a message for every client; a client whose queue is full is disconnected.
    pub(super) fn broadcast(&mut self, message: Out) {
        let mut slow = Vec::new();
        let mut gone = Vec::new();
        for (conn, client) in &self.clients {
            match client.out.try_send(message.clone()) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(_)) => slow.push(*conn),
                Err(mpsc::error::TrySendError::Closed(_)) => gone.push(*conn),
            }
        }
        for conn in slow {
            tracing::warn!(conn, pad = %self.pad, "terminal client too slow; disconnecting it");
            self.drop_client(conn, Some(CLOSE_TOO_SLOW));
        }
        for conn in gone {
            self.drop_client(conn, None);
        }
    }

    pub(super) fn send_to(&mut self, conn: ConnId, message: Out) {
        let Some(client) = self.clients.get(&conn) else {
            return;
        };
        match client.out.try_send(message) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => self.drop_client(conn, Some(CLOSE_TOO_SLOW)),
            Err(mpsc::error::TrySendError::Closed(_)) => self.drop_client(conn, None),
        }
    }

    /// A refusal for one client, at most once per `REFUSAL_EVERY`.
    pub(super) fn refuse(&mut self, conn: ConnId, code: &str, message: &str) {
        let now = Instant::now();
        let Some(client) = self.clients.get_mut(&conn) else {
            return;
        };
        if client
            .last_refusal
            .is_some_and(|t| now.saturating_duration_since(t) < REFUSAL_EVERY)
        {
            return;
        }
        client.last_refusal = Some(now);
        self.send_to(conn, error_message(code, message));
    }

    pub(super) fn drop_client(&mut self, conn: ConnId, reason: Option<CloseReason>) {
        if let Some(mut client) = self.clients.remove(&conn) {
            if let (Some(reason), Some(close)) = (reason, client.close.take()) {
                let _ = close.send(reason);
            }
        }
        if self.typist == Some(conn) {
            self.typist = None;
        }
        if self.clients.is_empty() && self.empty_since.is_none() {
            self.empty_since = Some(Instant::now());
        }
    }

    pub(super) fn close_all(&mut self, reason: CloseReason) {
        let conns: Vec<ConnId> = self.clients.keys().copied().collect();
        for conn in conns {
            self.drop_client(conn, Some(reason));
        }
    }

    pub(super) fn set_status(&mut self, status: Status) {
        let mut data = json!({ "state": status.as_str() });
        if let Status::Exited { code, error } = &status {
            data["code"] = json!(code);
            if let Some(e) = error {
                data["message"] = json!(e);
            }
        }
        self.recorder.status(data);
        if !matches!(status, Status::Starting | Status::Running) {
            self.phase = Phase::Stopped(status);
        }
        let message = self.status_message();
        self.broadcast(message);
    }

    /// Apply a new TTY size (if it changed) and tell everyone.
    pub(super) fn apply_size(&mut self, size: TermSize) {
        if size == self.size {
            return;
        }
        self.size = size;
        if let Phase::Running { input, .. } = &self.phase {
            // Through the input queue so a resize and the keystroke after it stay in order.
            let _ = input.try_send(InputItem::Resize(size));
        }
        let message = self.size_message();
        self.broadcast(message);
    }
}
