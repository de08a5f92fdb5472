//! Sliding-window counters for sign-in and public endpoints: in memory per instance
//! (`SlidingWindow`), and shared by every instance on PostgreSQL (`shared::Limiter`).
pub mod shared;

pub use shared::{Limiter, SharedCounts};

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Counts events per key within a window, in this instance's memory; `Limiter` adds the other
/// instances' counts on PostgreSQL.
pub struct SlidingWindow {
    window: Duration,
    limit: u32,
    events: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl SlidingWindow {
    pub fn new(limit: u32, window: Duration) -> Self {
        SlidingWindow {
            window,
            limit,
            events: Mutex::new(HashMap::new()),
        }
    }

    fn with_queue<T>(&self, key: &str, f: impl FnOnce(&mut VecDeque<Instant>, Instant) -> T) -> T {
        let now = Instant::now();
        let mut map = self.events.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > 100_000 {
            let window = self.window;
            map.retain(|_, q| q.back().is_some_and(|t| now.duration_since(*t) < window));
        }
        let q = map.entry(key.to_string()).or_default();
        while q
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.window)
        {
            q.pop_front();
        }
        f(q, now)
    }

    /// Counts this event if there is room for it.
    pub fn check_and_hit(&self, key: &str) -> Result<(), Duration> {
        let (limit, window) = (self.limit as usize, self.window);
        self.with_queue(key, |q, now| {
            if q.len() >= limit {
                let oldest = q.front().copied().unwrap_or(now);
                Err(window.saturating_sub(now.duration_since(oldest)))
            } else {
                q.push_back(now);
                Ok(())
            }
        })
    }

    /// Gives back one event counted by `check_and_hit` (a reservation that was not used). Any one
    /// will do: only their number matters, and the newest keeps the window's oldest entry in place.
    pub fn release(&self, key: &str) {
        self.with_queue(key, |q, _| {
            q.pop_back();
        });
    }

    /// Events of the key still inside the window.
    pub fn count(&self, key: &str) -> usize {
        self.with_queue(key, |q, _| q.len())
    }

    pub fn clear(&self, key: &str) {
        self.events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
    }
}

/// "请在 N 分钟后再试" for a wait, rounded up to whole minutes (seconds below one minute).
pub fn retry_message(wait: Duration) -> String {
    let secs = wait.as_secs().max(1);
    if secs < 60 {
        format!("尝试次数过多，请在 {secs} 秒后再试")
    } else {
        format!("尝试次数过多，请在 {} 分钟后再试", secs.div_ceil(60))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_event_past_the_limit_is_refused_with_a_wait() {
        let w = SlidingWindow::new(2, Duration::from_secs(60));
        assert!(w.check_and_hit("a").is_ok());
        assert!(w.check_and_hit("a").is_ok());
        let wait = w.check_and_hit("a").unwrap_err();
        assert!(wait <= Duration::from_secs(60) && wait > Duration::from_secs(50));
        assert!(w.check_and_hit("b").is_ok(), "keys are counted apart");
    }

    #[test]
    fn a_released_reservation_makes_room_for_one_more() {
        let w = SlidingWindow::new(1, Duration::from_secs(60));
        assert!(w.check_and_hit("a").is_ok());
        assert!(w.check_and_hit("a").is_err());
        w.release("a");
        assert!(w.check_and_hit("a").is_ok());
    }

    #[test]
    fn retry_messages_round_up_to_minutes() {
        assert_eq!(
            retry_message(Duration::from_secs(61)),
            "尝试次数过多，请在 2 分钟后再试"
        );
        assert_eq!(
            retry_message(Duration::from_secs(5)),
            "尝试次数过多，请在 5 秒后再试"
        );
    }
}
