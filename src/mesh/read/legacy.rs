//! Legacy `.vtk` files (versions up to 5.1, ASCII or big-endian binary): UNSTRUCTURED_GRID and
//! POLYDATA datasets.
//!
//! Our own parser rather than vtkio's: vtkio's errors are its parser's internal terms ("Parse
//! error: Tag") with no section or line, it refuses the `nan`/`inf` that VTK itself writes for
//! NaN/Inf values, and a section header's count is only found wrong by parsing on. Here every
//! count is checked against the bytes left before anything is allocated, errors name the section
//! and line (and say "truncated" when the file ends early), and NaN/Inf values are read so that
//! the normal NaN checks decide about them.

use super::array::alloc;
use super::{append_cells, append_poly_cells, context};
use crate::err;
use crate::error::{Error, Result};
use crate::mesh::{Cells, Field, Mesh};

const HEADER_HINT: &str =
    "a legacy file starts with '# vtk DataFile Version x.y', a title line, ASCII or BINARY, and 'DATASET UNSTRUCTURED_GRID' or 'DATASET POLYDATA'";
const COUNT_HINT: &str = "the file is truncated, or a section header declares more values than follow it; re-export the file";

/// A scalar type of the legacy format: its binary size (big-endian).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Type {
    F32,
    F64,
    Int(usize, bool),
}

impl Type {
    fn parse(name: &str) -> Option<Type> {
        Some(match name.to_ascii_lowercase().as_str() {
            "float" => Type::F32,
            "double" => Type::F64,
            "char" => Type::Int(1, true),
            "unsigned_char" => Type::Int(1, false),
            "short" => Type::Int(2, true),
            "unsigned_short" => Type::Int(2, false),
            // VTK writes vtkIdType arrays as 32-bit ints.
            "int" | "vtkidtype" => Type::Int(4, true),
            "unsigned_int" => Type::Int(4, false),
            "long" | "vtktypeint64" => Type::Int(8, true),
            "unsigned_long" | "vtktypeuint64" => Type::Int(8, false),
            _ => return None,
        })
    }

    fn size(self) -> usize {
        match self {
            Type::F32 => 4,
            Type::F64 => 8,
            Type::Int(size, _) => size,
        }
    }

    fn decode(self, b: &[u8]) -> f64 {
        match self {
            Type::F32 => f32::from_be_bytes([b[0], b[1], b[2], b[3]]) as f64,
            Type::F64 => f64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]),
            Type::Int(size, signed) => {
                let mut v = 0u64;
                b.iter().for_each(|&x| v = (v << 8) | u64::from(x));
                let shift = 64 - 8 * size as u32;
                if signed {
                    (((v << shift) as i64) >> shift) as f64
                } else {
                    v as f64
                }
            }
        }
    }
}

/// A position in the file and the section being read (for messages).
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
    binary: bool,
    /// The header line of the section being read, and where it starts (its line number is
    /// counted only for a message).
    section: String,
    section_start: usize,
    /// Where the last line read by [`Cursor::line`] starts.
    line_start: usize,
}

impl<'a> Cursor<'a> {
    fn line_number(&self, pos: usize) -> usize {
        self.bytes[..pos.min(self.bytes.len())].iter().filter(|&&b| b == b'\n').count() + 1
    }

