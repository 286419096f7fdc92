//! Index XML writer. Output is streamed, so an index of any size is cut into records without
//! being held in memory whole.

use std::io::{self, Write};

use base64::Engine as _;

use super::model::{Directory, Entry, Extent, File, Index, IndexLocation, Times, Xattr};
use crate::label::LTFS_VERSION;
use crate::names::{is_xml_text, needs_percent_encoding, percent_encode};
use crate::xml::{escape_text, write_element};

/// Writes the index as an LTFS 2.4.0 XML document.
pub fn write_index<W: Write>(index: &Index, w: &mut W) -> io::Result<()> {
    write!(
        w,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ltfsindex version=\"{LTFS_VERSION}\">\n"
    )?;
    leaf(w, "creator", &index.creator)?;
    if let Some(c) = &index.comment {
        leaf(w, "comment", c)?;
    }
    leaf(w, "volumeuuid", &index.volume_uuid.hyphenated().to_string())?;
    writeln!(
        w,
        "<generationnumber>{}</generationnumber>",
        index.generation
    )?;
    writeln!(w, "<updatetime>{}</updatetime>", index.update_time)?;
    location(w, "location", index.location)?;
    // LTFS 2.4 §7.2: omitted when there is no previous generation (it would point at block 0).
    if let Some(prev) = index.previous.filter(|p| p.start_block != 0) {
        location(w, "previousgenerationlocation", prev)?;
    }
    writeln!(
        w,
        "<allowpolicyupdate>{}</allowpolicyupdate>",
        index.allow_policy_update
    )?;
    if let Some(p) = &index.data_placement_policy {
        write_element(w, p)?;
        w.write_all(b"\n")?;
    }
    writeln!(
        w,
        "<highestfileuid>{}</highestfileuid>",
        index.highest_file_uid
    )?;
    if let Some(s) = &index.volume_lock_state {
        leaf(w, "volumelockstate", s)?;
    }
    directory(w, index.volume_name.as_deref(), &index.root)?;
    for u in &index.unknown {
        write_element(w, u)?;
        w.write_all(b"\n")?;
    }
    w.write_all(b"</ltfsindex>\n")
}

