//! H.264 picture order counts (ITU-T H.264 §8.2.1) from the MXF picture elements of a cut,
//! to give its index the temporal offsets some writers leave at 0 (ffmpeg among them):
//! without them readers present long-GOP H.264 in stored order.

use super::layout::IndexEntry;

/// Bytes of each edit unit kept for parsing: parameter sets, SEI and the first slice header
/// come first in an access unit.
pub(crate) const UNIT_PREFIX: usize = 64 << 10;

/// MXF picture element keys (ST 379-1 generic container, item type 0x15).
fn is_picture_element(key: &[u8]) -> bool {
    key.len() >= 16
        && key[..4] == [0x06, 0x0e, 0x2b, 0x34]
        && key[4] == 0x01
        && key[8..12] == [0x0d, 0x01, 0x03, 0x01]
        && key[12] == 0x15
}

/// Whether a partition pack's essence container batch (after the operational pattern at
/// value offset 64) names the MPEG-4 AVC byte stream mapping (ST 381-3).
pub(crate) fn carries_avc(pack: &[u8]) -> bool {
    let Some(batch) = pack.get(80..) else {
        return false;
    };
    let (Some(count), Some(len)) = (batch.get(0..4), batch.get(4..8)) else {
        return false;
    };
    let count = u32::from_be_bytes([count[0], count[1], count[2], count[3]]) as usize;
    if len != [0, 0, 0, 16] {
        return false;
    }
    batch[8..].chunks_exact(16).take(count).any(|ul| {
        ul[..4] == [0x06, 0x0e, 0x2b, 0x34] && ul[8..14] == [0x0d, 0x01, 0x03, 0x01, 0x02, 0x10]
    })
}

/// Exp-Golomb and fixed-width reads over an RBSP (emulation prevention bytes removed).
struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Bits<'a> {
    fn new(data: &'a [u8]) -> Self {
        Bits { data, pos: 0 }
    }

    fn bit(&mut self) -> Option<u32> {
        let byte = *self.data.get(self.pos / 8)?;
        let b = (byte >> (7 - self.pos % 8)) & 1;
        self.pos += 1;
        Some(u32::from(b))
    }

    fn bits(&mut self, n: u32) -> Option<u32> {
        if n > 32 {
            return None;
        }
        let mut v = 0u64;
        for _ in 0..n {
            v = v << 1 | u64::from(self.bit()?);
        }
        u32::try_from(v).ok()
    }

    fn ue(&mut self) -> Option<u32> {
        let mut zeros = 0;
        while self.bit()? == 0 {
            zeros += 1;
            if zeros > 31 {
                return None;
            }
        }
        let rest = self.bits(zeros)?;
        u32::try_from((1u64 << zeros) - 1 + u64::from(rest)).ok()
    }

    fn se(&mut self) -> Option<i32> {
        let k = self.ue()?;
        let mag = i32::try_from(k.div_ceil(2)).ok()?;
        Some(if k % 2 == 1 { mag } else { -mag })
    }
}

fn unescape(nal: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(nal.len());
    let mut zeros = 0;
    for &b in nal {
        if zeros >= 2 && b == 3 {
            zeros = 0;
            continue;
        }
        zeros = if b == 0 { zeros + 1 } else { 0 };
        out.push(b);
    }
    out
}

/// NAL units of an Annex B byte stream (start codes 00 00 01 / 00 00 00 01).
fn nal_units(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut starts = Vec::new();
    let mut i = 0;
    while i + 3 <= data.len() {
        if data[i] == 0 && data[i + 1] == 0 && data[i + 2] == 1 {
            starts.push(i + 3);
            i += 3;
        } else {
            i += 1;
        }
    }
    let ends: Vec<usize> = starts
        .iter()
        .skip(1)
        .map(|&s| {
            // Trailing zero bytes belong to the next start code.
            let mut e = s - 3;
            while e > 0 && data[e - 1] == 0 {
                e -= 1;
            }
            e
        })
        .chain(std::iter::once(data.len()))
        .collect();
    starts
        .into_iter()
        .zip(ends)
        .filter(|(s, e)| s < e)
        .map(move |(s, e)| &data[s..e])
}

#[derive(Debug, Clone, Copy)]
struct Sps {
    log2_max_frame_num: u32,
    poc_type: u32,
    log2_max_poc_lsb: u32,
    frame_mbs_only: bool,
    separate_colour_plane: bool,
}

