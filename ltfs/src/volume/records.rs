//! Index constructs as records: an index document cut into `blocksize` records on write, and
//! records read back as a byte stream until the closing filemark.

use std::io::{self, BufRead, Read, Write};

use crate::device::{ReadOutcome, TapeDevice, WriteOutcome};
use crate::error::LtfsError;

/// Cuts a byte stream into records of exactly `blocksize` bytes (the last one short).
pub(crate) struct RecordWriter<'a, D: TapeDevice + ?Sized> {
    device: &'a mut D,
    buf: Vec<u8>,
    blocksize: usize,
    pub records: u64,
    pub early_warning: bool,
    pub error: Option<LtfsError>,
}

impl<'a, D: TapeDevice + ?Sized> RecordWriter<'a, D> {
    pub fn new(device: &'a mut D, blocksize: usize) -> Self {
        RecordWriter {
            device,
            buf: Vec::with_capacity(blocksize),
            blocksize,
            records: 0,
            early_warning: false,
            error: None,
        }
    }

    fn emit(&mut self) -> io::Result<()> {
        match self.device.write_record(&self.buf) {
            Ok(outcome) => {
                self.early_warning |= outcome == WriteOutcome::EarlyWarning;
                self.records += 1;
                self.buf.clear();
                Ok(())
            }
            Err(e) => {
                self.error = Some(e);
                Err(io::Error::other("device write failed"))
            }
        }
    }

    /// Writes the last, short record.
    pub fn finish(mut self) -> Result<(u64, bool), LtfsError> {
        if !self.buf.is_empty() {
            if let Err(e) = self.emit() {
                return Err(self.error.take().unwrap_or(LtfsError::Io {
                    context: "writing an index",
                    source: e,
                }));
            }
        }
        Ok((self.records, self.early_warning))
    }
}

impl<D: TapeDevice + ?Sized> Write for RecordWriter<'_, D> {
    fn write(&mut self, mut data: &[u8]) -> io::Result<usize> {
        let n = data.len();
        while !data.is_empty() {
            let room = self.blocksize - self.buf.len();
            let (now, rest) = data.split_at(room.min(data.len()));
            self.buf.extend_from_slice(now);
            data = rest;
            if self.buf.len() == self.blocksize {
                self.emit()?;
            }
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Reads records from the current position as one byte stream, ending at a filemark (or end
/// of data).
pub(crate) struct RecordReader<'a, D: TapeDevice + ?Sized> {
    device: &'a mut D,
    buf: Vec<u8>,
    len: usize,
    pos: usize,
    done: bool,
    pub hit_end_of_data: bool,
    pub error: Option<LtfsError>,
}

impl<'a, D: TapeDevice + ?Sized> RecordReader<'a, D> {
    pub fn new(device: &'a mut D, blocksize: usize) -> Self {
        RecordReader {
            device,
            buf: vec![0; blocksize],
            len: 0,
            pos: 0,
            done: false,
            hit_end_of_data: false,
            error: None,
        }
    }
}

impl<D: TapeDevice + ?Sized> BufRead for RecordReader<'_, D> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        while self.pos >= self.len && !self.done {
            match self.device.read_record(&mut self.buf) {
                Ok(ReadOutcome::Data(n)) => {
                    self.len = n.min(self.buf.len());
                    self.pos = 0;
                }
                Ok(ReadOutcome::Filemark) => self.done = true,
                Ok(ReadOutcome::EndOfData) => {
                    self.done = true;
                    self.hit_end_of_data = true;
                }
                Err(e) => {
                    self.error = Some(e);
                    self.done = true;
                    return Err(io::Error::other("device read failed"));
                }
            }
        }
        Ok(self.buf.get(self.pos..self.len).unwrap_or(&[]))
    }

    fn consume(&mut self, amt: usize) {
        self.pos = (self.pos + amt).min(self.len);
    }
}

impl<D: TapeDevice + ?Sized> Read for RecordReader<'_, D> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let avail = self.fill_buf()?;
        let n = avail.len().min(out.len());
        out[..n].copy_from_slice(&avail[..n]);
        self.consume(n);
        Ok(n)
    }
}
