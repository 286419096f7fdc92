//! Bit-integrity reports: one row per file a verify read, as tab-separated values with the
//! columns of DuraCloud's bit-integrity report adapted to tapes (date checked, tape, object,
//! instance, file, result, expected and computed checksum, details). The latest report of
//! each tape is kept in the data directory.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// The outcome for one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Size and CRC-32 match the catalog.
    Valid,
    /// Read, but the size or CRC-32 differs.
    Mismatch,
    /// Could not be read.
    Unreadable,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Valid => "VALID",
            Verdict::Mismatch => "MISMATCH",
            Verdict::Unreadable => "UNREADABLE",
        }
    }

    fn parse(s: &str) -> Option<Verdict> {
        [Verdict::Valid, Verdict::Mismatch, Verdict::Unreadable]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// Why a stored report could not be read back into rows.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReportError {
    #[error("the report does not start with the bit-integrity header")]
    Header,
    #[error("line {line}: {reason}")]
    Line { line: usize, reason: String },
}

/// One checked file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportRow {
    pub checked: OffsetDateTime,
    pub tape: String,
    /// `collection/name`.
    pub object: String,
    pub instance: u64,
    pub file: String,
    pub verdict: Verdict,
    pub expected_crc32: u32,
    pub computed_crc32: Option<u32>,
    pub details: String,
    /// Bytes read back (not part of the TSV).
    pub bytes: u64,
}

pub const HEADER: &str =
    "date-checked\ttape\tobject\tinstance\tfile\tresult\texpected-crc32\tcomputed-crc32\tdetails";

/// Tabs and line breaks in names would break the columns; they are escaped.
fn field(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('\t', "\\t")
        .replace('\n', "\\n")
        .replace('\r', "\\r")
}

/// The report as TSV, header first.
pub fn to_tsv(rows: &[ReportRow]) -> String {
    let mut out = String::from(HEADER);
    out.push('\n');
    for r in rows {
        let checked = r
            .checked
            .format(&Rfc3339)
            .unwrap_or_else(|_| r.checked.unix_timestamp().to_string());
        let computed = r
            .computed_crc32
            .map(|c| format!("{c:08x}"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "{checked}\t{}\t{}\t{}\t{}\t{}\t{:08x}\t{computed}\t{}",
            field(&r.tape),
            field(&r.object),
            r.instance,
            field(&r.file),
            r.verdict.as_str(),
            r.expected_crc32,
            field(&r.details)
        );
    }
    out
}

/// Undoes [`field`]; an unknown escape is kept as written.
fn unfield(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('\\') => out.push('\\'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

fn crc(s: &str) -> Option<u32> {
    if s.len() == 8 {
        u32::from_str_radix(s, 16).ok()
    } else {
        None
    }
}

/// Reads a report written by [`to_tsv`] back into rows (`bytes` is not kept and reads 0).
pub fn parse_tsv(tsv: &str) -> Result<Vec<ReportRow>, ReportError> {
    let mut lines = tsv.lines();
    if lines.next() != Some(HEADER) {
        return Err(ReportError::Header);
    }
    let mut rows = Vec::new();
    for (i, text) in lines.enumerate() {
        let line = i + 2;
        let bad = |reason: &str| ReportError::Line {
            line,
            reason: reason.to_string(),
        };
        if text.is_empty() {
            continue;
        }
        let cols: Vec<&str> = text.split('\t').collect();
        let [checked, tape, object, instance, file, verdict, expected, computed, details] =
            cols[..]
        else {
            return Err(bad(&format!("{} columns instead of 9", cols.len())));
        };
        rows.push(ReportRow {
            checked: OffsetDateTime::parse(checked, &Rfc3339)
                .map_err(|e| bad(&format!("date-checked {checked:?}: {e}")))?,
            tape: unfield(tape),
            object: unfield(object),
            instance: instance
                .parse()
                .map_err(|_| bad(&format!("instance {instance:?} is not a number")))?,
            file: unfield(file),
            verdict: Verdict::parse(verdict)
                .ok_or_else(|| bad(&format!("unknown result {verdict:?}")))?,
            expected_crc32: crc(expected)
                .ok_or_else(|| bad(&format!("expected-crc32 {expected:?} is not a CRC-32")))?,
            computed_crc32: match computed {
                "" => None,
                c => Some(
                    crc(c).ok_or_else(|| bad(&format!("computed-crc32 {c:?} is not a CRC-32")))?,
                ),
            },
            details: unfield(details),
            bytes: 0,
        });
    }
    Ok(rows)
}

/// Where the reports of a data directory live.
pub fn report_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("bit-integrity")
}

fn report_path(data_dir: &Path, barcode: &str) -> std::io::Result<PathBuf> {
    // Barcodes are validated by the catalog, but the name must never leave the folder.
    if barcode.is_empty()
        || !barcode
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("{barcode:?} is not a barcode"),
        ));
    }
    Ok(report_dir(data_dir).join(format!("{barcode}.tsv")))
}

