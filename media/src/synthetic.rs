//! Synthetic MPEG-2 transport streams of any length for benchmarks and seek tests, where an
//! encoder's output would be too slow to make or too small: 25 fps, every frame a
//! random-access video PES whose size the caller chooses. Only the structures a cut reads are
//! real (PAT, PMT, PES timestamps, sequence and GOP headers starting at 10:00:00:00); the
//! payload is filler that no decoder would accept.

use std::io::{self, Write};

/// Frames per second of the synthetic streams.
pub const FPS: u64 = 25;
const VIDEO_PID: u16 = 0x100;
const PMT_PID: u16 = 0x1000;

/// CRC-32/MPEG-2 of a PSI section (ISO/IEC 13818-1 Annex A).
fn crc32_mpeg(data: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in data {
        crc ^= u32::from(b) << 24;
        for _ in 0..8 {
            crc = if crc & 0x8000_0000 != 0 {
                (crc << 1) ^ 0x04c1_1db7
            } else {
                crc << 1
            };
        }
    }
    crc
}

fn section_packet(pid: u16, section: &[u8]) -> [u8; 188] {
    let mut p = [0xffu8; 188];
    p[..5].copy_from_slice(&[0x47, 0x40 | (pid >> 8) as u8, pid as u8, 0x10, 0]);
    p[5..5 + section.len()].copy_from_slice(section);
    let crc = crc32_mpeg(section);
    p[5 + section.len()..9 + section.len()].copy_from_slice(&crc.to_be_bytes());
    p
}

/// The timecode label of frame `frame` of a synthetic stream.
pub fn timecode(frame: u64) -> String {
    let s = frame / FPS;
    format!(
        "{:02}:{:02}:{:02}:{:02}",
        10 + s / 3600,
        s / 60 % 60,
        s % 60,
        frame % FPS
    )
}

/// Writes a stream of `frames` frames; frame `n` takes `packets(n)` packets (at least one).
pub fn write_ts<W: Write>(
    out: &mut W,
    frames: u64,
    packets: impl Fn(u64) -> u64,
) -> io::Result<()> {
    let pat = [
        0x00,
        0xb0,
        0x0d,
        0x00,
        0x01,
        0xc1,
        0x00,
        0x00,
        0x00,
        0x01,
        0xe0 | (PMT_PID >> 8) as u8,
        PMT_PID as u8,
    ];
    // One MPEG-2 video stream (type 0x02) on VIDEO_PID.
    let pmt = [
        0x02, 0xb0, 0x12, 0x00, 0x01, 0xc1, 0x00, 0x00, 0xe1, 0x00, 0xf0, 0x00, 0x02, 0xe1, 0x00,
        0xf0, 0x00,
    ];
    out.write_all(&section_packet(0, &pat))?;
    out.write_all(&section_packet(PMT_PID, &pmt))?;
    let mut cc = 0u8;
    for n in 0..frames {
        let pts = 90_000 + n * (90_000 / FPS);
        for k in 0..packets(n).max(1) {
            let mut p = [0u8; 188];
            p[0] = 0x47;
            p[1] = (if k == 0 { 0x40 } else { 0 }) | (VIDEO_PID >> 8) as u8;
            p[2] = VIDEO_PID as u8;
            let mut i = 4;
            if k == 0 {
                // Adaptation field with the random access indicator.
                p[3] = 0x30 | cc;
                p[4] = 1;
                p[5] = 0x40;
                i = 6;
                let pes = [
                    0,
                    0,
                    1,
                    0xe0,
                    0,
                    0,
                    0x80,
                    0x80,
                    5,
                    0x21 | ((pts >> 29) & 0x0e) as u8,
                    (pts >> 22) as u8,
                    0x01 | ((pts >> 14) & 0xfe) as u8,
                    (pts >> 7) as u8,
                    0x01 | ((pts << 1) & 0xfe) as u8,
                    // Sequence header: 720x576, frame rate code 3 (25).
                    0,
                    0,
                    1,
                    0xb3,
                    0x2d,
                    0x02,
                    0x40,
                    0x23,
                    0xff,
                    0xff,
                    0xe0,
                    0x18,
                    // GOP header: 10:00:00:00, closed.
                    0,
                    0,
                    1,
                    0xb8,
                    0x28,
                    0x08,
                    0x00,
                    0x40,
                ];
                p[i..i + pes.len()].copy_from_slice(&pes);
                i += pes.len();
            } else {
                p[3] = 0x10 | cc;
            }
            for (j, b) in p[i..].iter_mut().enumerate() {
                *b = (n as u8) ^ (j as u8) | 1;
            }
            cc = (cc + 1) & 0x0f;
            out.write_all(&p)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_cut_where_their_timecodes_say() {
        let mut data = Vec::new();
        write_ts(&mut data, 10 * FPS, |n| 2 + n % 5).unwrap();
        assert_eq!(data.len() % 188, 0);
        let range =
            crate::TimecodeRange::parse(&timecode(3 * FPS), &timecode(4 * FPS - 1)).unwrap();
        let r = crate::cut_ts(&mut data, &range, &mut Vec::new()).unwrap();
        assert_eq!((r.first_frame, r.last_frame), (3 * FPS, 4 * FPS - 1));
        assert_eq!(r.first_timecode, "10:00:03:00");
    }
}