    /// The next line as it is (the title may be empty); None at the end of the file.
    fn raw_line(&mut self) -> Option<&'a [u8]> {
        if self.pos >= self.bytes.len() {
            return None;
        }
        let rest = &self.bytes[self.pos..];
        let end = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
        self.pos += (end + 1).min(rest.len());
        Some(rest[..end].strip_suffix(b"\r").unwrap_or(&rest[..end]))
    }

    /// The next non-blank line, trimmed, as text; None at the end of the file.
    fn line(&mut self) -> Result<Option<String>> {
        loop {
            while self.bytes.get(self.pos).is_some_and(|b| b.is_ascii_whitespace()) {
                self.pos += 1;
            }
            let start = self.pos;
            self.line_start = start;
            let Some(line) = self.raw_line() else { return Ok(None) };
            let text = std::str::from_utf8(line).ok().filter(|t| t.is_ascii());
            let text = text.ok_or_else(|| {
                self.error(start, "expected a section header, found binary data (does the previous section hold more values than it declares?)")
            })?;
            // `trim` also drops a vertical tab, which the whitespace skip above keeps: a line of only
            // such characters is blank too, not a header without words.
            let text = text.trim();
            if !text.is_empty() {
                return Ok(Some(text.to_string()));
            }
        }
    }

    /// Start a section: its header line is `header`, the line [`Cursor::line`] just read.
    fn enter(&mut self, header: &str) {
        self.section = header.to_string();
        self.section_start = self.line_start;
    }

    fn error(&self, pos: usize, what: impl std::fmt::Display) -> Error {
        if self.section.is_empty() {
            err!(MeshFormat, "line {}: {what}", self.line_number(pos))
        } else {
            err!(MeshFormat, "in '{}' (line {}): {what}", self.section, self.line_number(self.section_start))
        }
    }

    /// `n` values of type `ty` (what the section header declares). The count is checked against
    /// the bytes left before anything is allocated.
    fn values(&mut self, n: usize, ty: Type) -> Result<Vec<f64>> {
        let left = self.bytes.len() - self.pos;
        if self.binary {
            let fits = left / ty.size();
            if n > fits {
                let e = self.error(
                    self.pos,
                    format!("truncated: {n} values need {} bytes, and the {left} bytes left in the file hold at most {fits}", n.saturating_mul(ty.size())),
                );
                return Err(e.with_hint(COUNT_HINT));
            }
            let mut out = alloc(n)?;
            let data = &self.bytes[self.pos..self.pos + n * ty.size()];
            out.extend(data.chunks_exact(ty.size()).map(|c| ty.decode(c)));
            self.pos += n * ty.size();
            return Ok(out);
        }
        // ASCII: a value is at least one character and a separator. When the bytes left cannot
        // hold `n` values, nothing is allocated: the values are only counted, to say where the
        // section ends (which it must before `n`).
        let mut out = if n > left / 2 + 1 { None } else { Some(alloc(n)?) };
        let mut count = 0;
        while count < n {
            while self.bytes.get(self.pos).is_some_and(|b| b.is_ascii_whitespace()) {
                self.pos += 1;
            }
            let start = self.pos;
            while self.bytes.get(self.pos).is_some_and(|b| !b.is_ascii_whitespace()) {
                self.pos += 1;
            }
            if start == self.pos {
                let e = self.error(start, format!("truncated: {n} values declared, the file ends after {count}"));
                return Err(e.with_hint(COUNT_HINT));
            }
            let token = String::from_utf8_lossy(&self.bytes[start..self.pos]);
            // Rust's parser takes `nan`, `-nan`, `inf`, `-inf` as VTK writes them.
            let v = token.parse::<f64>().map_err(|_| {
                let why = if token.chars().next().is_some_and(|c| c.is_ascii_alphabetic()) {
                    format!("'{token}' is not a number: the section has {count} values where it declares {n}")
                } else {
                    format!("cannot parse '{token}' as a number (value {count} of {n})")
                };
                self.error(start, why).with_hint(COUNT_HINT)
            })?;
            if let Some(out) = out.as_mut() {
                out.push(v);
            }
            count += 1;
        }
        out.ok_or_else(|| self.error(self.pos, format!("{n} values cannot fit in the {left} bytes left")))
    }

    /// Integer values (ids, offsets, cell types).
    fn indices(&mut self, n: usize, ty: Type) -> Result<Vec<usize>> {
        let start = self.pos;
        let values = self.values(n, ty)?;
        let mut out = alloc(n)?;
        for v in values {
            let ok = v >= 0.0 && v.fract() == 0.0 && v < usize::MAX as f64;
            out.push(if ok { v as usize } else { return Err(self.error(start, format!("holds {v}, not a valid index"))) });
        }
        Ok(out)
    }
}