#[derive(Debug, Clone, Copy)]
struct Pps {
    sps_id: u32,
}

fn skip_scaling_list(b: &mut Bits, size: usize) -> Option<()> {
    let (mut last, mut next) = (8i32, 8i32);
    for _ in 0..size {
        if next != 0 {
            next = (i64::from(last) + i64::from(b.se()?)).rem_euclid(256) as i32;
        }
        if next != 0 {
            last = next;
        }
    }
    Some(())
}

fn parse_sps(rbsp: &[u8]) -> Option<(u32, Sps)> {
    let mut b = Bits::new(rbsp);
    let profile = b.bits(8)?;
    b.bits(16)?; // constraint flags, level
    let id = b.ue()?;
    let mut separate_colour_plane = false;
    if matches!(
        profile,
        100 | 110 | 122 | 244 | 44 | 83 | 86 | 118 | 128 | 138 | 139 | 134 | 135
    ) {
        let chroma = b.ue()?;
        if chroma == 3 {
            separate_colour_plane = b.bit()? == 1;
        }
        b.ue()?; // bit depth luma
        b.ue()?; // bit depth chroma
        b.bit()?; // qpprime_y_zero_transform_bypass
        if b.bit()? == 1 {
            for i in 0..if chroma == 3 { 12 } else { 8 } {
                if b.bit()? == 1 {
                    skip_scaling_list(&mut b, if i < 6 { 16 } else { 64 })?;
                }
            }
        }
    }
    let log2_max_frame_num = b.ue()?.checked_add(4).filter(|&v| v <= 16)?;
    let poc_type = b.ue()?;
    let mut log2_max_poc_lsb = 0;
    match poc_type {
        0 => log2_max_poc_lsb = b.ue()?.checked_add(4).filter(|&v| v <= 16)?,
        1 => {
            b.bit()?;
            b.se()?;
            b.se()?;
            for _ in 0..b.ue()?.min(255) {
                b.se()?;
            }
        }
        2 => {}
        _ => return None,
    }
    b.ue()?; // max_num_ref_frames
    b.bit()?; // gaps_in_frame_num_allowed
    b.ue()?; // width in MBs
    b.ue()?; // height in map units
    let frame_mbs_only = b.bit()? == 1;
    (id < 32).then_some((
        id,
        Sps {
            log2_max_frame_num,
            poc_type,
            log2_max_poc_lsb,
            frame_mbs_only,
            separate_colour_plane,
        },
    ))
}

fn parse_pps(rbsp: &[u8]) -> Option<(u32, Pps)> {
    let mut b = Bits::new(rbsp);
    let id = b.ue()?;
    let sps_id = b.ue()?;
    (id < 256 && sps_id < 32).then_some((id, Pps { sps_id }))
}

/// Picture order counts of a stream's pictures in stored order, as far as they can be
/// derived (frame pictures, order count type 0).
#[derive(Default)]
pub(crate) struct PictureOrder {
    sps: std::collections::HashMap<u32, Sps>,
    pps: std::collections::HashMap<u32, Pps>,
    prev_msb: i64,
    prev_lsb: i64,
    /// Counts IDR pictures: order counts restart at each.
    idr_period: u64,
}

impl PictureOrder {
    /// The display key of the picture in one edit unit (its leading bytes), or None when
    /// the unit holds no H.264 picture whose order can be derived.
    pub(crate) fn picture(&mut self, unit: &[u8]) -> Option<(u64, i64)> {
        let mut at = 0usize;
        while at < unit.len() {
            let key = unit.get(at..at + 16)?;
            let (len, n) = super::klv::ber(unit.get(at + 16..)?).ok()?;
            let start = at + 16 + n;
            let end = start.checked_add(usize::try_from(len).ok()?)?;
            if is_picture_element(key) {
                // The value may be cut at the kept prefix.
                return self.access_unit(&unit[start..end.min(unit.len())]);
            }
            at = end;
        }
        None
    }

    fn access_unit(&mut self, data: &[u8]) -> Option<(u64, i64)> {
        for nal in nal_units(data) {
            let header = nal[0];
            if header & 0x80 != 0 {
                return None;
            }
            let ref_idc = header >> 5 & 3;
            let kind = header & 0x1f;
            let rbsp = unescape(&nal[1..]);
            match kind {
                7 => {
                    let (id, s) = parse_sps(&rbsp)?;
                    self.sps.insert(id, s);
                }
                8 => {
                    let (id, p) = parse_pps(&rbsp)?;
                    self.pps.insert(id, p);
                }
                1 | 5 => return self.slice(&rbsp, kind == 5, ref_idc != 0),
                _ => {}
            }
        }
        None
    }

