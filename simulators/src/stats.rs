//! Statistics the simulator keeps per drive, per cartridge and for the robot.
//!
//! Plain serializable structs: readable in process, over the socket and from `tapelib-sim ctl`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Modeled seconds spent per activity.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ActivitySeconds {
    pub robot_move: f64,
    pub load: f64,
    pub unload: f64,
    pub rewind: f64,
    pub locate: f64,
    pub space: f64,
    pub read: f64,
    pub write: f64,
    pub erase: f64,
    pub format: f64,
}

impl ActivitySeconds {
    /// Sum over every activity.
    pub fn total(&self) -> f64 {
        self.robot_move
            + self.load
            + self.unload
            + self.rewind
            + self.locate
            + self.space
            + self.read
            + self.write
            + self.erase
            + self.format
    }

    /// Adds `other` into `self`.
    pub fn add(&mut self, other: &ActivitySeconds) {
        self.robot_move += other.robot_move;
        self.load += other.load;
        self.unload += other.unload;
        self.rewind += other.rewind;
        self.locate += other.locate;
        self.space += other.space;
        self.read += other.read;
        self.write += other.write;
        self.erase += other.erase;
        self.format += other.format;
    }
}

/// Counters of one drive since the simulator state was created.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DriveStats {
    pub loads: u64,
    pub unloads: u64,
    pub records_written: u64,
    pub bytes_written: u64,
    pub records_read: u64,
    pub bytes_read: u64,
    pub filemarks_written: u64,
    pub locates: u64,
    pub spaces: u64,
    /// Longitudinal tape distance travelled by locates, spaces and rewinds, in metres.
    pub distance_m: f64,
    /// Commands answered with CHECK CONDITION.
    pub check_conditions: u64,
    pub modeled_seconds: ActivitySeconds,
}

/// Counters of one cartridge (kept with the cartridge, so they follow it between drives).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CartridgeStats {
    pub loads: u64,
    pub unloads: u64,
    pub records_written: u64,
    pub bytes_written: u64,
    pub records_read: u64,
    pub bytes_read: u64,
    pub locates: u64,
    pub spaces: u64,
    pub distance_m: f64,
    pub modeled_seconds: ActivitySeconds,
}

/// Counters of the library's robot (medium transport element).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RobotStats {
    pub moves: u64,
    pub failed_moves: u64,
    pub exchanges: u64,
    pub inventories: u64,
    pub modeled_seconds: f64,
}

/// Everything the library reports: robot, drives by device name, cartridges by barcode.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LibraryStats {
    pub robot: RobotStats,
    pub drives: BTreeMap<String, DriveStats>,
    pub cartridges: BTreeMap<String, CartridgeStats>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activity_sum_and_json_round_trip() {
        let mut a = ActivitySeconds {
            load: 1.5,
            read: 2.0,
            ..Default::default()
        };
        a.add(&ActivitySeconds {
            locate: 0.5,
            ..Default::default()
        });
        assert_eq!(a.total(), 4.0);
        let mut s = LibraryStats::default();
        s.drives.insert(
            "drive0".into(),
            DriveStats {
                loads: 3,
                modeled_seconds: a,
                ..Default::default()
            },
        );
        let j = serde_json::to_string(&s).unwrap();
        let back: LibraryStats = serde_json::from_str(&j).unwrap();
        assert_eq!(back, s);
    }
}
