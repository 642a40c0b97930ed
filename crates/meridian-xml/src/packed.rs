//! A read-only element tree packed into one allocation.
//!
//! A catalog keeps hundreds of thousands of objects for as long as the node runs. As [`Element`]
//! trees they cost about 90 bytes per element plus one allocation per child list; packed, an
//! element costs its text plus three or four bytes. Names are numbered in one process-wide
//! table, so `<minx>-74</minx>` packs into seven bytes.
//!
//! Layout of one node: the name (`varint id + 1`, or `0`, length and bytes for a name not in the
//! table), a flags byte, then the attributes (count, then name and length-prefixed value each),
//! the text (length-prefixed) and the children (each prefixed with its packed length, to the end
//! of the node). Lengths are LEB128 varints.

use crate::{Element, Name, Text, XmlError};
use serde::ser::SerializeStruct;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

const HAS_TEXT: u8 = 1;
const HAS_ATTRS: u8 = 2;
const HAS_CHILDREN: u8 = 4;

/// Names numbered so far; later names are packed inline.
const TABLE_SIZE: usize = 1 << 16;
/// Names longer than this are packed inline.
const MAX_TABLED: usize = 128;

struct Table {
    /// Id → name; written once under `index`'s lock, read without locking.
    slots: Box<[OnceLock<Name>]>,
    index: Mutex<HashMap<Name, u32>>,
}

fn table() -> &'static Table {
    static T: OnceLock<Table> = OnceLock::new();
    T.get_or_init(|| Table {
        slots: (0..TABLE_SIZE).map(|_| OnceLock::new()).collect(),
        index: Mutex::new(HashMap::new()),
    })
}

thread_local! {
    /// This thread's copy of name → id (no locking while packing). Every element and
    /// attribute name of every parsed file is looked up here: foldhash, not SipHash (the
    /// map holds at most [`TABLE_SIZE`] names of at most [`MAX_TABLED`] bytes).
    static LOCAL: std::cell::RefCell<HashMap<Name, u32, foldhash::fast::RandomState>> =
        Default::default();
}

/// Slots of the per-thread cache in front of [`LOCAL`].
const RECENT_SLOTS: usize = 256;

thread_local! {
    /// The names this thread packed recently, by a slot taken from their length and first
    /// and last bytes: a file's hundred element names mostly hit here, without hashing.
    static RECENT: std::cell::RefCell<[Option<(Name, u32)>; RECENT_SLOTS]> =
        const { std::cell::RefCell::new([const { None }; RECENT_SLOTS]) };
}

/// The [`RECENT`] slot of a name.
fn recent_slot(name: &[u8]) -> usize {
    let (first, last) = match (name.first(), name.last()) {
        (Some(f), Some(l)) => (*f as usize, *l as usize),
        _ => (0, 0),
    };
    let second = name.get(1).copied().unwrap_or(0) as usize;
    (name.len() * 31 + first * 7 + second * 3 + last) % RECENT_SLOTS
}

/// The table id of a name, numbering it when new; `None` when it is packed inline.
fn name_id(name: &str) -> Option<u32> {
    if name.len() > MAX_TABLED {
        return None;
    }
    let slot = recent_slot(name.as_bytes());
    let recent = RECENT.with(|r| match r.borrow().get(slot) {
        Some(Some((n, id))) if n.as_str() == name => Some(*id),
        _ => None,
    });
    if recent.is_some() {
        return recent;
    }
    let id = local_name_id(name)?;
    if let Some(n) = table().slots.get(id as usize).and_then(OnceLock::get) {
        RECENT.with(|r| {
            if let Some(s) = r.borrow_mut().get_mut(slot) {
                *s = Some((n.clone(), id));
            }
        });
    }
    Some(id)
}

