//! Timing model: how long a robot move, a load, a rewind, a locate or a transfer takes on a given
//! LTO generation, and a per-device clock that accounts modeled seconds and sleeps
//! `modeled × scale` real time (scale 0 = instant, the default for tests).
//!
//! Locates follow the serpentine layout: data is written in wraps that alternate direction along
//! the tape, grouped in four bands. Moving between two positions costs a wrap change (more when the
//! band changes), a direction change when the wraps run opposite ways, and the longitudinal
//! distance at locate speed.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::media::LtoGeneration;
use crate::stats::ActivitySeconds;

/// Number of wrap bands on LTO tape.
const BANDS: u32 = 4;

/// Per-generation mechanical figures (seconds, metres per second).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GenerationTiming {
    /// Load and thread a cartridge until ready.
    pub load_s: f64,
    /// Rewind (if needed is accounted separately), unthread and eject.
    pub unload_s: f64,
    /// Longitudinal speed while locating or rewinding.
    pub locate_speed_m_s: f64,
    /// Head step to another wrap inside a band.
    pub wrap_change_s: f64,
    /// Head move to another band (servo re-acquire).
    pub band_change_s: f64,
    /// Stop and reverse the tape.
    pub direction_change_s: f64,
}

impl GenerationTiming {
    /// Figures in the range the vendors publish for each generation.
    pub fn for_generation(generation: LtoGeneration) -> Self {
        let (load_s, unload_s, speed) = match generation {
            LtoGeneration::Lto5 => (12.0, 17.0, 8.0),
            LtoGeneration::Lto6 => (12.0, 17.0, 8.0),
            LtoGeneration::Lto7 => (15.0, 17.0, 10.0),
            LtoGeneration::Lto8 => (15.0, 17.0, 10.0),
            LtoGeneration::Lto9 => (15.0, 17.0, 10.0),
        };
        GenerationTiming {
            load_s,
            unload_s,
            locate_speed_m_s: speed,
            wrap_change_s: 0.5,
            band_change_s: 2.5,
            direction_change_s: 1.5,
        }
    }
}

/// A point on the tape in the serpentine model.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct TapePosition {
    /// Wrap number, 0 at the first data wrap.
    pub wrap: u32,
    /// Longitudinal position in metres from the beginning of tape.
    pub longitudinal_m: f64,
}

impl TapePosition {
    /// Beginning of tape.
    pub const BOT: TapePosition = TapePosition {
        wrap: 0,
        longitudinal_m: 0.0,
    };

    /// Where the byte at `offset` of a partition holding `capacity` bytes lies. Partition data
    /// is laid out from wrap `first_wrap` over `wraps` wraps, even wraps forward, odd backward.
    pub fn of_offset(
        generation: LtoGeneration,
        offset: u64,
        capacity: u64,
        first_wrap: u32,
        wraps: u32,
    ) -> TapePosition {
        let wraps = wraps.max(1);
        let len = generation.tape_length_m();
        let per_wrap = (capacity / u64::from(wraps)).max(1);
        let w = (offset / per_wrap).min(u64::from(wraps - 1)) as u32;
        let within = ((offset - u64::from(w) * per_wrap) as f64 / per_wrap as f64).min(1.0);
        let wrap = first_wrap + w;
        let longitudinal_m = if wrap & 1 == 0 {
            within * len
        } else {
            (1.0 - within) * len
        };
        TapePosition {
            wrap,
            longitudinal_m,
        }
    }
}

/// The timing model: per-generation figures and the real-time scale.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimeModel {
    /// Real seconds slept per modeled second (0 = never sleep).
    pub scale: f64,
    /// One robot move between two elements.
    pub robot_move_s: f64,
}

impl Default for TimeModel {
    fn default() -> Self {
        TimeModel::instant()
    }
}

impl TimeModel {
    /// A model with the given scale.
    pub fn new(scale: f64) -> Self {
        TimeModel {
            scale: if scale.is_finite() && scale > 0.0 {
                scale
            } else {
                0.0
            },
            robot_move_s: 6.0,
        }
    }

    /// Scale 0: nothing sleeps, modeled seconds are still accounted.
    pub fn instant() -> Self {
        TimeModel::new(0.0)
    }

    /// Per-generation figures.
    pub fn generation(&self, generation: LtoGeneration) -> GenerationTiming {
        GenerationTiming::for_generation(generation)
    }

    /// Modeled seconds of one robot move.
    pub fn robot_move_seconds(&self) -> f64 {
        self.robot_move_s
    }

    /// Modeled seconds to load and thread a cartridge.
    pub fn load_seconds(&self, generation: LtoGeneration) -> f64 {
        self.generation(generation).load_s
    }

    /// Modeled seconds to unthread and eject.
    pub fn unload_seconds(&self, generation: LtoGeneration) -> f64 {
        self.generation(generation).unload_s
    }

    /// Modeled seconds to move between two tape positions.
    pub fn locate_seconds(
        &self,
        generation: LtoGeneration,
        from: TapePosition,
        to: TapePosition,
    ) -> f64 {
        let g = self.generation(generation);
        let wraps_per_band = (generation.wraps() / BANDS).max(1);
        let mut t = 0.0;
        if from.wrap != to.wrap {
            t += if from.wrap / wraps_per_band != to.wrap / wraps_per_band {
                g.band_change_s
            } else {
                g.wrap_change_s
            };
        }
        if from.wrap % 2 != to.wrap % 2 {
            t += g.direction_change_s;
        }
        t + (from.longitudinal_m - to.longitudinal_m).abs() / g.locate_speed_m_s
    }