/// Writes `<tag>value</tag>` and a newline without the formatting machinery (index writing is
/// dominated by these for large volumes).
fn num<W: Write>(w: &mut W, tag: &str, value: u64) -> io::Result<()> {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut v = value;
    loop {
        i -= 1;
        digits[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    open_tag(w, tag)?;
    w.write_all(&digits[i..])?;
    close_tag(w, tag)
}

fn open_tag<W: Write>(w: &mut W, tag: &str) -> io::Result<()> {
    w.write_all(b"<")?;
    w.write_all(tag.as_bytes())?;
    w.write_all(b">")
}

fn close_tag<W: Write>(w: &mut W, tag: &str) -> io::Result<()> {
    w.write_all(b"</")?;
    w.write_all(tag.as_bytes())?;
    w.write_all(b">\n")
}

fn boolean<W: Write>(w: &mut W, tag: &str, value: bool) -> io::Result<()> {
    open_tag(w, tag)?;
    w.write_all(if value { b"true" } else { b"false" })?;
    close_tag(w, tag)
}

fn time<W: Write>(w: &mut W, tag: &str, t: crate::time::LtfsTime) -> io::Result<()> {
    open_tag(w, tag)?;
    w.write_all(&t.to_bytes())?;
    close_tag(w, tag)
}

fn leaf<W: Write>(w: &mut W, name: &str, text: &str) -> io::Result<()> {
    open_tag(w, name)?;
    w.write_all(escape_text(text).as_bytes())?;
    close_tag(w, name)
}

fn location<W: Write>(w: &mut W, name: &str, l: IndexLocation) -> io::Result<()> {
    writeln!(
        w,
        "<{name}>\n<partition>{}</partition>\n<startblock>{}</startblock>\n</{name}>",
        l.partition, l.start_block
    )
}

/// A name element, percent-encoded whole when it holds `:` or control characters.
fn name_leaf<W: Write>(w: &mut W, tag: &str, name: &str) -> io::Result<()> {
    if needs_percent_encoding(name) {
        writeln!(
            w,
            "<{tag} percentencoded=\"true\">{}</{tag}>",
            escape_text(&percent_encode(name))
        )
    } else {
        leaf(w, tag, name)
    }
}

fn times<W: Write>(w: &mut W, t: &Times) -> io::Result<()> {
    time(w, "creationtime", t.creation)?;
    time(w, "changetime", t.change)?;
    time(w, "modifytime", t.modify)?;
    time(w, "accesstime", t.access)?;
    time(w, "backuptime", t.backup)
}

fn xattrs<W: Write>(w: &mut W, xattrs: &[Xattr]) -> io::Result<()> {
    if xattrs.is_empty() {
        return Ok(());
    }
    w.write_all(b"<extendedattributes>\n")?;
    for x in xattrs {
        w.write_all(b"<xattr>\n")?;
        name_leaf(w, "key", &x.key)?;
        match std::str::from_utf8(&x.value) {
            Ok(text) if is_xml_text(text) => leaf(w, "value", text)?,
            // LTFS 2.4 §7.5: values that are not valid XML text are base64-encoded.
            _ => writeln!(
                w,
                "<value type=\"base64\">{}</value>",
                base64::engine::general_purpose::STANDARD.encode(&x.value)
            )?,
        }
        w.write_all(b"</xattr>\n")?;
    }
    w.write_all(b"</extendedattributes>\n")
}

fn extent<W: Write>(w: &mut W, e: &Extent) -> io::Result<()> {
    w.write_all(b"<extent>\n")?;
    num(w, "fileoffset", e.file_offset)?;
    let mut letter = [0u8; 4];
    leaf(w, "partition", e.partition.encode_utf8(&mut letter))?;
    num(w, "startblock", e.start_block)?;
    num(w, "byteoffset", e.byte_offset)?;
    num(w, "bytecount", e.byte_count)?;
    w.write_all(b"</extent>\n")
}

fn file<W: Write>(w: &mut W, name: &str, f: &File) -> io::Result<()> {
    w.write_all(b"<file>\n")?;
    name_leaf(w, "name", name)?;
    num(w, "length", f.length)?;
    boolean(w, "readonly", f.readonly)?;
    times(w, &f.times)?;
    num(w, "fileuid", f.file_uid)?;
    xattrs(w, &f.xattrs)?;
    if let Some(target) = &f.symlink {
        name_leaf(w, "symlink", target)?;
    } else if !f.extents.is_empty() {
        w.write_all(b"<extentinfo>\n")?;
        for e in &f.extents {
            extent(w, e)?;
        }
        w.write_all(b"</extentinfo>\n")?;
    }
    if f.open_for_write {
        w.write_all(b"<openforwrite>true</openforwrite>\n")?;
    }
    for u in &f.unknown {
        write_element(w, u)?;
        w.write_all(b"\n")?;
    }
    w.write_all(b"</file>\n")
}

/// Writes a directory. Depth is bounded by [`super::MAX_DEPTH`] (enforced when parsing and when
/// creating directories), so recursion is bounded too.
fn directory<W: Write>(w: &mut W, name: Option<&str>, d: &Directory) -> io::Result<()> {
    w.write_all(b"<directory>\n")?;
    if let Some(name) = name {
        name_leaf(w, "name", name)?;
    }
    boolean(w, "readonly", d.readonly)?;
    times(w, &d.times)?;
    num(w, "fileuid", d.file_uid)?;
    xattrs(w, &d.xattrs)?;
    if d.entries.is_empty() {
        w.write_all(b"<contents/>\n")?;
    } else {
        w.write_all(b"<contents>\n")?;
        for (name, entry) in &d.entries {
            match entry {
                Entry::File(f) => file(w, name, f)?,
                Entry::Directory(sub) => directory(w, Some(name), sub)?,
            }
        }
        w.write_all(b"</contents>\n")?;
    }
    for u in &d.unknown {
        write_element(w, u)?;
        w.write_all(b"\n")?;
    }
    w.write_all(b"</directory>\n")
}
