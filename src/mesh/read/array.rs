//! Decoding one VTK XML `<DataArray>` into `f64` values: ascii text, inline base64 (`binary`) or
//! appended data (raw bytes or base64), each optionally split into zlib-compressed blocks.
//!
//! Errors carry no file name; the caller prefixes it.

use std::io::Read;

use base64::Engine;

use super::xml::Elem;
use crate::err;
use crate::error::{Error, ErrorKind, Result};

/// Deflate expands at most ~1032:1 (258-byte matches coded in 2 bits); a zlib block that declares
/// more than this many bytes per compressed byte cannot hold what it declares.
const ZLIB_MAX_RATIO: usize = 1032;

/// Numeric element types of VTK XML.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Scalar {
    F32,
    F64,
    I8,
    I16,
    I32,
    I64,
    U8,
    U16,
    U32,
    U64,
}

impl Scalar {
    fn parse(name: &str) -> Option<Scalar> {
        use Scalar::*;
        Some(match name {
            "Float32" => F32,
            "Float64" => F64,
            "Int8" | "Char" => I8,
            "Int16" => I16,
            "Int32" => I32,
            "Int64" => I64,
            "UInt8" | "UChar" => U8,
            "UInt16" => U16,
            "UInt32" => U32,
            "UInt64" => U64,
            _ => return None,
        })
    }

    fn size(self) -> usize {
        use Scalar::*;
        match self {
            I8 | U8 => 1,
            I16 | U16 => 2,
            F32 | I32 | U32 => 4,
            F64 | I64 | U64 => 8,
        }
    }
}

/// Whether a DataArray's `type` is one we decode (others, like `String`, are skipped in data sections).
pub fn is_numeric(el: &Elem) -> bool {
    el.attr("type").and_then(Scalar::parse).is_some()
}

/// File-wide settings from the `<VTKFile>` element.
#[derive(Debug, Clone, Copy)]
pub struct Encoding {
    pub big_endian: bool,
    pub header64: bool,
    pub zlib: bool,
}

impl Encoding {
    pub fn of(root: &Elem) -> Result<Encoding> {
        let big_endian = match root.attr("byte_order").unwrap_or("LittleEndian") {
            "LittleEndian" => false,
            "BigEndian" => true,
            other => return Err(err!(MeshFormat, "unknown byte_order '{other}' (expected LittleEndian or BigEndian)")),
        };
        let header64 = match root.attr("header_type").unwrap_or("UInt32") {
            "UInt32" => false,
            "UInt64" => true,
            other => return Err(err!(MeshFormat, "unsupported header_type '{other}' (expected UInt32 or UInt64)")),
        };
        let zlib = match root.attr("compressor").unwrap_or("") {
            "" => false,
            "vtkZLibDataCompressor" => true,
            other => return Err(err!(MeshFormat, "unsupported compressor '{other}'").with_hint("re-save the file uncompressed or with zlib compression")),
        };
        Ok(Encoding { big_endian, header64, zlib })
    }
}