/// A header line split into words, with the checks every section needs.
struct Header<'a> {
    words: Vec<&'a str>,
}

impl<'a> Header<'a> {
    fn word(&self, i: usize, what: &str, cur: &Cursor) -> Result<&'a str> {
        self.words.get(i).copied().ok_or_else(|| cur.error(cur.pos, format!("the header has no {what}")))
    }

    fn count(&self, i: usize, what: &str, cur: &Cursor) -> Result<usize> {
        let w = self.word(i, what, cur)?;
        w.parse().map_err(|_| cur.error(cur.pos, format!("{what} '{w}' is not a count")))
    }

    fn ty(&self, i: usize, cur: &Cursor) -> Result<Type> {
        let w = self.word(i, "data type", cur)?;
        Type::parse(w).ok_or_else(|| cur.error(cur.pos, format!("unsupported data type '{w}'")))
    }
}

fn mul(a: usize, b: usize, cur: &Cursor) -> Result<usize> {
    a.checked_mul(b).ok_or_else(|| cur.error(cur.pos, format!("{a} x {b} values do not fit in memory")))
}

/// What the sections hold, before they become a mesh.
#[derive(Default)]
struct Parts {
    points: Option<Vec<f64>>,
    /// (connectivity, offsets with a leading 0) of CELLS and of the PolyData sections, by name.
    topology: Vec<(&'static str, Vec<usize>, Vec<usize>)>,
    types: Option<Vec<usize>>,
    point_data: Vec<Field>,
    cell_data: Vec<Field>,
}

pub fn read(bytes: &[u8]) -> Result<Mesh> {
    let mut cur = Cursor { bytes, pos: 0, binary: false, section: String::new(), section_start: 0, line_start: 0 };
    let first = cur.raw_line().unwrap_or_default();
    let version = std::str::from_utf8(first).ok().and_then(|l| {
        let rest = l.trim().strip_prefix('#')?.trim_start();
        let rest = rest.get(..3).filter(|v| v.eq_ignore_ascii_case("vtk")).map(|_| &rest[3..])?;
        let v = rest.trim_start().strip_prefix("DataFile Version")?.trim();
        let mut parts = v.split('.').map(|p| p.trim().parse::<u32>().ok());
        Some((parts.next()??, parts.next().flatten().unwrap_or(0)))
    });
    let version = version.ok_or_else(|| err!(MeshFormat, "line 1 is not '# vtk DataFile Version x.y'").with_hint(HEADER_HINT))?;
    cur.raw_line().ok_or_else(|| err!(MeshFormat, "truncated: the file ends after its first line").with_hint(HEADER_HINT))?; // the title
    let encoding = cur.line()?.ok_or_else(|| err!(MeshFormat, "truncated: the file ends before ASCII/BINARY (line 3)").with_hint(HEADER_HINT))?;
    cur.binary = match encoding.to_ascii_uppercase().as_str() {
        "ASCII" => false,
        "BINARY" => true,
        _ => return Err(cur.error(cur.pos, format!("expected ASCII or BINARY, found '{encoding}'")).with_hint(HEADER_HINT)),
    };
    let dataset = cur.line()?.ok_or_else(|| err!(MeshFormat, "truncated: the file ends before its DATASET line").with_hint(HEADER_HINT))?;
    let kind = match dataset.split_ascii_whitespace().collect::<Vec<_>>()[..] {
        [d, kind] if d.eq_ignore_ascii_case("DATASET") => kind.to_ascii_uppercase(),
        _ => return Err(cur.error(cur.pos, format!("expected 'DATASET <type>', found '{dataset}'")).with_hint(HEADER_HINT)),
    };
    if kind != "UNSTRUCTURED_GRID" && kind != "POLYDATA" {
        return Err(
            err!(MeshFormat, "legacy DATASET type {kind} is not supported (only UNSTRUCTURED_GRID and POLYDATA)").with_hint("convert the file to .vtu or .vti")
        );
    }
    let parts = sections(&mut cur, version >= (5, 0), &kind)?;
    build(parts, &kind)
}

/// Read every section after the DATASET line.
fn sections(cur: &mut Cursor, modern: bool, kind: &str) -> Result<Parts> {
    let mut parts = Parts::default();
    // The association and tuple count of attribute sections (set by POINT_DATA / CELL_DATA).
    let mut data: Option<(bool, usize)> = None;
    while let Some(header) = cur.line()? {
        cur.enter(&header);
        let h = Header { words: header.split_ascii_whitespace().collect() };
        let keyword = h.words[0].to_ascii_uppercase();
        match keyword.as_str() {
            "POINTS" => {
                let n = h.count(1, "point count", cur)?;
                let ty = h.ty(2, cur)?;
                parts.points = Some(cur.values(mul(n, 3, cur)?, ty)?);
            }
            "CELLS" | "VERTICES" | "LINES" | "POLYGONS" | "TRIANGLE_STRIPS" => {
                let name = match keyword.as_str() {
                    "CELLS" if kind == "UNSTRUCTURED_GRID" => "CELLS",
                    "VERTICES" if kind == "POLYDATA" => "Verts",
                    "LINES" if kind == "POLYDATA" => "Lines",
                    "POLYGONS" if kind == "POLYDATA" => "Polys",
                    "TRIANGLE_STRIPS" if kind == "POLYDATA" => "Strips",
                    _ => return Err(cur.error(cur.pos, format!("{keyword} does not belong in a {kind} dataset"))),
                };
                let n = h.count(1, "cell count", cur)?;
                let size = h.count(2, "size", cur)?;
                let (connectivity, offsets) = if modern { modern_topology(cur, n, size)? } else { legacy_topology(cur, n, size)? };
                parts.topology.push((name, connectivity, offsets));
            }
            "CELL_TYPES" => {
                let n = h.count(1, "cell count", cur)?;
                parts.types = Some(cur.indices(n, Type::Int(4, true))?);
            }
            "POINT_DATA" | "CELL_DATA" => data = Some((keyword == "POINT_DATA", h.count(1, "count", cur)?)),
            "METADATA" => skip_metadata(cur),
            "LOOKUP_TABLE" => {
                // A table of RGBA colours, not a field: read past it.
                let n = h.count(2, "table size", cur)?;
                cur.values(mul(n, 4, cur)?, if cur.binary { Type::Int(1, false) } else { Type::F32 })?;
            }
            // Field data of the whole dataset (VTK writes TIME and CYCLE there): not a mesh field.
            "FIELD" if data.is_none() => drop(attribute(cur, &h, "FIELD", 0)?),
            _ => {
                let Some((on_points, tuples)) = data else {
                    return Err(cur.error(cur.pos, format!("unknown section '{keyword}'")).with_hint(HEADER_HINT));
                };
                let fields = attribute(cur, &h, &keyword, tuples)?;
                if on_points {
                    parts.point_data.extend(fields)
                } else {
                    parts.cell_data.extend(fields)
                }
            }
        }
    }
    Ok(parts)
}

/// Versions < 5: `size` values, `n id_1 .. id_n` per cell.
fn legacy_topology(cur: &mut Cursor, cells: usize, size: usize) -> Result<(Vec<usize>, Vec<usize>)> {
    let values = cur.indices(size, Type::Int(4, true))?;
    let (mut connectivity, mut offsets, mut i) = (alloc(size)?, alloc(cells.min(size) + 1)?, 0usize);
    offsets.push(0);
    for c in 0..cells {
        let n = *values.get(i).ok_or_else(|| cur.error(cur.pos, format!("the cell list ends before cell {c} of {cells}")))?;
        let ids = values
            .get(i + 1..i.saturating_add(n).saturating_add(1))
            .ok_or_else(|| cur.error(cur.pos, format!("cell {c} of {cells} is cut short by the end of the list")))?;
        connectivity.extend_from_slice(ids);
        offsets.push(connectivity.len());
        i += n + 1;
    }
    if i != size {
        return Err(cur.error(cur.pos, format!("{cells} cells use {i} of the {size} values declared")));
    }
    Ok((connectivity, offsets))
}

/// Version 5.x: `CELLS n size` then `OFFSETS type` (n values, leading 0) and `CONNECTIVITY type`
/// (size values).
fn modern_topology(cur: &mut Cursor, n: usize, size: usize) -> Result<(Vec<usize>, Vec<usize>)> {
    let mut arrays = vec![];
    for expected in ["OFFSETS", "CONNECTIVITY"] {
        let start = cur.pos;
        let header = cur.line()?.ok_or_else(|| cur.error(start, format!("truncated: the file ends before {expected}")).with_hint(COUNT_HINT))?;
        let h = Header { words: header.split_ascii_whitespace().collect() };
        if !h.words[0].eq_ignore_ascii_case(expected) {
            return Err(cur.error(start, format!("expected {expected}, found '{header}'")));
        }
        let ty = h.ty(1, cur)?;
        arrays.push(cur.indices(if expected == "OFFSETS" { n } else { size }, ty)?);
    }
    let connectivity = arrays.pop().unwrap_or_default();
    let mut offsets = arrays.pop().unwrap_or_default();
    // Normalise offsets without the leading 0.
    if offsets.first() != Some(&0) {
        offsets.insert(0, 0);
    }
    if offsets.len() == 1 {
        offsets.clear(); // no cells
    }
    Ok((connectivity, offsets))
}

/// `METADATA` is followed by lines up to an empty one.
fn skip_metadata(cur: &mut Cursor) {
    while let Some(line) = cur.raw_line() {
        if line.iter().all(u8::is_ascii_whitespace) {
            break;
        }
    }
}

/// One attribute section of POINT_DATA / CELL_DATA with `tuples` tuples.
fn attribute(cur: &mut Cursor, h: &Header, keyword: &str, tuples: usize) -> Result<Vec<Field>> {
    let field = |name: &str, components: usize, values: Vec<f64>| Field { name: name.to_string(), components, values };
    Ok(match keyword {
        "SCALARS" => {
            let name = h.word(1, "name", cur)?;
            let ty = h.ty(2, cur)?;
            let components = if h.words.len() > 3 { h.count(3, "component count", cur)? } else { 1 };
            // An optional `LOOKUP_TABLE name` line (required before 5.0, but not always written):
            // if the next line is not one (values, or binary data), read on from where it began.
            let save = cur.pos;
            if !matches!(cur.line(), Ok(Some(l)) if l.to_ascii_uppercase().starts_with("LOOKUP_TABLE")) {
                cur.pos = save;
            }
            vec![field(name, components, cur.values(mul(tuples, components, cur)?, ty)?)]
        }
        "COLOR_SCALARS" => {
            let name = h.word(1, "name", cur)?;
            let components = h.count(2, "component count", cur)?;
            // Colours are floats in ASCII files and bytes (0..255) in binary ones.
            let values = cur.values(mul(tuples, components, cur)?, if cur.binary { Type::Int(1, false) } else { Type::F32 })?;
            let values = if cur.binary { values.into_iter().map(|v| v / 255.0).collect() } else { values };
            vec![field(name, components, values)]
        }
        "VECTORS" | "NORMALS" => vec![field(h.word(1, "name", cur)?, 3, cur.values(mul(tuples, 3, cur)?, h.ty(2, cur)?)?)],
        "TENSORS" | "TENSORS6" => {
            let components = if keyword == "TENSORS" { 9 } else { 6 };
            vec![field(h.word(1, "name", cur)?, components, cur.values(mul(tuples, components, cur)?, h.ty(2, cur)?)?)]
        }
        "TEXTURE_COORDINATES" => {
            let components = h.count(2, "dimension", cur)?;
            vec![field(h.word(1, "name", cur)?, components, cur.values(mul(tuples, components, cur)?, h.ty(3, cur)?)?)]
        }
        "FIELD" => {
            let arrays = h.count(2, "array count", cur)?;
            let mut out = vec![];
            for _ in 0..arrays {
                let start = cur.pos;
                let line = cur.line()?.ok_or_else(|| cur.error(start, format!("truncated: the file ends before its {arrays} arrays")).with_hint(COUNT_HINT))?;
                let a = Header { words: line.split_ascii_whitespace().collect() };
                if a.words[0].eq_ignore_ascii_case("NULL_ARRAY") {
                    continue;
                }
                if a.words[0].eq_ignore_ascii_case("METADATA") {
                    skip_metadata(cur);
                    continue;
                }
                let components = a.count(1, "component count", cur)?;
                let n = a.count(2, "tuple count", cur)?;
                let values = cur.values(mul(components, n, cur)?, a.ty(3, cur)?).map_err(|e| context(e, format!("array '{}'", a.words[0])))?;
                out.push(field(a.words[0], components, values));
            }
            out
        }
        other => return Err(cur.error(cur.pos, format!("unknown section '{other}'")).with_hint(HEADER_HINT)),
    })
}

fn build(parts: Parts, kind: &str) -> Result<Mesh> {
    let coords = parts.points.ok_or_else(|| err!(MeshFormat, "the file has no POINTS section"))?;
    let mut cells = Cells::default();
    if kind == "UNSTRUCTURED_GRID" {
        if let Some((_, connectivity, offsets)) = parts.topology.into_iter().next() {
            let types = parts.types.ok_or_else(|| err!(MeshFormat, "the file has CELLS but no CELL_TYPES"))?;
            let types = types
                .into_iter()
                .map(|t| u8::try_from(t).map_err(|_| err!(MeshFormat, "CELL_TYPES: {t} is not a VTK cell type")))
                .collect::<Result<Vec<_>>>()?;
            append_cells(&mut cells, &connectivity, &offsets, &types).map_err(|e| context(e, "CELLS"))?;
        }
    } else {
        // VTK's cell order (and cell data order) for poly data, whatever the order in the file.
        for section in ["Verts", "Lines", "Polys", "Strips"] {
            for (_, connectivity, offsets) in parts.topology.iter().filter(|t| t.0 == section) {
                append_poly_cells(&mut cells, section, connectivity, offsets)?;
            }
        }
    }
    Ok(Mesh { points: coords.chunks_exact(3).map(|c| [c[0], c[1], c[2]]).collect(), cells, point_data: parts.point_data, cell_data: parts.cell_data })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_integers_are_big_endian_and_signed() {
        assert_eq!(Type::Int(2, true).decode(&[0xff, 0xfe]), -2.0);
        assert_eq!(Type::Int(2, false).decode(&[0xff, 0xfe]), 65534.0);
        assert_eq!(Type::Int(4, true).decode(&[0, 0, 1, 0]), 256.0);
    }

    #[test]
    fn binary_scalars_may_omit_the_lookup_table_line() {
        // The data starts with bytes that are whitespace and that are not text.
        let mut b = b"# vtk DataFile Version 4.2\nt\nBINARY\nDATASET POLYDATA\nPOINTS 1 float\n".to_vec();
        b.extend([0u8; 12]);
        b.extend(b"\nPOINT_DATA 1\nSCALARS p float 1\n");
        b.extend(f32::from_bits(0x0a20_ff00).to_be_bytes());
        let m = read(&b).unwrap();
        assert_eq!(m.point_data[0].values[0].to_bits(), f64::from(f32::from_bits(0x0a20_ff00)).to_bits());
    }

    #[test]
    fn nan_and_inf_are_values() {
        let text =
            "# vtk DataFile Version 4.2\nt\nASCII\nDATASET POLYDATA\nPOINTS 1 float\n0 0 0\nPOINT_DATA 1\nSCALARS p float 2\nLOOKUP_TABLE default\nnan -inf\n";
        let m = read(text.as_bytes()).unwrap();
        assert!(m.point_data[0].values[0].is_nan());
        assert_eq!(m.point_data[0].values[1], f64::NEG_INFINITY);
    }
}
