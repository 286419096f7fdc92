//! The export document: what an exported tape holds, enough to import it elsewhere
//! without our catalog. XML, one `<tape>` per exported tape:
//!
//! ```xml
//! <tapelibExport version="1" exported="2026-12-04T10:00:00Z">
//!   <comments>to the vault</comments>
//!   <tape barcode="ABC001L8" volumeUuid="…" generation="8" group="news">
//!     <object collection="news" name="clip" archived="…" instance="3" tapes="ABC001L8">
//!       <comments>…</comments>
//!       <file path="a/b.mxf" size="123" crc32="0a1b2c3d" tape="ABC001L8"
//!             ltfsPath="/news/clip/a/b.mxf" partition="1" block="42"/>
//!     </object>
//!   </tape>
//! </tapelibExport>
//! ```

use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use quick_xml::{Reader, Writer};

/// The document's format version; readers refuse newer ones.
pub const VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExportDocument {
    /// RFC 3339 time of the export.
    pub exported: String,
    pub comments: String,
    pub tapes: Vec<ExportedTape>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExportedTape {
    pub barcode: String,
    pub volume_uuid: Option<String>,
    pub generation: Option<u8>,
    pub group: Option<String>,
    pub objects: Vec<ExportedObject>,
}

/// One instance of an object with data on the tape.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExportedObject {
    pub collection: String,
    pub name: String,
    /// RFC 3339 archive time.
    pub archived: String,
    pub instance: u64,
    /// Every tape of the instance, in written order (a spanning instance names several).
    pub tapes: Vec<String>,
    pub comments: String,
    /// Every file of the instance, on this tape or another.
    pub files: Vec<ExportedFile>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExportedFile {
    pub path: String,
    pub size: u64,
    pub crc32: u32,
    pub tape: String,
    pub ltfs_path: String,
    pub partition: Option<u8>,
    pub block: Option<u64>,
}

/// A document that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    #[error("export document is not well-formed XML: {0}")]
    Xml(String),
    #[error("export document: {0}")]
    Invalid(String),
}

impl From<quick_xml::Error> for DocumentError {
    fn from(e: quick_xml::Error) -> Self {
        DocumentError::Xml(e.to_string())
    }
}

impl From<quick_xml::events::attributes::AttrError> for DocumentError {
    fn from(e: quick_xml::events::attributes::AttrError) -> Self {
        DocumentError::Xml(e.to_string())
    }
}

impl ExportDocument {
    /// The document as XML.
    pub fn to_xml(&self) -> String {
        let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
        // Writing to a Vec cannot fail.
        let _ = self.write(&mut w);
        String::from_utf8(w.into_inner()).unwrap_or_default()
    }

    fn write(&self, w: &mut Writer<Vec<u8>>) -> std::io::Result<()> {
        w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
        let version = VERSION.to_string();
        let mut root = BytesStart::new("tapelibExport");
        root.push_attribute(("version", version.as_str()));
        root.push_attribute(("exported", self.exported.as_str()));
        w.write_event(Event::Start(root))?;
        text_element(w, "comments", &self.comments)?;
        for t in &self.tapes {
            let mut e = BytesStart::new("tape");
            e.push_attribute(("barcode", t.barcode.as_str()));
            if let Some(u) = &t.volume_uuid {
                e.push_attribute(("volumeUuid", u.as_str()));
            }
            let generation = t.generation.map(|g| g.to_string());
            if let Some(g) = &generation {
                e.push_attribute(("generation", g.as_str()));
            }
            if let Some(g) = &t.group {
                e.push_attribute(("group", g.as_str()));
            }
            w.write_event(Event::Start(e))?;
            for o in &t.objects {
                let instance = o.instance.to_string();
                let tapes = o.tapes.join(",");
                let mut e = BytesStart::new("object");
                e.push_attribute(("collection", o.collection.as_str()));
                e.push_attribute(("name", o.name.as_str()));
                e.push_attribute(("archived", o.archived.as_str()));
                e.push_attribute(("instance", instance.as_str()));
                e.push_attribute(("tapes", tapes.as_str()));
                w.write_event(Event::Start(e))?;
                text_element(w, "comments", &o.comments)?;
                for f in &o.files {
                    let size = f.size.to_string();
                    let crc = format!("{:08x}", f.crc32);
                    let mut e = BytesStart::new("file");
                    e.push_attribute(("path", f.path.as_str()));
                    e.push_attribute(("size", size.as_str()));
                    e.push_attribute(("crc32", crc.as_str()));
                    e.push_attribute(("tape", f.tape.as_str()));
                    e.push_attribute(("ltfsPath", f.ltfs_path.as_str()));
                    let partition = f.partition.map(|p| p.to_string());
                    if let Some(p) = &partition {
                        e.push_attribute(("partition", p.as_str()));
                    }
                    let block = f.block.map(|b| b.to_string());
                    if let Some(b) = &block {
                        e.push_attribute(("block", b.as_str()));
                    }
                    w.write_event(Event::Empty(e))?;
                }
                w.write_event(Event::End(BytesEnd::new("object")))?;
            }
            w.write_event(Event::End(BytesEnd::new("tape")))?;
        }
        w.write_event(Event::End(BytesEnd::new("tapelibExport")))?;
        Ok(())
    }

