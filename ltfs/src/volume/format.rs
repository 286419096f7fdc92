//! Formatting a volume: two partitions, a label construct on each, and generation-1 indexes
//! (LTFS 2.4 §8.1, §8.2).

use tracing::info;
use uuid::Uuid;

use super::sync::{application_attributes, write_index_construct, write_vci};
use super::{SyncPolicy, Volume, CREATOR, FIRST_INDEX_CONSTRUCT};
use crate::device::TapeDevice;
use crate::error::{LtfsError, Result};
use crate::index::{Index, IndexLocation};
use crate::label::{LtfsLabel, Vol1Label, DEFAULT_BLOCKSIZE, MAX_LABEL_LEN, MIN_BLOCKSIZE};
use crate::names::normalize_name;
use crate::time::LtfsTime;

/// Physical partition numbers LTFS uses by default: index `a` on 0, data `b` on 1.
const INDEX_PARTITION: u8 = 0;
const DATA_PARTITION: u8 = 1;

/// What to put on a new volume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatOptions {
    /// Up to six characters, written in the VOL1 label and MAM.
    pub barcode: String,
    /// Volume name: name of the root directory and MAM user medium text label.
    pub volume_name: Option<String>,
    /// Data record size; at least 4096.
    pub blocksize: u32,
    pub compression: bool,
    /// A fixed UUID (tests, golden files); a random one when `None`.
    pub volume_uuid: Option<Uuid>,
}

impl FormatOptions {
    /// Default block size (512 KiB) and compression on.
    pub fn new(barcode: &str, volume_name: Option<&str>) -> Self {
        FormatOptions {
            barcode: barcode.to_owned(),
            volume_name: volume_name.map(str::to_owned),
            blocksize: DEFAULT_BLOCKSIZE,
            compression: true,
            volume_uuid: None,
        }
    }
}

/// Writes a label construct at the start of a partition: VOL1, filemark, XML label, filemark.
pub(crate) fn write_label_construct<D: TapeDevice + ?Sized>(
    device: &mut D,
    partition: u8,
    vol1: &Vol1Label,
    label: &LtfsLabel,
) -> Result<()> {
    device.locate(partition, 0)?;
    device.write_record(&vol1.encode())?;
    device.write_filemarks(1, true)?;
    let xml = label.to_xml();
    if xml.len() > MAX_LABEL_LEN {
        return Err(LtfsError::Label("label longer than 4 KiB".into()));
    }
    device.write_record(xml.as_bytes())?;
    device.write_filemarks(1, true)?;
    Ok(())
}

/// Partitions the medium and writes both labels and generation-1 indexes; returns the volume
/// mounted and ready for writing.
pub fn format<D: TapeDevice>(mut device: D, options: &FormatOptions) -> Result<Volume<D>> {
    if options.blocksize < MIN_BLOCKSIZE {
        return Err(LtfsError::InvalidArgument(format!(
            "block size {} is below the LTFS minimum of 4096",
            options.blocksize
        )));
    }
    let vol1 = Vol1Label::new(&options.barcode)?;
    let volume_name = options
        .volume_name
        .as_deref()
        .map(normalize_name)
        .transpose()
        .map_err(|e| LtfsError::Name {
            name: e.name,
            reason: e.reason,
        })?;
    let blocksize = options.blocksize as usize;
    device.set_up(blocksize, options.compression)?;
    device.format_two_partitions()?;
    let partitions = device.partition_count()?;
    if partitions != 2 {
        return Err(LtfsError::InvalidArgument(format!(
            "medium has {partitions} partitions after formatting, expected 2"
        )));
    }
    let now = LtfsTime::now();
    let volume_uuid = options.volume_uuid.unwrap_or_else(Uuid::new_v4);
    let label = LtfsLabel {
        creator: format!("{CREATOR} - format"),
        format_time: now,
        volume_uuid,
        location: 'b',
        index_partition: 'a',
        data_partition: 'b',
        blocksize: options.blocksize,
        compression: options.compression,
    };
    let first = FIRST_INDEX_CONSTRUCT + 1;
    let dp_location = IndexLocation {
        partition: 'b',
        start_block: first,
    };
    let mut index = Index::new(CREATOR, volume_uuid, volume_name.clone(), dp_location, now);

    // Data partition first: its index is the generation-1 reference the index partition's copy
    // points back to.
    write_label_construct(&mut device, DATA_PARTITION, &vol1, &label)?;
    let (dp_end, _) = write_index_construct(
        &mut device,
        DATA_PARTITION,
        FIRST_INDEX_CONSTRUCT,
        &index,
        blocksize,
    )?;

    let ip_label = LtfsLabel {
        location: 'a',
        ..label.clone()
    };
    write_label_construct(&mut device, INDEX_PARTITION, &vol1, &ip_label)?;
    index.location = IndexLocation {
        partition: 'a',
        start_block: first,
    };
    index.previous = Some(dp_location);
    write_index_construct(
        &mut device,
        INDEX_PARTITION,
        FIRST_INDEX_CONSTRUCT,
        &index,
        blocksize,
    )?;
    write_vci(&mut device, INDEX_PARTITION, 1, first, volume_uuid)?;
    write_vci(&mut device, DATA_PARTITION, 1, first, volume_uuid)?;
    application_attributes(volume_name.as_deref().unwrap_or(""), &vol1.barcode)
        .write(&mut device)?;
    info!(barcode = %vol1.barcode, uuid = %volume_uuid, "volume formatted");

    Ok(Volume {
        device,
        label,
        vol1,
        index,
        ip: INDEX_PARTITION,
        dp: DATA_PARTITION,
        blocksize,
        dp_append: Some(dp_end),
        last_dp_index: dp_location,
        dirty: false,
        ip_current: true,
        policy: SyncPolicy::default(),
        bytes_since_sync: 0,
        files_since_sync: 0,
        early_warning: false,
        read_only: false,
        buf: Vec::new(),
    })
}
