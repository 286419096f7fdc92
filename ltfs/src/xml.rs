//! A small element tree for XML that LTFS does not interpret (unknown index elements, which are
//! preserved and written back, LTFS 2.4 §7.1) and for small documents such as the label.

use std::io::{self, BufRead, Write};

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

/// An element kept verbatim: name, attributes and children in document order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XmlElement {
    pub name: String,
    pub attributes: Vec<(String, String)>,
    pub children: Vec<XmlNode>,
}

/// A child of an [`XmlElement`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum XmlNode {
    Element(XmlElement),
    Text(String),
}

impl XmlElement {
    /// The first child element with this name.
    pub fn child(&self, name: &str) -> Option<&XmlElement> {
        self.children.iter().find_map(|c| match c {
            XmlNode::Element(e) if e.name == name => Some(e),
            _ => None,
        })
    }

    /// Concatenated text content of the element's direct text children.
    pub fn text(&self) -> String {
        let mut s = String::new();
        for c in &self.children {
            if let XmlNode::Text(t) = c {
                s.push_str(t);
            }
        }
        s
    }

    /// Value of an attribute.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Reads the name and attributes of a start tag.
pub(crate) fn start_to_element(start: &BytesStart<'_>) -> Result<XmlElement, String> {
    let name = std::str::from_utf8(start.name().as_ref())
        .map_err(|_| "element name is not UTF-8".to_owned())?
        .to_owned();
    let mut attributes = Vec::new();
    for attr in start.attributes() {
        let attr = attr.map_err(|e| format!("bad attribute in <{name}>: {e}"))?;
        let key = std::str::from_utf8(attr.key.as_ref())
            .map_err(|_| "attribute name is not UTF-8".to_owned())?
            .to_owned();
        let value = attr
            .unescape_value()
            .map_err(|e| format!("bad attribute value in <{name}>: {e}"))?
            .into_owned();
        attributes.push((key, value));
    }
    Ok(XmlElement {
        name,
        attributes,
        children: Vec::new(),
    })
}

/// Reads the rest of an element whose start tag was just read (or which was empty), without
/// recursion; nesting deeper than `max_depth` is an error.
pub(crate) fn capture<R: BufRead>(
    reader: &mut Reader<R>,
    start: &BytesStart<'_>,
    empty: bool,
    buf: &mut Vec<u8>,
    max_depth: usize,
) -> Result<XmlElement, String> {
    let root = start_to_element(start)?;
    if empty {
        return Ok(root);
    }
    let mut stack = vec![root];
    loop {
        buf.clear();
        let event = reader
            .read_event_into(buf)
            .map_err(|e| format!("XML error at byte {}: {e}", reader.buffer_position()))?;
        match event {
            Event::Start(s) => {
                if stack.len() >= max_depth {
                    return Err(format!("elements nested deeper than {max_depth}"));
                }
                stack.push(start_to_element(&s)?);
            }
            Event::Empty(s) => {
                let e = start_to_element(&s)?;
                if let Some(top) = stack.last_mut() {
                    top.children.push(XmlNode::Element(e));
                }
            }
            Event::Text(t) => {
                let t = t
                    .unescape()
                    .map_err(|e| format!("bad text: {e}"))?
                    .into_owned();
                if let Some(top) = stack.last_mut() {
                    top.children.push(XmlNode::Text(t));
                }
            }
            Event::CData(c) => {
                let t = std::str::from_utf8(&c)
                    .map_err(|_| "CDATA is not UTF-8".to_owned())?
                    .to_owned();
                if let Some(top) = stack.last_mut() {
                    top.children.push(XmlNode::Text(t));
                }
            }
            Event::End(end) => {
                let done = stack.pop().ok_or("unbalanced end tag")?;
                // Checked here because callers may turn the reader's own check off.
                if end.name().as_ref() != done.name.as_bytes() {
                    return Err(format!("end tag does not close <{}>", done.name));
                }
                match stack.last_mut() {
                    Some(parent) => parent.children.push(XmlNode::Element(done)),
                    None => return Ok(done),
                }
            }
            Event::Eof => return Err("unexpected end of document".to_owned()),
            Event::Comment(_) | Event::PI(_) | Event::Decl(_) | Event::DocType(_) => {}
        }
    }
}

/// Escapes XML character data (`&`, `<`, `>`).
pub(crate) fn escape_text(s: &str) -> std::borrow::Cow<'_, str> {
    quick_xml::escape::partial_escape(s)
}

/// Writes an element and its children (iteratively, so depth does not grow the stack).
pub(crate) fn write_element<W: Write>(w: &mut W, element: &XmlElement) -> io::Result<()> {
    enum Step<'a> {
        Open(&'a XmlElement),
        Text(&'a str),
        Close(&'a str),
    }
    let mut steps = vec![Step::Open(element)];
    while let Some(step) = steps.pop() {
        match step {
            Step::Close(name) => write!(w, "</{name}>")?,
            Step::Text(t) => w.write_all(escape_text(t).as_bytes())?,
            Step::Open(e) => {
                write!(w, "<{}", e.name)?;
                for (k, v) in &e.attributes {
                    write!(w, " {k}=\"{}\"", quick_xml::escape::escape(v.as_str()))?;
                }
                if e.children.is_empty() {
                    w.write_all(b"/>")?;
                    continue;
                }
                w.write_all(b">")?;
                steps.push(Step::Close(&e.name));
                for child in e.children.iter().rev() {
                    steps.push(match child {
                        XmlNode::Element(c) => Step::Open(c),
                        XmlNode::Text(t) => Step::Text(t),
                    });
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(doc: &str) -> Result<XmlElement, String> {
        let mut r = Reader::from_reader(doc.as_bytes());
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match r.read_event_into(&mut buf).map_err(|e| e.to_string())? {
                Event::Start(s) => {
                    let s = s.into_owned();
                    return capture(&mut r, &s, false, &mut buf, 8);
                }
                Event::Empty(s) => {
                    let s = s.into_owned();
                    return capture(&mut r, &s, true, &mut buf, 8);
                }
                Event::Eof => return Err("empty".into()),
                _ => {}
            }
        }
    }

    #[test]
    fn capture_and_write_back() {
        let doc = r#"<x a="1&amp;2"><y>t &lt; u</y><z/>tail</x>"#;
        let e = parse(doc).unwrap();
        assert_eq!(e.attribute("a"), Some("1&2"));
        assert_eq!(e.child("y").unwrap().text(), "t < u");
        let mut out = Vec::new();
        write_element(&mut out, &e).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), doc);
    }

    #[test]
    fn depth_limit_and_truncation() {
        assert!(parse(&"<a>".repeat(20)).is_err());
        assert!(parse("<a><b></b>").is_err());
        assert!(parse("<a></b>").is_err());
    }
}
