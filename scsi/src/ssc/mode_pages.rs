//! SSC-4 mode pages (SSC-4 8.3): data compression 0Fh, device configuration 10h, medium
//! partition 11h. Each converts from and to a generic [`ModePage`].

use crate::decode::{be16, be32, slice, DecodeError};
use crate::spc::mode::ModePage;

pub const PAGE_DATA_COMPRESSION: u8 = 0x0f;
pub const PAGE_DEVICE_CONFIGURATION: u8 = 0x10;
pub const PAGE_MEDIUM_PARTITION: u8 = 0x11;

fn expect(p: &ModePage, code: u8, what: &'static str) -> Result<(), DecodeError> {
    if p.code != code || p.subpage.is_some() {
        return Err(DecodeError::invalid(
            what,
            format!("page code 0x{:02x}", p.code),
        ));
    }
    Ok(())
}

/// Data compression page 0Fh (SSC-4 8.3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DataCompressionPage {
    /// Data compression enabled.
    pub dce: bool,
    /// Data compression capable (read only).
    pub dcc: bool,
    /// Data decompression enabled.
    pub dde: bool,
    /// Report exception on decompression.
    pub red: u8,
    pub compression_algorithm: u32,
    pub decompression_algorithm: u32,
}

impl DataCompressionPage {
    pub fn decode(p: &ModePage) -> Result<DataCompressionPage, DecodeError> {
        expect(p, PAGE_DATA_COMPRESSION, "data compression page")?;
        let d = slice(&p.data, 0, 10, "data compression page")?;
        Ok(DataCompressionPage {
            dce: d[0] & 0x80 != 0,
            dcc: d[0] & 0x40 != 0,
            dde: d[1] & 0x80 != 0,
            red: (d[1] >> 5) & 0x03,
            compression_algorithm: be32(d, 2, "compression algorithm")?,
            decompression_algorithm: be32(d, 6, "decompression algorithm")?,
        })
    }

    pub fn to_page(&self) -> ModePage {
        let mut d = vec![0u8; 14];
        d[0] = (u8::from(self.dce) << 7) | (u8::from(self.dcc) << 6);
        d[1] = (u8::from(self.dde) << 7) | ((self.red & 0x03) << 5);
        d[2..6].copy_from_slice(&self.compression_algorithm.to_be_bytes());
        d[6..10].copy_from_slice(&self.decompression_algorithm.to_be_bytes());
        ModePage::new(PAGE_DATA_COMPRESSION, d)
    }
}

/// Device configuration page 10h (SSC-4 8.3.4): the fields tapelib uses, the rest kept raw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceConfigurationPage {
    pub active_partition: u8,
    /// Write delay time in 100 ms units.
    pub write_delay_time: u16,
    /// Block identifiers supported (BIS in SSC-2, LOIS in SSC-4).
    pub lois: bool,
    /// End-of-data defined field.
    pub eod_defined: u8,
    /// Synchronize at early warning.
    pub sew: bool,
    /// Select data compression algorithm (0 none, 1 default).
    pub select_data_compression_algorithm: u8,
    /// The page bytes after the header, to write back unchanged fields.
    pub raw: Vec<u8>,
}

impl DeviceConfigurationPage {
    pub fn decode(p: &ModePage) -> Result<DeviceConfigurationPage, DecodeError> {
        expect(p, PAGE_DEVICE_CONFIGURATION, "device configuration page")?;
        let d = slice(&p.data, 0, 14, "device configuration page")?;
        Ok(DeviceConfigurationPage {
            active_partition: d[1],
            write_delay_time: be16(d, 4, "write delay time")?,
            lois: d[6] & 0x40 != 0,
            eod_defined: d[8] >> 5,
            sew: d[8] & 0x08 != 0,
            select_data_compression_algorithm: d[12],
            raw: p.data.clone(),
        })
    }

    pub fn to_page(&self) -> ModePage {
        let mut d = self.raw.clone();
        d.resize(d.len().max(14), 0);
        d[1] = self.active_partition;
        d[4..6].copy_from_slice(&self.write_delay_time.to_be_bytes());
        d[6] = (d[6] & !0x40) | (u8::from(self.lois) << 6);
        d[8] = (d[8] & 0x17) | (self.eod_defined << 5) | (u8::from(self.sew) << 3);
        d[12] = self.select_data_compression_algorithm;
        ModePage::new(PAGE_DEVICE_CONFIGURATION, d)
    }
}

