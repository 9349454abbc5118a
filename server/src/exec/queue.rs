//! Run admission (SPEC §5): a global concurrency limit, a per-user limit, and a bounded wait
//! queue. A run that cannot even queue is refused at once (429 + Retry-After) instead of piling
//! up work the server cannot finish.
//!
//! The per-user limit counts containers of either kind: a terminal session container holds one
//! of its starter's places ([`RunQueue::hold_user_slot`]) for as long as it exists, so a user
//! never has more than `EXEC_PER_USER_CONCURRENCY` runs and terminals together.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::db::UserId;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The user already has `per_user` runs running or queued.
    UserBusy,
    /// The global queue is full.
    QueueFull,
}

#[derive(Debug)]
struct Counts {
    /// Runs admitted (running or waiting) per user.
    per_user: HashMap<UserId, usize>,
    /// Runs waiting for a global slot.
    waiting: usize,
}

#[derive(Clone)]
pub struct RunQueue {
    slots: Arc<Semaphore>,
    counts: Arc<Mutex<Counts>>,
    per_user_limit: usize,
    queue_limit: usize,
    global_limit: usize,
}

/// Held for the whole run; releases the user's slot (and the global one) on drop.
pub struct RunTicket {
    queue: RunQueue,
    user: UserId,
    _permit: OwnedSemaphorePermit,
}

/// A place in the queue, before a global slot is free. Dropping it gives the place back.
pub struct Reservation {
    queue: RunQueue,
    user: UserId,
    armed: bool,
}

impl Drop for Reservation {
    fn drop(&mut self) {
        let mut counts = self.queue.counts.lock().expect("queue counts poisoned");
        counts.waiting -= 1;
        if self.armed {
            release_user(&mut counts, self.user);
        }
    }
}

fn release_user(counts: &mut Counts, user: UserId) {
    if let Some(n) = counts.per_user.get_mut(&user) {
        *n -= 1;
        if *n == 0 {
            counts.per_user.remove(&user);
        }
    }
}

impl Drop for RunTicket {
    fn drop(&mut self) {
        let mut counts = self.queue.counts.lock().expect("queue counts poisoned");
        release_user(&mut counts, self.user);
    }
}

/// A user's place held by a terminal session container (no global run slot: terminals have
/// their own global cap). Dropping it gives the place back.
pub struct UserSlot {
    queue: RunQueue,
    user: UserId,
}

impl UserSlot {
    pub fn user(&self) -> UserId {
        self.user
    }
}

impl Drop for UserSlot {
    fn drop(&mut self) {
        let mut counts = self.queue.counts.lock().expect("queue counts poisoned");
        release_user(&mut counts, self.user);
    }
}

impl Reservation {
    /// Wait for a global slot; the returned ticket holds it for the whole run.
    pub async fn ready(mut self) -> RunTicket {
        let permit = self
            .queue
            .slots
            .clone()
            .acquire_owned()
            .await
            .expect("the run semaphore is never closed");
        // The ticket takes over the user's slot; the waiting place is given back.
        self.armed = false;
        RunTicket {
            queue: self.queue.clone(),
            user: self.user,
            _permit: permit,
        }
    }
}

impl RunQueue {
    pub fn new(global_limit: usize, per_user_limit: usize, queue_limit: usize) -> Self {
        RunQueue {
            slots: Arc::new(Semaphore::new(global_limit.max(1))),
            counts: Arc::new(Mutex::new(Counts {
                per_user: HashMap::new(),
                waiting: 0,
            })),
            per_user_limit: per_user_limit.max(1),
            queue_limit,
            global_limit: global_limit.max(1),
        }
    }

    /// Reserve a place for the user's run, or refuse at once when the user or the queue is full.
    /// Synchronous, so an HTTP handler can answer 429 before starting anything.
    pub fn reserve(&self, user: UserId) -> Result<Reservation, Refusal> {
        let mut counts = self.counts.lock().expect("queue counts poisoned");
        let mine = counts.per_user.get(&user).copied().unwrap_or(0);
        if mine >= self.per_user_limit {
            return Err(Refusal::UserBusy);
        }
        if self.slots.available_permits() == 0 && counts.waiting >= self.queue_limit {
            return Err(Refusal::QueueFull);
        }
        *counts.per_user.entry(user).or_default() += 1;
        counts.waiting += 1;
        Ok(Reservation {
            queue: self.clone(),
            user,
            armed: true,
        })
    }

    /// Take one of the user's places without waiting, or refuse when they already hold them all.
    pub fn hold_user_slot(&self, user: UserId) -> Result<UserSlot, Refusal> {
        let mut counts = self.counts.lock().expect("queue counts poisoned");
        if counts.per_user.get(&user).copied().unwrap_or(0) >= self.per_user_limit {
            return Err(Refusal::UserBusy);
        }
        *counts.per_user.entry(user).or_default() += 1;
        Ok(UserSlot {
            queue: self.clone(),
            user,
        })
    }

    pub fn running(&self) -> usize {
        self.global_limit - self.slots.available_permits()
    }

    pub fn waiting(&self) -> usize {
        self.counts.lock().expect("queue counts poisoned").waiting
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn per_user_and_queue_limits_refuse_at_once() {
        let queue = RunQueue::new(1, 2, 1);
        let (a, b) = (UserId(1), UserId(2));
        let first = queue.reserve(a).unwrap().ready().await;
        let second = queue.reserve(a).unwrap();
        assert_eq!(queue.waiting(), 1);
        assert_eq!(queue.reserve(a).err(), Some(Refusal::UserBusy));
        assert_eq!(queue.reserve(b).err(), Some(Refusal::QueueFull));
        let waiter = tokio::spawn(second.ready());
        drop(first);
        let ticket = waiter.await.unwrap();
        assert_eq!((queue.running(), queue.waiting()), (1, 0));
        drop(ticket);
        assert_eq!(queue.running(), 0);
        // A reservation given up returns the user's place.
        drop(queue.reserve(b).unwrap());
        let _ = queue.reserve(b).unwrap();
    }

    #[tokio::test]
    async fn terminal_slots_share_the_per_user_limit_with_runs() {
        let queue = RunQueue::new(4, 2, 4);
        let user = UserId(7);
        let terminal = queue.hold_user_slot(user).unwrap();
        let run = queue.reserve(user).unwrap();
        assert!(
            queue.hold_user_slot(user).is_err(),
            "a third container of either kind is refused"
        );
        assert_eq!(queue.reserve(user).err(), Some(Refusal::UserBusy));
        drop(terminal);
        let again = queue.hold_user_slot(user).unwrap();
        drop((run, again));
        assert!(queue.counts.lock().unwrap().per_user.is_empty());
    }
}