    fn slice(&mut self, rbsp: &[u8], idr: bool, reference: bool) -> Option<(u64, i64)> {
        let mut b = Bits::new(rbsp);
        b.ue()?; // first_mb_in_slice
        b.ue()?; // slice_type
        let pps = *self.pps.get(&b.ue()?)?;
        let sps = *self.sps.get(&pps.sps_id)?;
        if sps.poc_type != 0 {
            return None;
        }
        if sps.separate_colour_plane {
            b.bits(2)?;
        }
        b.bits(sps.log2_max_frame_num)?;
        if !sps.frame_mbs_only && b.bit()? == 1 {
            // Field pictures: one edit unit would hold two; not derived.
            return None;
        }
        if idr {
            b.ue()?; // idr_pic_id
        }
        let lsb = i64::from(b.bits(sps.log2_max_poc_lsb)?);
        if idr {
            self.prev_msb = 0;
            self.prev_lsb = 0;
            self.idr_period += 1;
        }
        let max = 1i64 << sps.log2_max_poc_lsb;
        let msb = if lsb < self.prev_lsb && self.prev_lsb - lsb >= max / 2 {
            self.prev_msb + max
        } else if lsb > self.prev_lsb && lsb - self.prev_lsb > max / 2 {
            self.prev_msb - max
        } else {
            self.prev_msb
        };
        if reference {
            self.prev_msb = msb;
            self.prev_lsb = lsb;
        }
        Some((self.idr_period, msb + lsb))
    }
}

/// Temporal offsets (ST 377-1: from display position to stored position) for pictures
/// with display `keys` in stored order; None when one does not fit a byte.
pub(crate) fn temporal_offsets(keys: &[(u64, i64)]) -> Option<Vec<i8>> {
    let mut display: Vec<usize> = (0..keys.len()).collect();
    display.sort_by_key(|&i| (keys[i], i));
    display
        .iter()
        .enumerate()
        .map(|(d, &s)| i8::try_from(s as i64 - d as i64).ok())
        .collect()
}

/// Gives `entries` temporal offsets from their pictures' order counts when all of them
/// are 0 and every picture's order is known.
pub(crate) fn fill_temporal_offsets(entries: &mut [IndexEntry], keys: &[Option<(u64, i64)>]) {
    if entries.len() != keys.len() || entries.iter().any(|e| e.temporal_offset != 0) {
        return;
    }
    let Some(keys) = keys.iter().copied().collect::<Option<Vec<_>>>() else {
        return;
    };
    if let Some(offsets) = temporal_offsets(&keys) {
        for (e, t) in entries.iter_mut().zip(offsets) {
            e.temporal_offset = t;
        }
    }
}

/// Collects the leading bytes of each edit unit while the essence is copied.
pub(crate) struct Units<'a, W> {
    out: &'a mut W,
    /// Edit unit start offsets relative to the copied bytes, ascending.
    starts: &'a [u64],
    pos: u64,
    index: usize,
    current: Vec<u8>,
    order: PictureOrder,
    pub keys: Vec<Option<(u64, i64)>>,
}

impl<'a, W: std::io::Write> Units<'a, W> {
    pub(crate) fn new(out: &'a mut W, starts: &'a [u64]) -> Self {
        Units {
            out,
            starts,
            pos: 0,
            index: 0,
            current: Vec::new(),
            order: PictureOrder::default(),
            keys: Vec::new(),
        }
    }

    fn finish_unit(&mut self) {
        let k = self.order.picture(&self.current);
        self.keys.push(k);
        self.current.clear();
    }

    /// Ends the last unit; the keys are complete.
    pub(crate) fn finish(mut self) -> Vec<Option<(u64, i64)>> {
        if self.index > 0 {
            self.finish_unit();
        }
        self.keys
    }
}