/// [`name_id`] behind the recent-name cache: this thread's map, then the shared table.
fn local_name_id(name: &str) -> Option<u32> {
    if let Some(id) = LOCAL.with(|l| l.borrow().get(name).copied()) {
        return Some(id);
    }
    let t = table();
    let mut index = match t.index.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    };
    let id = match index.get(name) {
        Some(id) => *id,
        None => {
            let id = u32::try_from(index.len()).ok()?;
            let slot = t.slots.get(id as usize)?;
            let n = Name::new(name);
            // The slot is free: ids are handed out once, under this lock.
            let _ = slot.set(n.clone());
            index.insert(n, id);
            id
        }
    };
    drop(index);
    LOCAL.with(|l| {
        if let Some(n) = table().slots.get(id as usize).and_then(OnceLock::get) {
            l.borrow_mut().insert(n.clone(), id);
        }
    });
    Some(id)
}

fn put_varint(out: &mut Vec<u8>, mut v: usize) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_varint(out, s.len());
    out.extend_from_slice(s.as_bytes());
}

fn put_name(out: &mut Vec<u8>, name: &str) {
    match name_id(name) {
        Some(id) => put_varint(out, id as usize + 1),
        None => {
            out.push(0);
            put_str(out, name);
        }
    }
}

fn varint_len(mut v: usize) -> usize {
    let mut n = 1;
    while v >= 0x80 {
        v >>= 7;
        n += 1;
    }
    n
}

/// One open element while packing.
#[derive(Default)]
struct Frame {
    /// The packed name.
    name: Vec<u8>,
    /// Attribute count and the packed pairs.
    attr_count: usize,
    attrs: Vec<u8>,
    text: String,
    /// The packed children, each with its length prefix.
    children: Vec<u8>,
}

impl Frame {
    fn add_attr(&mut self, key: &str, value: &str) {
        put_name(&mut self.attrs, key);
        put_str(&mut self.attrs, value);
        self.attr_count += 1;
    }
}

/// Whether an element keeps the text collected for it when it closes.
#[derive(Clone, Copy)]
enum KeepText {
    /// `<e/>`, or a tree element without text.
    Never,
    /// Read from a document: a leaf keeps its text (even empty), an element with children only
    /// text that is not blank (mixed content).
    AsParsed,
    /// A tree element with text.
    Always,
}

/// The one encoder of packed trees: fed element by element, by the reader while it walks a
/// document (no intermediate [`Element`] tree) or from an [`Element`]. Frames are reused from
/// one element to the next, so packing allocates little besides the result.
#[derive(Default)]
pub(crate) struct Packer {
    frames: Vec<Frame>,
    depth: usize,
    root: Option<Vec<u8>>,
}

/// Frames whose buffers grew beyond this are not kept for the next document.
const KEEP_FRAME_BYTES: usize = 64 * 1024;

thread_local! {
    /// This thread's packer between documents: its frames keep their buffers, so parsing
    /// many small files (a data directory) does not grow them again for each file.
    static SPARE: std::cell::Cell<Option<Packer>> = const { std::cell::Cell::new(None) };
}

impl Packer {
    /// Run `f` with this thread's spare packer (a fresh one when it is in use or none is
    /// kept), then keep the packer's frames for the next call. A packer is kept only once
    /// reset, whatever `f` left in it (a document that failed half-way).
    pub(crate) fn with_spare<T>(f: impl FnOnce(&mut Packer) -> T) -> T {
        let mut p = SPARE.take().unwrap_or_default();
        let out = f(&mut p);
        p.depth = 0;
        p.root = None;
        p.frames.retain(|f| {
            f.name.capacity() + f.attrs.capacity() + f.text.capacity() + f.children.capacity()
                <= KEEP_FRAME_BYTES
        });
        SPARE.set(Some(p));
        out
    }

    /// The packed root, once the document is complete.
    pub(crate) fn take_root(&mut self) -> Option<Packed> {
        self.root.take().map(|b| Packed(b.into_boxed_slice()))
    }

