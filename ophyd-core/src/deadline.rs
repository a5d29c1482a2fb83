//! Deadlines of statuses ([`Status::fail_after`](crate::Status::fail_after)):
//! one thread and one heap for the whole process, so that a write with a
//! completion timeout costs a push onto the heap, not a task, a timer and
//! a wake-up when the write completes (the trigger path of a detector).
//! Deadlines are measured in real time.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::sync::{Arc, Condvar, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

use crate::sync::lock;

/// What a deadline fails: a status, seen from below.
pub(crate) trait Expire: Send + Sync {
    /// Whether it finished already.
    fn done(&self) -> bool;
    /// Fail it with a timeout of `after`.
    fn expire(self: Arc<Self>, after: Duration);
}

struct Deadline {
    at: Instant,
    status: Weak<dyn Expire>,
    after: Duration,
}

impl PartialEq for Deadline {
    fn eq(&self, other: &Self) -> bool {
        self.at == other.at
    }
}

impl Eq for Deadline {}

impl PartialOrd for Deadline {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Deadline {
    /// Reversed, so that the heap's top is the earliest deadline.
    fn cmp(&self, other: &Self) -> Ordering {
        other.at.cmp(&self.at)
    }
}

struct Deadlines {
    heap: Mutex<Queue>,
    earlier: Condvar,
}

struct Queue {
    heap: BinaryHeap<Deadline>,
    /// The heap's length after the last sweep of finished statuses.
    swept: usize,
}

fn deadlines() -> &'static Deadlines {
    static DEADLINES: OnceLock<&'static Deadlines> = OnceLock::new();
    DEADLINES.get_or_init(|| {
        let deadlines: &'static Deadlines = Box::leak(Box::new(Deadlines {
            heap: Mutex::new(Queue { heap: BinaryHeap::new(), swept: 0 }),
            earlier: Condvar::new(),
        }));
        std::thread::Builder::new()
            .name("ophyd-deadlines".into())
            .spawn(move || expire(deadlines))
            .expect("a thread for status deadlines");
        deadlines
    })
}

/// Fail `status` with a timeout naming it if it is not done `after` from now.
pub(crate) fn fail_after(status: Weak<dyn Expire>, after: Duration) {
    let Some(at) = Instant::now().checked_add(after) else { return }; // never
    let deadlines = deadlines();
    let mut queue = lock(&deadlines.heap);
    let earliest = queue.heap.peek().is_none_or(|top| at < top.at);
    queue.heap.push(Deadline { at, status, after });
    // Statuses that finished long before their deadline would pile up at a
    // high write rate: sweep them out whenever the heap has doubled.
    if queue.heap.len() > 1024 && queue.heap.len() > 2 * queue.swept {
        queue.heap.retain(|d| d.status.upgrade().is_some_and(|status| !status.done()));
        queue.swept = queue.heap.len();
    }
    drop(queue);
    if earliest {
        deadlines.earlier.notify_one();
    }
}

fn expire(deadlines: &Deadlines) {
    let mut queue = lock(&deadlines.heap);
    loop {
        let now = Instant::now();
        let wait = match queue.heap.peek() {
            None => None,
            Some(top) if top.at <= now => {
                let due = queue.heap.pop().expect("peeked");
                // Finished outside the lock: its callbacks may set deadlines.
                drop(queue);
                if let Some(status) = due.status.upgrade() {
                    status.expire(due.after);
                }
                queue = lock(&deadlines.heap);
                continue;
            }
            Some(top) => Some(top.at - now),
        };
        queue = match wait {
            None => deadlines.earlier.wait(queue).unwrap_or_else(|p| p.into_inner()),
            Some(wait) => deadlines.earlier.wait_timeout(queue, wait).unwrap_or_else(|p| p.into_inner()).0,
        };
    }
}