/// Stores `tsv` as the latest report of a tape (write to a temporary file, then rename).
pub fn store(data_dir: &Path, barcode: &str, tsv: &str) -> std::io::Result<PathBuf> {
    let path = report_path(data_dir, barcode)?;
    std::fs::create_dir_all(report_dir(data_dir))?;
    let tmp = path.with_extension("tsv.tmp");
    std::fs::write(&tmp, tsv)?;
    std::fs::rename(&tmp, &path)?;
    Ok(path)
}

/// The latest report of a tape, if it was ever verified.
pub fn load(data_dir: &Path, barcode: &str) -> std::io::Result<Option<String>> {
    Ok(load_with_time(data_dir, barcode)?.map(|(tsv, _)| tsv))
}

/// The latest report of a tape and when it was stored, if it was ever verified.
pub fn load_with_time(
    data_dir: &Path,
    barcode: &str,
) -> std::io::Result<Option<(String, std::time::SystemTime)>> {
    let path = report_path(data_dir, barcode)?;
    let tsv = match std::fs::read_to_string(&path) {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let modified = std::fs::metadata(&path)?.modified()?;
    Ok(Some((tsv, modified)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(file: &str, verdict: Verdict, computed: Option<u32>) -> ReportRow {
        ReportRow {
            checked: OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap(),
            tape: "ABC001L8".into(),
            object: "news/clip".into(),
            instance: 3,
            file: file.into(),
            verdict,
            expected_crc32: 0xdead_beef,
            computed_crc32: computed,
            details: String::new(),
            bytes: 0,
        }
    }

    #[test]
    fn tsv_has_header_and_one_line_per_row_with_escaped_fields() {
        let tsv = to_tsv(&[
            row("a.mxf", Verdict::Valid, Some(0xdead_beef)),
            row("odd\tname\n.mxf", Verdict::Unreadable, None),
        ]);
        let lines: Vec<&str> = tsv.lines().collect();
        assert_eq!(lines[0], HEADER);
        assert_eq!(
            lines[1],
            "2023-11-14T22:13:20Z\tABC001L8\tnews/clip\t3\ta.mxf\tVALID\tdeadbeef\tdeadbeef\t"
        );
        assert_eq!(lines.len(), 3);
        let cols: Vec<&str> = lines[2].split('\t').collect();
        assert_eq!(cols.len(), 9);
        assert_eq!(cols[4], "odd\\tname\\n.mxf");
        assert_eq!(cols[5], "UNREADABLE");
        assert_eq!(cols[7], "");
    }

    #[test]
    fn parse_reads_back_what_to_tsv_wrote() {
        let rows = vec![
            row("a.mxf", Verdict::Valid, Some(0xdead_beef)),
            row("odd\tname\\x\n.mxf", Verdict::Unreadable, None),
            ReportRow {
                details: "checksum differs".into(),
                ..row("b", Verdict::Mismatch, Some(7))
            },
        ];
        assert_eq!(parse_tsv(&to_tsv(&rows)).unwrap(), rows);
        assert_eq!(parse_tsv(HEADER).unwrap(), vec![]);
    }

    #[test]
    fn parse_refuses_damaged_reports() {
        assert_eq!(parse_tsv(""), Err(ReportError::Header));
        assert_eq!(parse_tsv("date\ttape\n"), Err(ReportError::Header));
        let good = to_tsv(&[row("a", Verdict::Valid, Some(1))]);
        let line = good.lines().nth(1).unwrap();
        for (from, to) in [
            ("\tVALID\t", "\tFINE\t"),
            ("\t3\t", "\tthree\t"),
            ("deadbeef", "xyz"),
            ("2023-11-14T22:13:20Z", "yesterday"),
            ("\ta\t", "\ta\textra\t"),
        ] {
            let bad = format!("{HEADER}\n{}\n", line.replacen(from, to, 1));
            assert!(
                matches!(parse_tsv(&bad), Err(ReportError::Line { line: 2, .. })),
                "{bad:?} parsed"
            );
        }
    }

    #[test]
    fn store_and_load_round_trip_and_refuse_escaping_names() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(load(dir.path(), "ABC001L8").unwrap(), None);
        let tsv = to_tsv(&[row("a", Verdict::Mismatch, Some(1))]);
        store(dir.path(), "ABC001L8", &tsv).unwrap();
        assert_eq!(
            load(dir.path(), "ABC001L8").unwrap().as_deref(),
            Some(tsv.as_str())
        );
        assert!(store(dir.path(), "../x", "t").is_err());
        assert!(load(dir.path(), "a/b").is_err());
    }
}