    /// Open an element; its attributes and text go to the frame returned.
    fn begin(&mut self, name: &str) -> Result<&mut Frame, XmlError> {
        if self.depth == 0 && self.root.is_some() {
            return Err(XmlError::Malformed("more than one root element".into()));
        }
        if self.frames.len() == self.depth {
            self.frames.push(Frame::default());
        }
        let Some(f) = self.frames.get_mut(self.depth) else {
            return Err(XmlError::Malformed("unexpected element".into()));
        };
        f.name.clear();
        f.attrs.clear();
        f.text.clear();
        f.children.clear();
        f.attr_count = 0;
        put_name(&mut f.name, name);
        self.depth += 1;
        Ok(f)
    }

    /// Pack an element tree.
    fn feed(&mut self, e: &Element) -> Result<(), XmlError> {
        let f = self.begin(&e.name)?;
        for (k, v) in &e.attrs {
            f.add_attr(k, v);
        }
        if let Some(t) = &e.text {
            f.text.push_str(t);
        }
        for c in &e.children {
            self.feed(c)?;
        }
        self.end(match e.text {
            Some(_) => KeepText::Always,
            None => KeepText::Never,
        })
    }

    /// Close the innermost element.
    fn end(&mut self, keep: KeepText) -> Result<(), XmlError> {
        let Some(d) = self.depth.checked_sub(1) else {
            return Err(XmlError::Malformed("unexpected end tag".into()));
        };
        let (outer, inner) = self.frames.split_at_mut(d);
        let Some(f) = inner.first_mut() else {
            return Err(XmlError::Malformed("unexpected end tag".into()));
        };
        let has_children = !f.children.is_empty();
        let text = match keep {
            KeepText::Never => None,
            KeepText::AsParsed => {
                (!has_children || !crate::parse::is_blank(&f.text)).then_some(&f.text)
            }
            KeepText::Always => Some(&f.text),
        };
        let mut flags = 0;
        let mut len = f.name.len() + 1 + f.children.len();
        if f.attr_count > 0 {
            flags |= HAS_ATTRS;
            len += varint_len(f.attr_count) + f.attrs.len();
        }
        if let Some(t) = text {
            flags |= HAS_TEXT;
            len += varint_len(t.len()) + t.len();
        }
        if has_children {
            flags |= HAS_CHILDREN;
        }
        let out = match outer.last_mut() {
            Some(parent) => {
                put_varint(&mut parent.children, len);
                &mut parent.children
            }
            None if self.root.is_none() => self.root.insert(Vec::with_capacity(len)),
            None => return Err(XmlError::Malformed("more than one root element".into())),
        };
        out.extend_from_slice(&f.name);
        out.push(flags);
        if f.attr_count > 0 {
            put_varint(out, f.attr_count);
            out.extend_from_slice(&f.attrs);
        }
        if let Some(t) = text {
            put_str(out, t);
        }
        out.extend_from_slice(&f.children);
        self.depth = d;
        Ok(())
    }
}

impl crate::parse::Build for Packer {
    fn open(
        &mut self,
        name: &str,
        s: &quick_xml::events::BytesStart<'_>,
        empty: bool,
    ) -> Result<(), XmlError> {
        let f = self.begin(name)?;
        crate::parse::for_each_attr(s, |k, v| f.add_attr(k, &v))?;
        if empty {
            self.end(KeepText::Never)?;
        }
        Ok(())
    }

    fn text(&mut self, t: &str) {
        if let Some(f) = self
            .depth
            .checked_sub(1)
            .and_then(|d| self.frames.get_mut(d))
        {
            f.text.push_str(t);
        }
    }

    fn close(&mut self) -> Result<(), XmlError> {
        self.end(KeepText::AsParsed)
    }

    fn depth(&self) -> usize {
        self.depth
    }

    fn done(&self) -> bool {
        self.root.is_some()
    }

    fn open_name(&self) -> String {
        let f = self.depth.checked_sub(1).and_then(|d| self.frames.get(d));
        f.and_then(|f| {
            Cursor {
                buf: &f.name,
                pos: 0,
            }
            .name()
        })
        .unwrap_or("")
        .to_string()
    }
}