    /// Reads a document; several documents' `<tape>` lists may be concatenated by the
    /// caller with [`ExportDocument::merge`].
    pub fn parse(xml: &str) -> Result<Self, DocumentError> {
        let mut reader = Reader::from_str(xml);
        reader.config_mut().trim_text(true);
        let mut doc = ExportDocument::default();
        let mut seen_root = false;
        // Which element's text we are reading: 0 none, 1 document comments, 2 object comments.
        let mut in_comments = 0u8;
        // Whether an `<object>` element is open (files and comments belong to it).
        let mut object_open = false;
        // Open elements: a document cut short must not pass for a smaller one.
        let mut depth = 0usize;
        loop {
            let ev = reader.read_event()?;
            match &ev {
                Event::Start(_) => depth += 1,
                Event::End(_) => depth = depth.saturating_sub(1),
                _ => {}
            }
            match ev {
                Event::Start(ref e) | Event::Empty(ref e) => {
                    let empty = matches!(ev, Event::Empty(_));
                    match e.name().as_ref() {
                        b"tapelibExport" => {
                            let v = attr(e, "version")?.unwrap_or_default();
                            let v: u32 = v.parse().map_err(|_| {
                                DocumentError::Invalid(format!("bad version {v:?}"))
                            })?;
                            if v > VERSION {
                                return Err(DocumentError::Invalid(format!(
                                    "version {v} is newer than {VERSION}"
                                )));
                            }
                            doc.exported = attr(e, "exported")?.unwrap_or_default();
                            seen_root = true;
                        }
                        _ if !seen_root => {
                            return Err(DocumentError::Invalid(
                                "the root element must be tapelibExport".into(),
                            ))
                        }
                        b"comments" if !empty => {
                            in_comments = if object_open { 2 } else { 1 };
                        }
                        b"comments" => {}
                        b"tape" => doc.tapes.push(ExportedTape {
                            barcode: required(e, "barcode")?,
                            volume_uuid: attr(e, "volumeUuid")?,
                            generation: attr(e, "generation")?
                                .map(|g| number(&g, "generation"))
                                .transpose()?,
                            group: attr(e, "group")?,
                            objects: Vec::new(),
                        }),
                        b"object" => {
                            let tape = doc.tapes.last_mut().ok_or_else(|| {
                                DocumentError::Invalid("object outside a tape".into())
                            })?;
                            tape.objects.push(ExportedObject {
                                collection: required(e, "collection")?,
                                name: required(e, "name")?,
                                archived: attr(e, "archived")?.unwrap_or_default(),
                                instance: number(&required(e, "instance")?, "instance")?,
                                tapes: attr(e, "tapes")?
                                    .unwrap_or_default()
                                    .split(',')
                                    .filter(|s| !s.is_empty())
                                    .map(str::to_string)
                                    .collect(),
                                comments: String::new(),
                                files: Vec::new(),
                            });
                            object_open = !empty;
                        }
                        b"file" => {
                            let object = doc
                                .tapes
                                .last_mut()
                                .and_then(|t| t.objects.last_mut())
                                .filter(|_| object_open)
                                .ok_or_else(|| {
                                    DocumentError::Invalid("file outside an object".into())
                                })?;
                            let crc = required(e, "crc32")?;
                            object.files.push(ExportedFile {
                                path: required(e, "path")?,
                                size: number(&required(e, "size")?, "size")?,
                                crc32: u32::from_str_radix(&crc, 16).map_err(|_| {
                                    DocumentError::Invalid(format!("bad crc32 {crc:?}"))
                                })?,
                                tape: required(e, "tape")?,
                                ltfs_path: required(e, "ltfsPath")?,
                                partition: attr(e, "partition")?
                                    .map(|p| number(&p, "partition"))
                                    .transpose()?,
                                block: attr(e, "block")?
                                    .map(|b| number(&b, "block"))
                                    .transpose()?,
                            });
                        }
                        other => {
                            return Err(DocumentError::Invalid(format!(
                                "unexpected element {}",
                                String::from_utf8_lossy(other)
                            )))
                        }
                    }
                }
                Event::End(ref e) => match e.name().as_ref() {
                    b"comments" => in_comments = 0,
                    b"object" => object_open = false,
                    _ => {}
                },
                Event::Text(t) => {
                    let text = t
                        .unescape()
                        .map_err(|e| DocumentError::Xml(e.to_string()))?
                        .into_owned();
                    match in_comments {
                        1 => doc.comments.push_str(&text),
                        2 => {
                            if let Some(o) = doc.tapes.last_mut().and_then(|t| t.objects.last_mut())
                            {
                                o.comments.push_str(&text);
                            }
                        }
                        _ => {}
                    }
                }
                Event::Eof if depth > 0 => {
                    return Err(DocumentError::Invalid("the document is cut short".into()))
                }
                Event::Eof => break,
                _ => {}
            }
        }
        if !seen_root {
            return Err(DocumentError::Invalid("no tapelibExport element".into()));
        }
        Ok(doc)
    }

