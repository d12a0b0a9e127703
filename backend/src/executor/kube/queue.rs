//! The work queue between the watchers and the database: a change marks its run dirty; a few workers bring
//! dirty runs up to date. A run is never synced by two workers at once, and a run that changes many times
//! while it waits is synced once, from the latest state the watchers hold (a backlog coalesces instead of
//! growing).

use std::collections::{HashSet, VecDeque};
use std::sync::Mutex;

use tokio::sync::Notify;
use uuid::Uuid;

#[derive(Default)]
pub struct Queue {
    state: Mutex<State>,
    ready: Notify,
}

#[derive(Default)]
struct State {
    order: VecDeque<Uuid>,
    queued: HashSet<Uuid>,
    working: HashSet<Uuid>,
    /// Changed while a worker had it: queued again when that worker is done.
    again: HashSet<Uuid>,
}

impl Queue {
    pub fn push(&self, id: Uuid) {
        let mut s = self.state.lock().expect("lock");
        if s.working.contains(&id) {
            s.again.insert(id);
        } else if s.queued.insert(id) {
            s.order.push_back(id);
            drop(s);
            self.ready.notify_one();
        }
    }

    pub async fn pop(&self) -> Uuid {
        loop {
            {
                let mut s = self.state.lock().expect("lock");
                if let Some(id) = s.order.pop_front() {
                    s.queued.remove(&id);
                    s.working.insert(id);
                    if !s.order.is_empty() {
                        self.ready.notify_one(); // wake another worker for the rest
                    }
                    return id;
                }
            }
            self.ready.notified().await;
        }
    }

    pub fn done(&self, id: Uuid) {
        let again = {
            let mut s = self.state.lock().expect("lock");
            s.working.remove(&id);
            s.again.remove(&id)
        };
        if again {
            self.push(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn changes_coalesce_and_a_run_is_never_worked_twice_at_once() {
        let q = Queue::default();
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        q.push(a);
        q.push(a);
        q.push(b);
        assert_eq!(q.pop().await, a);
        q.push(a); // changed while being worked on
        assert_eq!(q.pop().await, b, "a is not handed out twice");
        q.done(a);
        assert_eq!(q.pop().await, a, "queued again once done");
        q.done(a);
        q.done(b);
        assert!(q.state.lock().unwrap().order.is_empty());
    }
}