/// Units of the partition size fields (PSUM, SSC-4 table 48).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PartitionUnits {
    Bytes,
    Kilobytes,
    Megabytes,
    /// 10^(partition units field) bytes.
    Exponent(u8),
}

/// Medium partition page 11h (SSC-4 8.3.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediumPartitionPage {
    pub maximum_additional_partitions: u8,
    pub additional_partitions_defined: u8,
    /// Fixed data partitions.
    pub fdp: bool,
    /// Select data partitions.
    pub sdp: bool,
    /// Initiator defined partitions (sizes from this page).
    pub idp: bool,
    /// Partition size unit of measure (PSUM) field.
    pub psum: u8,
    /// Partitions on format (POFM): partitioning happens at FORMAT MEDIUM.
    pub pofm: bool,
    pub clear: bool,
    pub addp: bool,
    pub medium_format_recognition: u8,
    /// Partition units exponent, used with PSUM = 11b.
    pub partition_units: u8,
    /// Partition sizes in the unit PSUM selects; `0xFFFF` = rest of the medium.
    pub partition_sizes: Vec<u16>,
}

impl MediumPartitionPage {
    pub fn decode(p: &ModePage) -> Result<MediumPartitionPage, DecodeError> {
        expect(p, PAGE_MEDIUM_PARTITION, "medium partition page")?;
        let d = slice(&p.data, 0, 6, "medium partition page")?;
        let sizes = p.data[6..]
            .chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect();
        Ok(MediumPartitionPage {
            maximum_additional_partitions: d[0],
            additional_partitions_defined: d[1],
            fdp: d[2] & 0x80 != 0,
            sdp: d[2] & 0x40 != 0,
            idp: d[2] & 0x20 != 0,
            psum: (d[2] >> 3) & 0x03,
            pofm: d[2] & 0x04 != 0,
            clear: d[2] & 0x02 != 0,
            addp: d[2] & 0x01 != 0,
            medium_format_recognition: d[3],
            partition_units: d[4] & 0x0f,
            partition_sizes: sizes,
        })
    }

    pub fn units(&self) -> PartitionUnits {
        match self.psum {
            0 => PartitionUnits::Bytes,
            1 => PartitionUnits::Kilobytes,
            2 => PartitionUnits::Megabytes,
            _ => PartitionUnits::Exponent(self.partition_units),
        }
    }

    /// Number of partitions currently defined.
    pub fn partition_count(&self) -> u16 {
        u16::from(self.additional_partitions_defined) + 1
    }

    /// The page for a two-partition MODE SELECT: partition 0 (index) of `index_size` units,
    /// partition 1 the rest. `template` is the current page, so the drive's page length and
    /// unrelated fields stay as it reported them.
    pub fn two_partitions(template: &MediumPartitionPage, psum: u8, index_size: u16) -> Self {
        let mut p = template.clone();
        p.additional_partitions_defined = 1;
        p.fdp = false;
        p.sdp = false;
        p.idp = true;
        p.psum = psum & 0x03;
        p.pofm = false;
        let n = p.partition_sizes.len().max(2);
        p.partition_sizes = vec![0; n];
        p.partition_sizes[0] = index_size;
        p.partition_sizes[1] = 0xffff;
        p
    }

    /// The page for a single partition.
    pub fn single(template: &MediumPartitionPage) -> Self {
        let mut p = template.clone();
        p.additional_partitions_defined = 0;
        p.fdp = false;
        p.sdp = false;
        p.idp = false;
        p.pofm = false;
        for s in &mut p.partition_sizes {
            *s = 0;
        }
        p
    }