    /// The entry of a tape, if the document describes it.
    pub fn tape(&self, barcode: &str) -> Option<&ExportedTape> {
        self.tapes.iter().find(|t| t.barcode == barcode)
    }

    /// One document holding the tapes of several.
    pub fn merge(docs: Vec<ExportDocument>) -> ExportDocument {
        let mut out = ExportDocument::default();
        for d in docs {
            if out.exported.is_empty() {
                out.exported = d.exported;
                out.comments = d.comments;
            }
            out.tapes.extend(d.tapes);
        }
        out
    }
}

fn text_element(w: &mut Writer<Vec<u8>>, name: &str, text: &str) -> std::io::Result<()> {
    if text.is_empty() {
        return Ok(());
    }
    w.write_event(Event::Start(BytesStart::new(name)))?;
    w.write_event(Event::Text(BytesText::new(text)))?;
    w.write_event(Event::End(BytesEnd::new(name)))?;
    Ok(())
}

fn attr(e: &BytesStart<'_>, name: &str) -> Result<Option<String>, DocumentError> {
    for a in e.attributes() {
        let a = a?;
        if a.key.as_ref() == name.as_bytes() {
            return Ok(Some(
                a.unescape_value()
                    .map_err(|e| DocumentError::Xml(e.to_string()))?
                    .into_owned(),
            ));
        }
    }
    Ok(None)
}

fn required(e: &BytesStart<'_>, name: &str) -> Result<String, DocumentError> {
    attr(e, name)?.ok_or_else(|| {
        DocumentError::Invalid(format!(
            "<{}> lacks the {name} attribute",
            String::from_utf8_lossy(e.name().as_ref())
        ))
    })
}

