//! The active speaker: the loudest forwarded audio by the RFC 6464 audio level, smoothed
//! over about a second so a cough does not switch the view.

use std::collections::HashMap;
use std::hash::Hash;
use std::time::{Duration, Instant};

/// The smoothing's time constant.
const TAU: f32 = 1.0;
/// How often the speaker is re-evaluated while anyone has a level.
pub(crate) const EVALUATE_EVERY: Duration = Duration::from_millis(250);
/// Loudness (127 + dBov) a smoothed level must reach to count as speaking (-60 dBov).
const SPEAKING: f32 = 67.0;
/// A challenger must be this much louder than the current speaker to take over.
const HYSTERESIS: f32 = 3.0;

#[derive(Debug)]
pub(crate) struct Speakers<P> {
    levels: HashMap<P, Level>,
    current: Option<P>,
    next_evaluation: Option<Instant>,
}

#[derive(Debug, Clone, Copy)]
struct Level {
    smoothed: f32,
    at: Instant,
}

impl Level {
    /// The smoothed loudness at `now`, decaying towards silence since the last sample.
    fn at(&self, now: Instant) -> f32 {
        let silent_for = now.saturating_duration_since(self.at).as_secs_f32();
        self.smoothed * (-silent_for / TAU).exp()
    }
}

impl<P: Copy + Eq + Hash + Ord> Speakers<P> {
    pub fn new() -> Self {
        Speakers {
            levels: HashMap::new(),
            current: None,
            next_evaluation: None,
        }
    }

    /// An audio level (0 loudest, -127 silence) of a forwarded frame.
    pub fn observe(&mut self, participant: P, level: i8, now: Instant) {
        let loudness = f32::from(level.clamp(-127, 0)) + 127.0;
        let entry = self.levels.entry(participant).or_insert(Level {
            smoothed: 0.0,
            at: now,
        });
        let dt = now
            .saturating_duration_since(entry.at)
            .as_secs_f32()
            .min(TAU);
        let alpha = 1.0 - (-dt / TAU).exp();
        entry.smoothed += alpha * (loudness - entry.smoothed);
        entry.at = now;
        self.next_evaluation.get_or_insert(now + EVALUATE_EVERY);
    }

    pub fn remove(&mut self, participant: P) {
        self.levels.remove(&participant);
    }

    pub fn next_evaluation(&self) -> Option<Instant> {
        self.next_evaluation
    }

    /// The new active speaker when it changed.
    pub fn evaluate(&mut self, now: Instant) -> Option<Option<P>> {
        if self.next_evaluation.is_some_and(|at| at > now) {
            return None;
        }
        self.levels.retain(|_, l| l.at(now) > 1.0);
        self.next_evaluation = (!self.levels.is_empty()).then(|| now + EVALUATE_EVERY);
        let loudest = self
            .levels
            .iter()
            .map(|(p, l)| (*p, l.at(now)))
            .filter(|(_, level)| *level >= SPEAKING)
            .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)));
        let current_level = self
            .current
            .and_then(|p| self.levels.get(&p))
            .map(|l| l.at(now))
            .filter(|l| *l >= SPEAKING);
        let next = match (loudest, current_level) {
            (Some((p, level)), Some(current)) if level < current + HYSTERESIS => {
                let _ = p;
                self.current
            }
            (Some((p, _)), _) => Some(p),
            (None, _) => None,
        };
        if next != self.current {
            self.current = next;
            Some(next)
        } else {
            None
        }
    }
}