/// A cursor over packed bytes; any inconsistency reads as the end of the data.
struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn varint(&mut self) -> Option<usize> {
        let mut v = 0usize;
        let mut shift = 0;
        loop {
            let b = *self.buf.get(self.pos)?;
            self.pos += 1;
            v |= ((b & 0x7f) as usize).checked_shl(shift)?;
            if b & 0x80 == 0 {
                return Some(v);
            }
            shift += 7;
        }
    }

    fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        let b = self.buf.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(b)
    }

    fn str(&mut self) -> Option<&'a str> {
        let n = self.varint()?;
        std::str::from_utf8(self.bytes(n)?).ok()
    }

    /// Step over a length-prefixed string without reading it.
    fn skip_str(&mut self) -> Option<()> {
        let n = self.varint()?;
        self.bytes(n).map(drop)
    }

    /// Step over a packed name without looking it up.
    fn skip_name(&mut self) -> Option<()> {
        match self.varint()? {
            0 => self.skip_str(),
            _ => Some(()),
        }
    }

    fn name(&mut self) -> Option<&'a str> {
        match self.varint()? {
            0 => self.str(),
            id => table()
                .slots
                .get(id - 1)
                .and_then(OnceLock::get)
                .map(Name::as_str),
        }
    }
}

/// An element tree packed into one allocation; read it through [`Packed::root`].
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Packed(Box<[u8]>);

impl Packed {
    /// Pack a tree.
    pub fn new(e: &Element) -> Packed {
        let mut p = Packer::default();
        match p.feed(e).map(|()| p.take_root()) {
            Ok(Some(packed)) => packed,
            // A fresh packer takes exactly one root, so feeding it a tree cannot fail.
            _ => Packed(Box::default()),
        }
    }

    /// The root element.
    pub fn root(&self) -> Node<'_> {
        Node { buf: &self.0 }
    }

    /// The packed size in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether nothing is packed (never, for a packed element).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Packed {
    /// This tree with the root's first child named `name` holding `text` instead of its
    /// children and text (appended when absent), as [`Element::set_child_text`] would edit
    /// it, without unpacking the other children (a counter in a large object).
    pub fn with_child_text(&self, name: &str, text: &str) -> Packed {
        let root = self.root();
        if !root.has_children() {
            // No children region to splice into: edit the tree.
            let mut e = root.to_element();
            e.set_child_text(name, text);
            return Packed::new(&e);
        }
        let header = root.children_start();
        let mut out = Vec::with_capacity(self.len() + text.len() + 8);
        out.extend_from_slice(&self.0[..header]);
        let mut replaced = false;
        let put_child = |out: &mut Vec<u8>, old: Option<Node<'_>>| {
            let mut e = old
                .map(|o| o.to_element())
                .unwrap_or_else(|| Element::new(name));
            e.text = Some(Text::from(text));
            e.children.clear();
            let packed = Packed::new(&e);
            put_varint(out, packed.len());
            out.extend_from_slice(&packed.0);
        };
        for child in root.children() {
            if !replaced && child.name() == name {
                put_child(&mut out, Some(child));
                replaced = true;
            } else {
                put_varint(&mut out, child.buf.len());
                out.extend_from_slice(child.buf);
            }
        }
        if !replaced {
            put_child(&mut out, None);
        }
        Packed(out.into_boxed_slice())
    }

    /// Whether two trees are the same but for the root's children named `skip` (an object
    /// compared without its counter), without unpacking either.
    pub fn same_except(&self, other: &Packed, skip: &str) -> bool {
        let (a, b) = (self.root(), other.root());
        let (ha, hb) = (a.children_start(), b.children_start());
        if self.0.get(..ha) != other.0.get(..hb) {
            return false;
        }
        let kept_a = a.children().filter(|c| c.name() != skip).map(|c| c.buf);
        let kept_b = b.children().filter(|c| c.name() != skip).map(|c| c.buf);
        kept_a.eq(kept_b)
    }
}