fn number<T: std::str::FromStr>(s: &str, what: &str) -> Result<T, DocumentError> {
    s.parse()
        .map_err(|_| DocumentError::Invalid(format!("bad {what} {s:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> ExportDocument {
        ExportDocument {
            exported: "2026-12-04T10:00:00Z".into(),
            comments: "to the vault & back <soon>".into(),
            tapes: vec![ExportedTape {
                barcode: "ABC001L8".into(),
                volume_uuid: Some("1b4e28ba-2fa1-11d2-883f-0016d3cca427".into()),
                generation: Some(8),
                group: Some("news".into()),
                objects: vec![ExportedObject {
                    collection: "news".into(),
                    name: "clip \"one\"".into(),
                    archived: "2026-12-01T08:00:00Z".into(),
                    instance: 3,
                    tapes: vec!["ABC001L8".into(), "ABC002L8".into()],
                    comments: "first cut".into(),
                    files: vec![
                        ExportedFile {
                            path: "a/b.mxf".into(),
                            size: 123,
                            crc32: 0x0a1b_2c3d,
                            tape: "ABC001L8".into(),
                            ltfs_path: "/news/clip \"one\"/a/b.mxf".into(),
                            partition: Some(1),
                            block: Some(42),
                        },
                        ExportedFile {
                            path: "c.wav".into(),
                            size: 0,
                            crc32: 0,
                            tape: "ABC002L8".into(),
                            ltfs_path: "/news/clip \"one\"/c.wav".into(),
                            partition: None,
                            block: None,
                        },
                    ],
                }],
            }],
        }
    }

    #[test]
    fn round_trips_and_escapes() {
        let doc = sample();
        let xml = doc.to_xml();
        assert!(xml.contains("&amp;"), "{xml}");
        assert!(xml.contains("crc32=\"0a1b2c3d\""), "{xml}");
        assert_eq!(ExportDocument::parse(&xml).unwrap(), doc);
    }

    #[test]
    fn refuses_what_it_cannot_trust() {
        for bad in [
            "",
            "<other/>",
            "<tapelibExport version=\"2\"/>",
            "<tapelibExport version=\"1\"><object collection=\"c\" name=\"n\" instance=\"1\"/></tapelibExport>",
            "<tapelibExport version=\"1\"><tape barcode=\"A\"><object collection=\"c\" name=\"n\" instance=\"x\"/></tape></tapelibExport>",
            "<tapelibExport version=\"1\"><tape barcode=\"A\"><file path=\"p\"/></tape></tapelibExport>",
            "<tapelibExport version=\"1\"><tape barcode=\"A\"><object collection=\"c\" name=\"n\" instance=\"1\"><file path=\"p\" size=\"1\" crc32=\"zz\" tape=\"A\" ltfsPath=\"/p\"/></object></tape></tapelibExport>",
            "<tapelibExport version=\"1\"><tape barcode=\"A\">",
        ] {
            assert!(ExportDocument::parse(bad).is_err(), "accepted {bad:?}");
        }
    }

    fn text() -> impl Strategy<Value = String> {
        "[a-zA-Z0-9 <>&'\"/._-]{1,16}"
    }

    proptest! {
        #[test]
        fn any_document_round_trips(
            comments in "[a-zA-Z0-9 <>&._-]{0,16}",
            objects in proptest::collection::vec(
                (text(), text(), any::<u64>(), proptest::collection::vec(
                    (text(), any::<u64>(), any::<u32>(), proptest::option::of(0u8..2), proptest::option::of(any::<u64>())),
                    0..4,
                )),
                0..4,
            ),
        ) {
            let doc = ExportDocument {
                exported: "2026-12-04T10:00:00Z".into(),
                comments: comments.trim().to_string(),
                tapes: vec![ExportedTape {
                    barcode: "ABC001L8".into(),
                    volume_uuid: None,
                    generation: None,
                    group: None,
                    objects: objects
                        .into_iter()
                        .map(|(c, n, id, files)| ExportedObject {
                            collection: c.clone(),
                            name: n,
                            archived: String::new(),
                            instance: id,
                            tapes: vec!["ABC001L8".into()],
                            comments: String::new(),
                            files: files
                                .into_iter()
                                .map(|(p, size, crc32, partition, block)| ExportedFile {
                                    path: p.clone(),
                                    size,
                                    crc32,
                                    tape: "ABC001L8".into(),
                                    ltfs_path: format!("/{c}/{p}"),
                                    partition,
                                    block,
                                })
                                .collect(),
                        })
                        .collect(),
                }],
            };
            prop_assert_eq!(ExportDocument::parse(&doc.to_xml()).unwrap(), doc);
        }

        #[test]
        fn arbitrary_text_never_panics(s in "\\PC{0,200}") {
            let _ = ExportDocument::parse(&s);
        }
    }
}