/// The bytes after the `_` marker of `<AppendedData>`.
#[derive(Debug, Clone, Copy)]
pub enum Appended<'a> {
    None,
    Raw(&'a [u8]),
    Base64(&'a [u8]),
}

/// How many values an array must hold (from the element's counts), and the error kind when it
/// holds another number.
#[derive(Debug, Clone, Copy)]
pub struct Expect {
    pub tuples: usize,
    pub components: usize,
    pub kind: ErrorKind,
}

impl Expect {
    fn values(self) -> Result<usize> {
        self.tuples.checked_mul(self.components).ok_or_else(|| err!(MeshFormat, "{} tuples x {} components do not fit in memory", self.tuples, self.components))
    }

    fn mismatch(self, got: usize, few: bool) -> Error {
        let n = self.tuples.saturating_mul(self.components);
        Error::new(
            self.kind,
            format!("{} values: {got}, expected {n} ({} tuples x {} components)", if few { "too few" } else { "too many" }, self.tuples, self.components),
        )
    }
}

/// Decode `el` into exactly tuples x components values. Sizes declared in binary headers are checked
/// against that count (and against the bytes the file has left) before anything is allocated or
/// inflated: a small file must not be able to claim gigabytes.
pub fn values(el: &Elem, enc: Encoding, appended: Appended, expect: Expect) -> Result<Vec<f64>> {
    let type_name = el.attr("type").unwrap_or("");
    let ty = Scalar::parse(type_name).ok_or_else(|| err!(MeshFormat, "unsupported DataArray type '{type_name}'"))?;
    let n = expect.values()?;
    let want = n.checked_mul(ty.size()).ok_or_else(|| err!(MeshFormat, "{n} {type_name} values do not fit in memory"))?;
    let block = match el.attr("format").unwrap_or("ascii") {
        "ascii" => return parse_ascii(&el.text, n, expect),
        "binary" => read_block(&mut Base64Source::new(el.text.as_bytes(), 0), enc, want)?,
        "appended" => {
            let offset = el.attr("offset").unwrap_or("0");
            let offset: usize = offset.trim().parse().map_err(|_| err!(MeshFormat, "invalid appended offset '{offset}'"))?;
            match appended {
                Appended::None => return Err(err!(MeshFormat, "format=\"appended\" but the file has no <AppendedData> section")),
                Appended::Raw(data) => read_block(&mut RawSource::new(data, offset)?, enc, want)?,
                Appended::Base64(text) => read_block(&mut Base64Source::new(text, offset), enc, want)?,
            }
        }
        other => return Err(err!(MeshFormat, "unknown DataArray format '{other}' (expected ascii, binary or appended)")),
    };
    match block {
        Ok(bytes) => to_f64(&bytes, ty, enc.big_endian),
        Err(declared) => Err(Error::new(
            expect.kind,
            format!(
                "the data header declares {declared} bytes, too {} for {} tuples x {} components of {type_name} ({want} bytes)",
                if declared < want { "few" } else { "many" },
                expect.tuples,
                expect.components
            ),
        )),
    }
}

/// Keep at most `n` values (the count, not the text, bounds what is kept); past that the values
/// are only counted, to say how many there are.
fn parse_ascii(text: &str, n: usize, expect: Expect) -> Result<Vec<f64>> {
    let mut out = alloc(n.min(text.len() / 2 + 1))?;
    for t in text.split_ascii_whitespace() {
        if out.len() == n {
            let total = out.len() + text[t.as_ptr() as usize - text.as_ptr() as usize..].split_ascii_whitespace().count();
            return Err(expect.mismatch(total, false));
        }
        out.push(t.parse::<f64>().map_err(|_| err!(MeshFormat, "cannot parse '{t}' as a number"))?);
    }
    if out.len() < n {
        return Err(expect.mismatch(out.len(), true));
    }
    Ok(out)
}

/// An empty vector with room for `n` elements, or an error instead of an abort when the memory
/// is not there (a file may legitimately declare more than this machine holds).
pub fn alloc<T>(n: usize) -> Result<Vec<T>> {
    let mut v = Vec::new();
    v.try_reserve_exact(n).map_err(|_| {
        err!(MeshFormat, "cannot allocate memory for {n} values ({} MiB)", n.saturating_mul(std::mem::size_of::<T>()) >> 20)
            .with_hint("the file declares more data than this machine's memory (or the process's limit) holds")
    })?;
    Ok(v)
}

/// A stream of bytes an array is read from.
trait Source {
    fn take(&mut self, n: usize) -> Result<Vec<u8>>;
    /// An upper bound on the bytes left (what a header may still claim).
    fn remaining(&self) -> usize;
}

fn truncated(wanted: usize, got: usize) -> crate::Error {
    err!(MeshFormat, "data is truncated: needed {wanted} more bytes, only {got} are left")
}

struct RawSource<'a> {
    data: &'a [u8],
}

impl<'a> RawSource<'a> {
    fn new(data: &'a [u8], offset: usize) -> Result<Self> {
        let data = data
            .get(offset..)
            .filter(|d| !d.is_empty())
            .ok_or_else(|| err!(MeshFormat, "appended offset {offset} is past the end of the appended data ({} bytes)", data.len()))?;
        Ok(RawSource { data })
    }
}

impl Source for RawSource<'_> {
    fn take(&mut self, n: usize) -> Result<Vec<u8>> {
        if n > self.data.len() {
            return Err(truncated(n, self.data.len()));
        }
        let (head, rest) = self.data.split_at(n);
        self.data = rest;
        Ok(head.to_vec())
    }

    fn remaining(&self) -> usize {
        self.data.len()
    }
}