impl From<&Element> for Packed {
    fn from(e: &Element) -> Self {
        Packed::new(e)
    }
}

impl std::fmt::Debug for Packed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&self.root().to_element(), f)
    }
}

/// One element of a [`Packed`] tree. Cheap to copy; strings borrow from the tree.
#[derive(Clone, Copy)]
pub struct Node<'a> {
    buf: &'a [u8],
}

/// A node's parts, decoded from its header.
struct Parts<'a> {
    name: &'a str,
    attrs: Option<(usize, usize)>,
    text: Option<&'a str>,
    children: usize,
}

impl<'a> Node<'a> {
    fn parts(&self) -> Parts<'a> {
        let mut c = Cursor {
            buf: self.buf,
            pos: 0,
        };
        let name = c.name().unwrap_or("");
        let flags = c.bytes(1).and_then(|b| b.first().copied()).unwrap_or(0);
        let mut attrs = None;
        if flags & HAS_ATTRS != 0 {
            let n = c.varint().unwrap_or(0);
            let start = c.pos;
            for _ in 0..n {
                let _ = c.name();
                let _ = c.str();
            }
            attrs = Some((n, start));
        }
        let text = if flags & HAS_TEXT != 0 { c.str() } else { None };
        Parts {
            name,
            attrs,
            text,
            children: c.pos,
        }
    }

    /// The element name.
    pub fn name(&self) -> &'a str {
        let mut c = Cursor {
            buf: self.buf,
            pos: 0,
        };
        c.name().unwrap_or("")
    }

    /// The text, verbatim; `None` for an element written `<e/>` or holding children.
    pub fn text(&self) -> Option<&'a str> {
        self.parts().text
    }

    /// The text, trimmed; `None` when absent or blank.
    pub fn text_trim(&self) -> Option<&'a str> {
        self.text().map(str::trim).filter(|t| !t.is_empty())
    }

    /// Attributes in document order.
    pub fn attrs(&self) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        let (n, start) = self.parts().attrs.unwrap_or((0, 0));
        let mut c = Cursor {
            buf: self.buf,
            pos: start,
        };
        (0..n).map_while(move |_| Some((c.name()?, c.str()?)))
    }

    /// An attribute value.
    pub fn attr_value(&self, key: &str) -> Option<&'a str> {
        self.attrs().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// Where the children start: the header stepped over without decoding its strings
    /// (the end of the data when the header is inconsistent).
    fn children_start(&self) -> usize {
        let mut c = Cursor {
            buf: self.buf,
            pos: 0,
        };
        let skipped = (|| {
            c.skip_name()?;
            let flags = *c.bytes(1)?.first()?;
            if flags & HAS_ATTRS != 0 {
                for _ in 0..c.varint()? {
                    c.skip_name()?;
                    c.skip_str()?;
                }
            }
            if flags & HAS_TEXT != 0 {
                c.skip_str()?;
            }
            Some(c.pos)
        })();
        skipped.unwrap_or(self.buf.len())
    }

    /// Child elements in document order.
    pub fn children(&self) -> Children<'a> {
        Children {
            c: Cursor {
                buf: self.buf,
                pos: self.children_start(),
            },
        }
    }

    /// Whether the element has child elements.
    pub fn has_children(&self) -> bool {
        self.children_start() < self.buf.len()
    }

    /// The first child with this name.
    pub fn get(&self, name: &str) -> Option<Node<'a>> {
        self.children().find(|c| c.name() == name)
    }

    /// The first child of each of these names, in one pass over the children (an object's
    /// references are several fields of one element).
    pub fn first_of<const N: usize>(&self, names: [&str; N]) -> [Option<Node<'a>>; N] {
        let mut found = [None; N];
        let mut missing = N;
        for child in self.children() {
            let name = child.name();
            let hit = names
                .iter()
                .zip(found.iter_mut())
                .find(|(n, f)| f.is_none() && **n == name);
            if let Some((_, f)) = hit {
                *f = Some(child);
                missing -= 1;
                if missing == 0 {
                    break;
                }
            }
        }
        found
    }

    /// All children with this name.
    pub fn all<'n>(&self, name: &'n str) -> impl Iterator<Item = Node<'a>> + 'n
    where
        'a: 'n,
    {
        self.children().filter(move |c| c.name() == name)
    }

    /// Follow a path of child names.
    pub fn path(&self, path: &[&str]) -> Option<Node<'a>> {
        let mut cur = *self;
        for p in path {
            cur = cur.get(p)?;
        }
        Some(cur)
    }

    /// The trimmed text of the named child.
    pub fn child_text(&self, name: &str) -> Option<&'a str> {
        self.get(name).and_then(|c| c.text_trim())
    }

    /// The element as an editable tree.
    pub fn to_element(&self) -> Element {
        let p = self.parts();
        Element {
            name: Name::new(p.name),
            attrs: self
                .attrs()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            text: p.text.map(Text::from),
            children: self.children().map(|c| c.to_element()).collect(),
        }
    }

    /// Serialize as indented XML, exactly as [`Element::to_xml`] writes the same tree.
    pub fn to_xml(&self) -> String {
        crate::write::to_string(*self)
    }
}