    pub fn to_page(&self) -> ModePage {
        let mut d = vec![
            self.maximum_additional_partitions,
            self.additional_partitions_defined,
            (u8::from(self.fdp) << 7)
                | (u8::from(self.sdp) << 6)
                | (u8::from(self.idp) << 5)
                | ((self.psum & 0x03) << 3)
                | (u8::from(self.pofm) << 2)
                | (u8::from(self.clear) << 1)
                | u8::from(self.addp),
            self.medium_format_recognition,
            self.partition_units & 0x0f,
            0,
        ];
        for s in self.partition_sizes.iter().take(124) {
            d.extend_from_slice(&s.to_be_bytes());
        }
        ModePage::new(PAGE_MEDIUM_PARTITION, d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spc::mode::ModeData;
    use proptest::prelude::*;

    #[test]
    fn compression_page() {
        let p = ModePage {
            code: 0x0f,
            subpage: None,
            ps: true,
            data: vec![0xc0, 0x80, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0],
        };
        let c = DataCompressionPage::decode(&p).unwrap();
        assert!(c.dce && c.dcc && c.dde);
        assert_eq!(c.compression_algorithm, 1);
        let mut off = c;
        off.dce = false;
        assert_eq!(off.to_page().data[0], 0x40);
        assert_eq!(DataCompressionPage::decode(&c.to_page()).unwrap(), c);
        assert!(DataCompressionPage::decode(&ModePage::new(0x10, vec![0; 14])).is_err());
    }

    #[test]
    fn device_configuration_page() {
        let mut data = vec![0u8; 14];
        data[1] = 1;
        data[5] = 0x64;
        data[6] = 0x40;
        data[8] = 0x08 | 0x01;
        data[12] = 1;
        let d = DeviceConfigurationPage::decode(&ModePage::new(0x10, data.clone())).unwrap();
        assert_eq!(d.active_partition, 1);
        assert_eq!(d.write_delay_time, 100);
        assert!(d.lois && d.sew);
        assert_eq!(d.to_page().data, data);
    }

    #[test]
    fn ibm_medium_partition_page_two_partitions() {
        // IBM LTO-8 reports page 11h with length 0x0A: 2 partition size fields, PSUM = MB.
        let b = [
            23, 0, 0x10, 8, 0x5e, 0, 0, 0, 0, 0, 0, 0, 0x91, 0x0a, 3, 0, 0x18, 3, 9, 0, 0x17, 0x4e,
            0, 0,
        ];
        let m = ModeData::decode_6(&b).unwrap();
        let p = MediumPartitionPage::decode(m.page(0x11).unwrap()).unwrap();
        assert_eq!(p.maximum_additional_partitions, 3);
        assert_eq!(p.partition_count(), 1);
        assert_eq!(p.units(), PartitionUnits::Exponent(9));
        assert_eq!(p.partition_sizes, vec![0x174e, 0]);
        let two = MediumPartitionPage::two_partitions(&p, 2, 2859);
        let page = two.to_page();
        assert_eq!(page.data.len(), 10, "page length preserved");
        assert_eq!(page.data[1], 1);
        assert_eq!(page.data[2], 0x20 | 0x10);
        assert_eq!(&page.data[6..10], &[0x0b, 0x2b, 0xff, 0xff]);
        assert_eq!(MediumPartitionPage::decode(&page).unwrap(), two);
        let one = MediumPartitionPage::single(&two);
        assert_eq!(one.partition_count(), 1);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(10_000))]
        #[test]
        fn arbitrary_pages_never_panic(code in 0x0fu8..0x12, data in proptest::collection::vec(any::<u8>(), 0..40)) {
            let p = ModePage::new(code, data);
            let _ = DataCompressionPage::decode(&p);
            let _ = DeviceConfigurationPage::decode(&p);
            let _ = MediumPartitionPage::decode(&p);
        }

        #[test]
        fn medium_partition_round_trip(
            max: u8, defined: u8, fdp: bool, sdp: bool, idp: bool, psum in 0u8..4, pofm: bool,
            clear: bool, addp: bool, mfr: u8, units in 0u8..16,
            sizes in proptest::collection::vec(any::<u16>(), 0..8)
        ) {
            let p = MediumPartitionPage {
                maximum_additional_partitions: max, additional_partitions_defined: defined,
                fdp, sdp, idp, psum, pofm, clear, addp, medium_format_recognition: mfr,
                partition_units: units, partition_sizes: sizes,
            };
            prop_assert_eq!(MediumPartitionPage::decode(&p.to_page()).unwrap(), p);
        }

        #[test]
        fn compression_round_trip(dce: bool, dcc: bool, dde: bool, red in 0u8..4, ca: u32, da: u32) {
            let c = DataCompressionPage { dce, dcc, dde, red, compression_algorithm: ca, decompression_algorithm: da };
            prop_assert_eq!(DataCompressionPage::decode(&c.to_page()).unwrap(), c);
        }
    }
}