    /// Modeled seconds to rewind from `from` to the beginning of tape.
    pub fn rewind_seconds(&self, generation: LtoGeneration, from: TapePosition) -> f64 {
        from.longitudinal_m / self.generation(generation).locate_speed_m_s
    }

    /// Modeled seconds to stream `bytes` at the native rate.
    pub fn transfer_seconds(&self, generation: LtoGeneration, bytes: u64) -> f64 {
        bytes as f64 / generation.native_rate_bytes_per_sec() as f64
    }
}

/// Which activity modeled time is charged to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activity {
    RobotMove,
    Load,
    Unload,
    Rewind,
    Locate,
    Space,
    Read,
    Write,
    Erase,
    Format,
}

/// Adds `seconds` to the `activity` slot of `spent`.
pub fn add_seconds(spent: &mut ActivitySeconds, activity: Activity, seconds: f64) {
    let slot = match activity {
        Activity::RobotMove => &mut spent.robot_move,
        Activity::Load => &mut spent.load,
        Activity::Unload => &mut spent.unload,
        Activity::Rewind => &mut spent.rewind,
        Activity::Locate => &mut spent.locate,
        Activity::Space => &mut spent.space,
        Activity::Read => &mut spent.read,
        Activity::Write => &mut spent.write,
        Activity::Erase => &mut spent.erase,
        Activity::Format => &mut spent.format,
    };
    *slot += seconds;
}

/// A device's modeled clock: accumulates modeled seconds by activity and sleeps the scaled time.
#[derive(Debug, Clone, Default)]
pub struct ModeledClock {
    scale: f64,
    spent: ActivitySeconds,
    /// Scaled time owed but not yet slept (sub-millisecond amounts are batched).
    owed: f64,
}

impl ModeledClock {
    /// A clock sleeping `scale` real seconds per modeled second.
    pub fn new(scale: f64) -> Self {
        ModeledClock {
            scale: if scale.is_finite() && scale > 0.0 {
                scale
            } else {
                0.0
            },
            spent: ActivitySeconds::default(),
            owed: 0.0,
        }
    }

    /// The scale in use.
    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// Charges `seconds` of modeled time to `activity`, sleeping `seconds × scale`.
    pub fn charge(&mut self, activity: Activity, seconds: f64) {
        if !seconds.is_finite() || seconds <= 0.0 {
            return;
        }
        self.account(activity, seconds);
        if self.scale > 0.0 {
            self.owed += seconds * self.scale;
            if self.owed >= 0.001 {
                std::thread::sleep(Duration::from_secs_f64(self.owed.min(3600.0)));
                self.owed = 0.0;
            }
        }
    }

    /// Accounts `seconds` of modeled time to `activity` without sleeping (the caller models
    /// the wait itself, e.g. a drive reporting NOT READY while it loads).
    pub fn account(&mut self, activity: Activity, seconds: f64) {
        if seconds.is_finite() && seconds > 0.0 {
            add_seconds(&mut self.spent, activity, seconds);
        }
    }

    /// Modeled seconds so far, by activity.
    pub fn spent(&self) -> &ActivitySeconds {
        &self.spent
    }

    /// Replaces the accumulated figures (used when reloading persisted statistics).
    pub fn set_spent(&mut self, spent: ActivitySeconds) {
        self.spent = spent;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serpentine_positions_alternate() {
        let g = LtoGeneration::Lto7;
        let cap = 1_000_000;
        let p0 = TapePosition::of_offset(g, 0, cap, 0, 10);
        assert_eq!(p0.wrap, 0);
        assert_eq!(p0.longitudinal_m, 0.0);
        // End of wrap 0 is at the far end; start of wrap 1 is at the far end too.
        let p1 = TapePosition::of_offset(g, 100_000, cap, 0, 10);
        assert_eq!(p1.wrap, 1);
        assert!((p1.longitudinal_m - g.tape_length_m()).abs() < 1e-9);
        let last = TapePosition::of_offset(g, cap * 2, cap, 0, 10);
        assert_eq!(last.wrap, 9);
    }

    #[test]
    fn locate_costs_grow_with_distance_and_direction() {
        let m = TimeModel::instant();
        let g = LtoGeneration::Lto8;
        let a = TapePosition::BOT;
        let near = TapePosition {
            wrap: 0,
            longitudinal_m: 10.0,
        };
        let far = TapePosition {
            wrap: 0,
            longitudinal_m: 500.0,
        };
        let other_dir = TapePosition {
            wrap: 1,
            longitudinal_m: 10.0,
        };
        let other_band = TapePosition {
            wrap: 100,
            longitudinal_m: 10.0,
        };
        assert!(m.locate_seconds(g, a, near) < m.locate_seconds(g, a, far));
        assert!(m.locate_seconds(g, a, near) < m.locate_seconds(g, a, other_dir));
        assert!(m.locate_seconds(g, a, other_dir) < m.locate_seconds(g, a, other_band) + 1.5);
        assert_eq!(m.locate_seconds(g, a, a), 0.0);
    }

    #[test]
    fn clock_accounts_without_sleeping_at_scale_zero() {
        let mut c = ModeledClock::new(0.0);
        let start = std::time::Instant::now();
        c.charge(Activity::Load, 1000.0);
        c.charge(Activity::Read, 2.5);
        assert!(start.elapsed() < Duration::from_secs(1));
        assert_eq!(c.spent().load, 1000.0);
        assert_eq!(c.spent().total(), 1002.5);
    }

    #[test]
    fn clock_sleeps_scaled_time() {
        let mut c = ModeledClock::new(0.01);
        let start = std::time::Instant::now();
        c.charge(Activity::Locate, 2.0);
        assert!(start.elapsed() >= Duration::from_millis(19));
    }
}