impl std::fmt::Debug for Node<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&self.to_element(), f)
    }
}

/// The children of a [`Node`].
pub struct Children<'a> {
    c: Cursor<'a>,
}

impl<'a> Iterator for Children<'a> {
    type Item = Node<'a>;
    fn next(&mut self) -> Option<Node<'a>> {
        let n = self.c.varint()?;
        Some(Node {
            buf: self.c.bytes(n)?,
        })
    }
}

impl crate::write::Tree for Node<'_> {
    fn name(&self) -> &str {
        Node::name(self)
    }
    fn attrs(&self) -> impl Iterator<Item = (&str, &str)> {
        Node::attrs(self)
    }
    fn text(&self) -> Option<&str> {
        Node::text(self)
    }
    fn children(&self) -> impl Iterator<Item = Self> {
        Node::children(self)
    }
}

/// Serialized exactly as the same [`Element`] is (journals and snapshots do not change).
impl Serialize for Node<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        /// A sequence serialized from a fresh iterator.
        struct Seq<F>(F);
        impl<F, I> Serialize for Seq<F>
        where
            F: Fn() -> I,
            I: IntoIterator,
            I::Item: Serialize,
        {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_seq((self.0)())
            }
        }
        let p = self.parts();
        let has_children = p.children < self.buf.len();
        let fields = 1
            + usize::from(p.attrs.is_some())
            + usize::from(p.text.is_some())
            + usize::from(has_children);
        let mut st = s.serialize_struct("Element", fields)?;
        st.serialize_field("name", p.name)?;
        if p.attrs.is_some() {
            st.serialize_field("attrs", &Seq(|| self.attrs()))?;
        } else {
            st.skip_field("attrs")?;
        }
        match p.text {
            Some(t) => st.serialize_field("text", t)?,
            None => st.skip_field("text")?,
        }
        if has_children {
            st.serialize_field("children", &Seq(|| self.children()))?;
        } else {
            st.skip_field("children")?;
        }
        st.end()
    }
}

impl Serialize for Packed {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.root().serialize(s)
    }
}