/// Decodes base64 text on demand. VTK encodes a compressed array's header and its data as separate
/// base64 strings (padding in between) and an uncompressed one as one string, so decoding goes group
/// by group (4 characters) and runs past padding; whitespace is skipped.
struct Base64Source<'a> {
    text: &'a [u8],
    pos: usize,
    decoded: Vec<u8>,
}

impl<'a> Base64Source<'a> {
    fn new(text: &'a [u8], offset: usize) -> Self {
        Base64Source { text, pos: offset.min(text.len()), decoded: Vec::new() }
    }

    /// Decode at least `n` bytes more, stopping at a padded group so that it is decoded on its own.
    fn fill(&mut self, n: usize) -> Result<()> {
        let mut chunk = Vec::with_capacity(n.div_ceil(3) * 4);
        while chunk.len() < n.div_ceil(3) * 4 {
            let Some(&c) = self.text.get(self.pos) else { break };
            self.pos += 1;
            if c.is_ascii_whitespace() {
                continue;
            }
            chunk.push(c);
            if c == b'=' && chunk.len() % 4 == 0 {
                break;
            }
        }
        if chunk.is_empty() || chunk.len() % 4 != 0 {
            return Err(err!(MeshFormat, "base64 data is truncated (ends in the middle of an array)"));
        }
        base64::engine::general_purpose::STANDARD.decode_vec(&chunk, &mut self.decoded).map_err(|e| err!(MeshFormat, "invalid base64 data ({e})"))
    }
}

impl Source for Base64Source<'_> {
    fn take(&mut self, n: usize) -> Result<Vec<u8>> {
        // Refuse impossible sizes (from a corrupt header) before allocating for them.
        let available = self.remaining();
        if n > available {
            return Err(truncated(n, available));
        }
        while self.decoded.len() < n {
            self.fill(n - self.decoded.len())?;
        }
        Ok(self.decoded.drain(..n).collect())
    }

    fn remaining(&self) -> usize {
        self.decoded.len() + (self.text.len() - self.pos) / 4 * 3
    }
}

/// One header integer (UInt32 or UInt64, in the file's byte order).
fn header_word(src: &mut dyn Source, enc: Encoding) -> Result<usize> {
    let b = src.take(if enc.header64 { 8 } else { 4 })?;
    let v = match (enc.header64, enc.big_endian) {
        (false, false) => u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as u64,
        (false, true) => u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as u64,
        (true, false) => u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]),
        (true, true) => u64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]),
    };
    usize::try_from(v).map_err(|_| err!(MeshFormat, "header size {v} does not fit in memory"))
}