impl<W: std::io::Write> std::io::Write for Units<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.out.write(buf)?;
        let mut b = &buf[..n];
        while !b.is_empty() {
            // Crossing into the next unit?
            if let Some(&next) = self.starts.get(self.index) {
                if self.pos >= next {
                    if self.index > 0 {
                        self.finish_unit();
                    }
                    self.index += 1;
                    continue;
                }
            }
            let until = self
                .starts
                .get(self.index)
                .map_or(b.len() as u64, |&s| (s - self.pos).min(b.len() as u64))
                as usize;
            let room = UNIT_PREFIX.saturating_sub(self.current.len()).min(until);
            if self.index > 0 {
                self.current.extend_from_slice(&b[..room]);
            }
            self.pos += until as u64;
            b = &b[until..];
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_golomb_codes() {
        // 1 | 010 | 011 | 00100 | 00101 -> ue 0, 1, 2, 3, 4
        let data = [0b1010_0110, 0b0100_0010, 0b1000_0000];
        let mut b = Bits::new(&data);
        assert_eq!(
            (0..5).map(|_| b.ue()).collect::<Vec<_>>(),
            [Some(0), Some(1), Some(2), Some(3), Some(4)]
        );
        let mut b = Bits::new(&[0b0100_1100]);
        assert_eq!((b.se(), b.se()), (Some(1), Some(-1)));
        // Thirty-two zeros: no code, no panic.
        assert_eq!(Bits::new(&[0, 0, 0, 0, 0]).ue(), None);
        assert_eq!(Bits::new(&[]).ue(), None);
    }

    #[test]
    fn emulation_prevention_and_start_codes() {
        assert_eq!(unescape(&[0, 0, 3, 1, 0, 0, 3]), [0, 0, 1, 0, 0]);
        let s = [0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3, 0, 0, 1];
        let nals: Vec<&[u8]> = nal_units(&s).collect();
        assert_eq!(nals, [&[0x67, 1, 2][..], &[0x68, 3][..]]);
        assert_eq!(nal_units(&[0, 0]).count(), 0);
    }

    #[test]
    fn offsets_map_display_to_stored_order() {
        // Stored I0 P3 B1 B2 (order counts 0 6 2 4), then an IDR restarting at 0.
        let keys = [(1, 0), (1, 6), (1, 2), (1, 4), (2, 0)];
        assert_eq!(temporal_offsets(&keys).unwrap(), [0, 1, 1, -2, 0]);
        // Too far to say in a byte.
        let far: Vec<(u64, i64)> = (0..200).map(|i| (1, 200 - i)).collect();
        assert!(temporal_offsets(&far).is_none());
    }

    fn entry(t: i8) -> IndexEntry {
        IndexEntry {
            temporal_offset: t,
            key_frame_offset: 0,
            flags: 0,
            stream_offset: 0,
            rest: vec![],
        }
    }

    #[test]
    fn offsets_a_writer_set_are_kept() {
        let keys = [Some((1, 0)), Some((1, 4)), Some((1, 2))];
        let mut e = vec![entry(0), entry(1), entry(-1)];
        fill_temporal_offsets(&mut e, &keys);
        assert_eq!(
            e.iter().map(|e| e.temporal_offset).collect::<Vec<_>>(),
            [0, 1, -1]
        );
        let mut e = vec![entry(0), entry(0), entry(0)];
        fill_temporal_offsets(&mut e, &[Some((1, 0)), None, Some((1, 2))]);
        assert!(e.iter().all(|e| e.temporal_offset == 0));
        fill_temporal_offsets(&mut e, &keys);
        assert_eq!(
            e.iter().map(|e| e.temporal_offset).collect::<Vec<_>>(),
            [0, 1, -1]
        );
    }

    #[test]
    fn the_avc_container_label_is_found_in_the_batch() {
        let mut pack = vec![0u8; 80];
        pack.extend_from_slice(&[0, 0, 0, 2, 0, 0, 0, 16]);
        let mpeg2 = [6, 14, 43, 52, 4, 1, 1, 2, 13, 1, 3, 1, 2, 4, 0x60, 1];
        let avc = [6, 14, 43, 52, 4, 1, 1, 10, 13, 1, 3, 1, 2, 0x10, 0x60, 1];
        pack.extend_from_slice(&mpeg2);
        assert!(!carries_avc(&pack));
        pack.extend_from_slice(&avc);
        assert!(carries_avc(&pack));
        // Past the batch count, or truncated: not counted.
        pack[83] = 1;
        assert!(!carries_avc(&pack));
        assert!(!carries_avc(&pack[..90]));
    }

    /// One edit unit: a picture element holding `nals` as an Annex B stream.
    fn unit(nals: &[&[u8]]) -> Vec<u8> {
        let mut es = Vec::new();
        for n in nals {
            es.extend_from_slice(&[0, 0, 0, 1]);
            es.extend_from_slice(n);
        }
        let mut u = vec![
            0x06, 0x0e, 0x2b, 0x34, 0x01, 0x02, 0x01, 0x01, 0x0d, 0x01, 0x03, 0x01, 0x15, 0x01,
            0x05, 0x00, 0x83, 0, 0,
        ];
        u.push(es.len() as u8);
        u.extend_from_slice(&es);
        u
    }

    #[test]
    fn order_counts_of_an_x264_stream() {
        // x264 High profile, 64x64, -bf 2: stored I P B(ref) B P, shown I B B P P.
        let sps: &[u8] = &[
            0x67, 0x64, 0x00, 0x0a, 0xac, 0xd9, 0x44, 0x26, 0xc0, 0x44, 0x00, 0x00, 0x03, 0x00,
            0x04, 0x00, 0x00, 0x03, 0x00, 0xc8, 0x3c, 0x48, 0x96, 0x58,
        ];
        let pps: &[u8] = &[0x68, 0xef, 0x8f, 0xcb];
        let slices: [&[u8]; 5] = [
            &[0x65, 0x88, 0x84, 0x00, 0x77, 0xbc, 0x35, 0xc5, 0x78, 0x61],
            &[0x41, 0x9a, 0x23, 0x18, 0x85, 0x3f, 0x19, 0x2a, 0x07, 0xe0],
            &[0x41, 0x9e, 0x41, 0x42, 0x16, 0xff, 0x69, 0xc1],
            &[0x01, 0x9e, 0x62, 0x44, 0x31, 0xff, 0x6e, 0xc0],
            &[0x41, 0x9a, 0x64, 0x34, 0x4c, 0x43, 0x1f, 0x1e, 0xdc, 0x42],
        ];
        let (_, s) = parse_sps(&unescape(&sps[1..])).unwrap();
        assert_eq!((s.poc_type, s.frame_mbs_only), (0, true));
        let mut o = PictureOrder::default();
        // Slices before their parameter sets say nothing.
        assert_eq!(o.picture(&unit(&[slices[1]])), None);
        let mut keys = vec![o.picture(&unit(&[sps, pps, slices[0]]))];
        for sl in &slices[1..] {
            keys.push(o.picture(&unit(&[sl])));
        }
        assert_eq!(
            keys,
            [0, 6, 2, 4, 8].map(|p| Some((1, p))),
            "order counts in stored order"
        );
        let mut e: Vec<IndexEntry> = (0..5).map(|_| entry(0)).collect();
        fill_temporal_offsets(&mut e, &keys);
        assert_eq!(
            e.iter().map(|e| e.temporal_offset).collect::<Vec<_>>(),
            [0, 1, 1, -2, 0]
        );
        // The next IDR restarts the count in a new period.
        let idr = o.picture(&unit(&[sps, pps, slices[0]]));
        assert_eq!(idr, Some((2, 0)));
        // The same units passing through the tee in uneven writes.
        let mut stream = unit(&[sps, pps, slices[0]]);
        let mut starts = vec![0u64];
        for sl in &slices[1..] {
            starts.push(stream.len() as u64);
            stream.extend_from_slice(&unit(&[sl]));
        }
        let mut out = Vec::new();
        let mut tee = Units::new(&mut out, &starts);
        for chunk in stream.chunks(7) {
            std::io::Write::write_all(&mut tee, chunk).unwrap();
        }
        assert_eq!(tee.finish(), keys);
        assert_eq!(out, stream);
        // Every truncation of the parameter sets or slice: an answer or None, no panic.
        for cut in 0..sps.len() {
            let _ = PictureOrder::default().picture(&unit(&[&sps[..cut], pps, slices[0]]));
        }
    }

    #[test]
    fn garbage_is_no_picture() {
        let mut o = PictureOrder::default();
        assert_eq!(o.picture(&[]), None);
        assert_eq!(o.picture(&[0x06, 0x0e, 0x2b]), None);
        let mut unit = vec![
            0x06, 0x0e, 0x2b, 0x34, 0x01, 0x02, 0x01, 0x01, 0x0d, 0x01, 0x03, 0x01, 0x15, 0x01,
            0x05, 0x01, 0x83, 0xff, 0xff, 0xff,
        ];
        unit.extend_from_slice(&[0, 0, 1, 0x65, 0x88, 0x84]);
        // A slice without parameter sets, and a value running past the unit.
        assert_eq!(o.picture(&unit), None);
        for i in 0..unit.len() {
            let _ = o.picture(&unit[..i]);
        }
    }
}