impl<'de> Deserialize<'de> for Packed {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Packed::new(&Element::deserialize(d)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse;

    const DOC: &str = "<dataStore>\n  <id>X-1</id>\n  <connectionParameters>\n    <entry key=\"url\">file:data/sf</entry>\n    <entry key=\"a&amp;b\" other=\"2\">x</entry>\n  </connectionParameters>\n  <empty/>\n  <blank></blank>\n  <nativeCRS class=\"projected\">PROJCS[&quot;a&quot;, \n  GEOGCS[]]</nativeCRS>\n  <ünïcode>ß</ünïcode>\n</dataStore>";

    #[test]
    fn a_child_text_set_on_the_packed_tree_is_what_the_tree_edit_packs() {
        let xml = "<global><settings><id>s</id></settings><updateSequence a=\"1\">41</updateSequence><featureTypeCacheSize>0</featureTypeCacheSize></global>";
        let tree = crate::parse(xml).unwrap();
        let packed = Packed::new(&tree);
        for (name, text) in [
            ("updateSequence", "42"),
            ("settings", "x"),
            ("missing", "7"),
        ] {
            let mut edited = tree.clone();
            edited.set_child_text(name, text);
            assert_eq!(
                packed.with_child_text(name, text),
                Packed::new(&edited),
                "{name}"
            );
        }
        let leaf = Packed::new(&crate::parse("<a>t</a>").unwrap());
        let mut e = crate::parse("<a>t</a>").unwrap();
        e.set_child_text("b", "1");
        assert_eq!(leaf.with_child_text("b", "1"), Packed::new(&e));
    }

    #[test]
    fn trees_compare_equal_but_for_a_skipped_child() {
        let p = |x: &str| Packed::new(&crate::parse(x).unwrap());
        let a = p("<g><x>1</x><seq>1</seq><y>2</y></g>");
        assert!(a.same_except(&p("<g><x>1</x><seq>9</seq><y>2</y></g>"), "seq"));
        assert!(a.same_except(&p("<g><x>1</x><y>2</y></g>"), "seq"));
        assert!(!a.same_except(&p("<g><x>1</x><seq>1</seq><y>3</y></g>"), "seq"));
        assert!(!a.same_except(&p("<g><x>1</x><seq>1</seq><y>2</y><z/></g>"), "seq"));
        assert!(!a.same_except(&p("<h><x>1</x><seq>1</seq><y>2</y></h>"), "seq"));
        assert!(!a.same_except(&p("<g k=\"v\"><x>1</x><seq>1</seq><y>2</y></g>"), "seq"));
    }

    #[test]
    fn a_packed_tree_reads_writes_and_serializes_as_the_element() {
        let e = parse(DOC).unwrap();
        let p = Packed::new(&e);
        let r = p.root();
        assert_eq!(r.to_element(), e);
        assert_eq!(r.to_xml(), e.to_xml());
        assert_eq!(r.name(), "dataStore");
        assert_eq!(r.child_text("id"), Some("X-1"));
        assert_eq!(r.get("empty").map(|n| n.text()), Some(None));
        assert_eq!(r.get("blank").map(|n| n.text()), Some(Some("")));
        assert_eq!(
            r.path(&["connectionParameters", "entry"])
                .and_then(|n| n.attr_value("key")),
            Some("url")
        );
        let keys: Vec<&str> = r
            .get("connectionParameters")
            .map(|c| c.all("entry").filter_map(|n| n.attr_value("key")).collect())
            .unwrap_or_default();
        assert_eq!(keys, ["url", "a&b"]);
        assert_eq!(r.child_text("ünïcode"), Some("ß"));
        assert_eq!(r.get("missing").map(|n| n.name()), None);
        assert!(r.has_children() && !r.get("empty").unwrap().has_children());
        assert_eq!(
            serde_json::to_string(&p).unwrap(),
            serde_json::to_string(&e).unwrap()
        );
        let back: Packed = serde_json::from_str(&serde_json::to_string(&e).unwrap()).unwrap();
        assert_eq!(back, p);
        assert!(p.len() < DOC.len() / 2, "{} bytes", p.len());
    }

    #[test]
    fn packing_while_reading_gives_the_same_tree_and_the_same_errors() {
        let docs = [
            DOC,
            "<a/>",
            "<a></a>",
            "<?xml version=\"1.0\"?>\n<!-- c --><a x=\"1\">  <b>t&lt;&#65;</b><c><![CDATA[<z>]]></c>\n</a>",
            "<a>mixed<b/>text</a>",
        ];
        for d in docs {
            let tree = parse(d).unwrap();
            let packed = crate::parse_packed(d.as_bytes()).unwrap();
            assert_eq!(packed, Packed::new(&tree), "{d}");
            assert_eq!(packed.root().to_element(), tree, "{d}");
        }
        for bad in [
            "",
            "<a>",
            "<a></b>",
            "<a/><b/>",
            "<a/>x",
            "x<a/>",
            "</a>",
            "<a>&nope;</a>",
        ] {
            let e1 = parse(bad).map(|_| ()).unwrap_err().to_string();
            let e2 = crate::parse_packed(bad.as_bytes())
                .map(|_| ())
                .unwrap_err()
                .to_string();
            assert_eq!(e1, e2, "{bad}");
        }
        let deep = "<a>".repeat(500) + &"</a>".repeat(500);
        assert!(matches!(
            crate::parse_packed(deep.as_bytes()),
            Err(XmlError::TooDeep(_))
        ));
    }

    #[test]
    fn first_of_finds_the_first_child_of_each_name_in_one_pass() {
        let p = crate::parse_packed(
            b"<l a=\"1\"><x>1</x><y>2</y><x>3</x><z  ><id>9</id></z><w b='2' /></l>",
        )
        .unwrap();
        let [x, z, missing, w] = p.root().first_of(["x", "z", "nope", "w"]);
        assert_eq!(x.and_then(|n| n.text()), Some("1"));
        assert_eq!(z.and_then(|n| n.child_text("id")), Some("9"));
        assert!(missing.is_none());
        assert_eq!(w.and_then(|n| n.attr_value("b")), Some("2"));
        assert_eq!(p.root().attr_value("a"), Some("1"));
        assert_eq!(p.root().get("x").and_then(|n| n.text()), Some("1"));
        assert_eq!(p.root().all("x").count(), 2);
    }

    #[test]
    fn the_reused_packer_forgets_failed_and_large_documents() {
        // One thread's packer is reused from document to document; what an earlier one left
        // (an error half-way, a large text) must not show in the next.
        let big = format!("<big><t>{}</t></big>", "x".repeat(100_000));
        let multibyte = "\u{feff}<é a=\"ö\">€ <b>ü</b> &amp; ä</é>";
        for _ in 0..2 {
            for bad in ["<a><b>half", "<a></b>", "<a>&nope;</a>"] {
                assert!(crate::parse_packed(bad.as_bytes()).is_err(), "{bad}");
            }
            let p = crate::parse_packed(big.as_bytes()).unwrap();
            assert_eq!(p.root().child_text("t").map(str::len), Some(100_000));
            for d in [DOC, multibyte, "<a/>"] {
                let packed = crate::parse_packed(d.as_bytes()).unwrap();
                assert_eq!(packed.root().to_element(), parse(d).unwrap(), "{d}");
            }
        }
        let e = crate::parse_packed(multibyte.as_bytes()).unwrap();
        assert_eq!(e.root().name(), "é");
        assert_eq!(e.root().attr_value("a"), Some("ö"));
        assert_eq!(e.root().child_text("b"), Some("ü"));
    }

    #[test]
    fn long_and_many_names_pack_inline_and_read_back() {
        let long = "n".repeat(MAX_TABLED + 5);
        let e = Element::new(long.as_str())
            .attr(&long, "v")
            .child(Element::with_text("short", "t"));
        let p = Packed::new(&e);
        assert_eq!(p.root().to_element(), e);
        assert_eq!(p.root().name(), long);
        assert_eq!(p.root().attr_value(&long), Some("v"));
    }

    #[test]
    fn names_packed_on_one_thread_read_on_another() {
        let p = std::thread::spawn(|| {
            Packed::new(&parse("<fromThread><k>v</k></fromThread>").unwrap())
        })
        .join()
        .unwrap();
        assert_eq!(p.root().name(), "fromThread");
        assert_eq!(p.root().child_text("k"), Some("v"));
    }
}