/// The payload of one binary array: `[byte count][data]`, or with zlib
/// `[nblocks][blocksize][lastblocksize][compressed size x nblocks][blocks]`, which must hold `want`
/// bytes. `Ok(Err(declared))` when the header declares another size: checked before reading on,
/// and blocks are inflated no further than they declare.
fn read_block(src: &mut dyn Source, enc: Encoding, want: usize) -> Result<std::result::Result<Vec<u8>, usize>> {
    if !enc.zlib {
        let n = header_word(src, enc)?;
        return if n == want { src.take(n).map(Ok) } else { Ok(Err(n)) };
    }
    let nblocks = header_word(src, enc)?;
    let block_size = header_word(src, enc)?;
    let last_size = header_word(src, enc)?;
    let word = if enc.header64 { 8 } else { 4 };
    if nblocks.saturating_mul(word) > src.remaining() {
        return Err(err!(MeshFormat, "the zlib header declares {nblocks} blocks, more than the {} bytes left can describe", src.remaining()));
    }
    // The last block holds `last_size` bytes (0: a full block, as VTK writes it).
    let last = if last_size == 0 { block_size } else { last_size };
    let total = match nblocks {
        0 => Some(0),
        n => (n - 1).checked_mul(block_size).and_then(|t| t.checked_add(last)),
    };
    match total {
        Some(t) if t == want => {}
        Some(t) => return Ok(Err(t)),
        None => return Ok(Err(usize::MAX)),
    }
    let sizes = (0..nblocks).map(|_| header_word(src, enc)).collect::<Result<Vec<_>>>()?;
    let compressed_total = sizes.iter().try_fold(0usize, |a, &s| a.checked_add(s)).filter(|&t| t <= src.remaining());
    if compressed_total.is_none() {
        return Err(err!(
            MeshFormat,
            "data is truncated: the zlib blocks declare {} compressed bytes, only {} are left",
            sizes.iter().fold(0usize, |a, &s| a.saturating_add(s)),
            src.remaining()
        ));
    }
    for (i, &size) in sizes.iter().enumerate() {
        let expected = if i + 1 == nblocks { last } else { block_size };
        if expected > size.saturating_mul(ZLIB_MAX_RATIO).saturating_add(64) {
            return Err(err!(MeshFormat, "zlib block {i} of {nblocks} declares {expected} bytes, more than its {size} compressed bytes can hold"));
        }
    }
    // One byte of slack: each block is read one byte past its size to tell "too long".
    let mut out = alloc(want.saturating_add(1))?;
    for (i, &size) in sizes.iter().enumerate() {
        let compressed = src.take(size)?;
        let expected = if i + 1 == nblocks { last } else { block_size };
        let before = out.len();
        flate2::read::ZlibDecoder::new(&compressed[..])
            .take(expected as u64 + 1)
            .read_to_end(&mut out)
            .map_err(|e| err!(MeshFormat, "zlib block {i} of {nblocks} cannot be decompressed ({e})"))?;
        let got = out.len() - before;
        if got != expected {
            let holds = if got > expected { format!("more than {expected}") } else { got.to_string() };
            return Err(err!(MeshFormat, "zlib block {i} of {nblocks} holds {holds} bytes, the header says {expected}"));
        }
    }
    Ok(Ok(out))
}

fn to_f64(bytes: &[u8], ty: Scalar, big_endian: bool) -> Result<Vec<f64>> {
    if bytes.len() % ty.size() != 0 {
        return Err(err!(MeshFormat, "{} bytes are not a whole number of {ty:?} values", bytes.len()));
    }
    let mut out = alloc(bytes.len() / ty.size())?;
    macro_rules! convert {
        ($t:ty) => {
            out.extend(bytes.chunks_exact(std::mem::size_of::<$t>()).map(|c| {
                // chunks_exact guarantees the length.
                let a = c.try_into().expect("chunk of the type's size");
                (if big_endian { <$t>::from_be_bytes(a) } else { <$t>::from_le_bytes(a) }) as f64
            }))
        };
    }
    match ty {
        Scalar::F32 => convert!(f32),
        Scalar::F64 => convert!(f64),
        Scalar::I8 => convert!(i8),
        Scalar::I16 => convert!(i16),
        Scalar::I32 => convert!(i32),
        Scalar::I64 => convert!(i64),
        Scalar::U8 => convert!(u8),
        Scalar::U16 => convert!(u16),
        Scalar::U32 => convert!(u32),
        Scalar::U64 => convert!(u64),
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD;

    #[test]
    fn base64_runs_past_padding_between_header_and_data() {
        // Header (4 bytes -> padded) and data encoded separately, as VTK does for compressed arrays.
        let text = format!("{}{}", STANDARD.encode(3u32.to_le_bytes()), STANDARD.encode([1u8, 2, 3]));
        let enc = Encoding { big_endian: false, header64: false, zlib: false };
        assert_eq!(read_block(&mut Base64Source::new(text.as_bytes(), 0), enc, 3).unwrap(), Ok(vec![1, 2, 3]));
        let joint = STANDARD.encode([3u8, 0, 0, 0, 1, 2, 3]);
        assert_eq!(read_block(&mut Base64Source::new(joint.as_bytes(), 0), enc, 3).unwrap(), Ok(vec![1, 2, 3]));
    }

    #[test]
    fn big_endian_values() {
        let bytes: Vec<u8> = [1.5f64, -2.0].iter().flat_map(|v| v.to_be_bytes()).collect();
        assert_eq!(to_f64(&bytes, Scalar::F64, true).unwrap(), vec![1.5, -2.0]);
        assert!(to_f64(&bytes[..7], Scalar::F64, true).is_err());
    }
}
