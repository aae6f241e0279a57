//! Gmsh `.msh` files: format 2 (2.0-2.2) and 4.1, ASCII and binary (either byte order), with
//! `$NodeData` / `$ElementData` mapped to point / cell data.
//!
//! Our own parser, not `mshio` 0.4.2 (nor `meshx`, whose I/O goes through mshio and also pulls a
//! second vtkio, 0.6.3). mshio would leave most of the work to us and get part of the rest wrong here:
//! - it reads format 4.1 only, so format 2.2 (still the default of many tools) needs a parser anyway;
//! - it parses neither `$NodeData` nor `$ElementData`, which this reader exists for;
//! - when a file's node or element tags are dense it drops them and leaves the caller to assume file
//!   order = tag order: a file with dense tags in another order would get silently wrong connectivity;
//! - it panics on some inputs (`unimplemented!` for an unexpected data size, 28 nodes for an 18-node
//!   prism), and its error's `Display` hex-dumps the whole rest of the file;
//! - it pulls nom 5 and lexical-core 0.7 (RUSTSEC-2023-0086) into a tool that reads user files.
//!
//! What is read, and how:
//! - Nodes keep the file's order; tags (any order, sparse or not) only link elements and data to them.
//!   2D meshes keep the z = 0 Gmsh writes.
//! - Cells are the elements of the highest dimension in the file. Lower-dimensional elements are the
//!   boundary curves/faces and points Gmsh saves alongside the domain (for physical groups and boundary
//!   conditions); as VTK cells they would add cells on the boundary with no values for element data
//!   defined on the domain. Element data given on them is ignored.
//! - First-order points, lines, triangles, quadrangles, tetrahedra, hexahedra, prisms and pyramids
//!   become VTK vertices, lines, triangles, quads, tetras, hexahedra, wedges and pyramids, in the node
//!   order Gmsh's own VTK export writes (checked against it in tests/gmsh.rs): Gmsh's order except for
//!   prisms, whose two triangles are reversed (nodes 0 2 1 3 5 4). Any other element type (higher
//!   order, polygons) is an error that says how to save a first-order mesh.
//! - Each `$NodeData` / `$ElementData` section is one field at one time: name = the first string tag,
//!   components and value count from the integer tags, time = the first real tag (the time-step integer
//!   tag when there is no real tag). Sections with the same name, association and time are merged (a
//!   partitioned run writes one section per partition). Entities a field gives no value for are NaN;
//!   values for a negative tag (Gmsh's mark for a node it did not save) are skipped.
//! - [`read_frames`] gives one frame per distinct time (sorted), holding the fields given at that
//!   time; [`read_msh`] the first of them.
//! - `$Nodes` / `$Elements` given again (Gmsh writes the mesh before each view it appends unless
//!   PostProcessing.SaveMesh is off) must repeat the first; a different mesh is an error.
//! - `$ElementNodeData` (values per element corner), physical names, entities, periodicity and any
//!   other section are skipped.

use std::collections::HashMap;

use crate::err;
use crate::error::Result;
use crate::mesh::{Association, Cells, Field, Frame, Mesh};

/// Read a `.msh` file from memory: the mesh with the fields of the first time step in the file
/// (see [`read_frames`]). Node ids in cells are in range by construction; errors name the section and
/// line (ASCII) or byte offset (binary) but not the file (the caller knows it).
pub fn read_msh(bytes: &[u8]) -> Result<Mesh> {
    Ok(read_frames(bytes)?.swap_remove(0).mesh)
}

/// Read a `.msh` file from memory as a time series: one frame per distinct time value of its data
/// sections, sorted by time (one frame at time 0 when it has none). Never empty.
pub fn read_frames(bytes: &[u8]) -> Result<Vec<Frame>> {
    let file = parse(bytes)?;
    // The check read_mesh makes for every format, here too because read_series does not go through it.
    if let Some((i, p)) = file.points.iter().enumerate().find(|(_, p)| !p.iter().all(|c| c.is_finite())) {
        return Err(err!(NonFinite, "node {} (point {i}) has a non-finite coordinate ({}, {}, {})", file.node_tags[i], p[0], p[1], p[2])
            .with_hint("fix or remove the node in the mesh"));
    }
    file.frames()
}

// ---------------------------------------------------------------------------------------------
// Element types.

/// (Gmsh type, nodes, VTK cell type, dimension) of the element types we read.
const ELEMENTS: [(i64, usize, u8, u8); 8] = [
    (15, 1, 1, 0), // point -> VTK_VERTEX
    (1, 2, 3, 1),  // line -> VTK_LINE
    (2, 3, 5, 2),  // triangle -> VTK_TRIANGLE
    (3, 4, 9, 2),  // quadrangle -> VTK_QUAD
    (4, 4, 10, 3), // tetrahedron -> VTK_TETRA
    (5, 8, 12, 3), // hexahedron -> VTK_HEXAHEDRON
    (6, 6, 13, 3), // prism -> VTK_WEDGE
    (7, 5, 14, 3), // pyramid -> VTK_PYRAMID
];

/// The most nodes an element type in [`ELEMENTS`] has (the hexahedron).
const MAX_NODES: usize = 8;
const _: () = {
    let mut i = 0;
    while i < ELEMENTS.len() {
        assert!(ELEMENTS[i].1 <= MAX_NODES);
        i += 1;
    }
};
const VTK_WEDGE: u8 = 13;
/// Gmsh prism node k of the VTK wedge (the permutation Gmsh's VTK export applies).
const PRISM_TO_WEDGE: [usize; 6] = [0, 2, 1, 3, 5, 4];

/// Names of the higher-order types Gmsh writes most, for the error message.
fn type_name(t: i64) -> &'static str {
    match t {
        8 => "3-node second-order line",
        9 => "6-node second-order triangle",
        10 => "9-node second-order quadrangle",
        11 => "10-node second-order tetrahedron",
        12 => "27-node second-order hexahedron",
        13 => "18-node second-order prism",
        14 => "14-node second-order pyramid",
        16 => "8-node second-order quadrangle",
        17 => "20-node second-order hexahedron",
        18 => "15-node second-order prism",
        19 => "13-node second-order pyramid",
        _ => "an element type this reader does not know",
    }
}

#[derive(Clone, Copy, PartialEq)]
struct ElementType {
    nodes: usize,
    vtk: u8,
    dim: u8,
}

fn element_type(t: i64) -> Result<ElementType> {
    match ELEMENTS.iter().find(|e| e.0 == t) {
        Some(&(_, nodes, vtk, dim)) => Ok(ElementType { nodes, vtk, dim }),
        None => Err(err!(
            MeshFormat,
            "element type {t} ({}) is not supported; only first-order points, lines, triangles, \
            quadrangles, tetrahedra, hexahedra, prisms and pyramids are read",
            type_name(t)
        )
        .with_hint("save a first-order mesh (Gmsh: Mesh.ElementOrder = 1, or `gmsh -order 1`)")),
    }
}

// ---------------------------------------------------------------------------------------------
// What a file holds, before fields are attached to frames.

/// Elements as read, flat (one Vec per element would cost more than the element on big meshes).
#[derive(Default, PartialEq)]
struct Elements {
    tags: Vec<u64>,
    types: Vec<ElementType>,
    /// Node tags, `types[i].nodes` per element; resolved to indices once all nodes are known.
    nodes: Vec<u64>,
}

impl Elements {
    fn len(&self) -> usize {
        self.tags.len()
    }

    fn reserve(&mut self, n: usize) {
        self.tags.reserve(n);
        self.types.reserve(n);
    }
}

struct DataSection {
    association: Association,
    name: String,
    time: f64,
    components: usize,
    /// Negative: an entity Gmsh did not save (see [`data`]).
    tags: Vec<i64>,
    values: Vec<f64>,
}

impl DataSection {
    /// `$NodeData 'p' (time 0.5)`, for error messages.
    fn describe(&self) -> String {
        let kind = if self.association == Association::Point { "NodeData" } else { "ElementData" };
        format!("${kind} '{}' (time {})", self.name, self.time)
    }
}

#[derive(Default)]
struct MshFile {
    points: Vec<[f64; 3]>,
    node_tags: Vec<u64>,
    elements: Elements,
    data: Vec<DataSection>,
}

impl MshFile {
    fn frames(self) -> Result<Vec<Frame>> {
        let mut node_index: HashMap<u64, usize> = HashMap::with_capacity(self.node_tags.len());
        for (i, &tag) in self.node_tags.iter().enumerate() {
            if node_index.insert(tag, i).is_some() {
                return Err(err!(MeshFormat, "$Nodes: node tag {tag} is given twice"));
            }
        }
        // Cells: the elements of the highest dimension; element tag -> cell index (None: dropped).
        let elements = &self.elements;
        let top = elements.types.iter().map(|t| t.dim).max().unwrap_or(0);
        let mut element_index: HashMap<u64, Option<usize>> = HashMap::with_capacity(elements.len());
        let mut cells = Cells::default();
        let mut first = 0;
        for (&tag, ty) in elements.tags.iter().zip(&elements.types) {
            let nodes = &elements.nodes[first..first + ty.nodes];
            first += ty.nodes;
            let kept = ty.dim == top;
            let slot = kept.then_some(cells.types.len());
            if element_index.insert(tag, slot).is_some() {
                return Err(err!(MeshFormat, "$Elements: element tag {tag} is given twice"));
            }
            // Check every element's nodes, also those of dropped elements: a dangling tag is corruption.
            let mut ids = [0usize; MAX_NODES];
            for (id, t) in ids.iter_mut().zip(nodes) {
                *id = node_index.get(t).copied().ok_or_else(|| err!(MeshFormat, "$Elements: element {tag} refers to node {t}, which is not in $Nodes"))?;
            }
            if kept {
                if cells.offsets.is_empty() {
                    cells.offsets.push(0);
                }
                if ty.vtk == VTK_WEDGE {
                    cells.connectivity.extend(PRISM_TO_WEDGE.map(|k| ids[k]));
                } else {
                    cells.connectivity.extend_from_slice(&ids[..ty.nodes]);
                }
                cells.offsets.push(cells.connectivity.len());
                cells.types.push(ty.vtk);
            }
        }
        let mut base = Mesh { points: self.points, cells, ..Mesh::default() };

        let mut times: Vec<f64> = self.data.iter().map(|d| d.time).collect();
        times.sort_by(f64::total_cmp);
        times.dedup();
        if times.is_empty() {
            times.push(0.0);
        }
        // Each frame owns its mesh, as the frames of a .pvd do; the last one takes `base` itself.
        let mut frames: Vec<Frame> = Vec::with_capacity(times.len());
        for (k, &time) in times.iter().enumerate() {
            let mesh = if k + 1 == times.len() { std::mem::take(&mut base) } else { base.clone() };
            frames.push(Frame { time, mesh });
        }
        for d in &self.data {
            let frame = frames.iter_mut().find(|f| f.time.total_cmp(&d.time).is_eq()).expect("times hold every section's time");
            let count = match d.association {
                Association::Point => frame.mesh.points.len(),
                Association::Cell => frame.mesh.cells.len(),
            };
            let fields = match d.association {
                Association::Point => &mut frame.mesh.point_data,
                Association::Cell => &mut frame.mesh.cell_data,
            };
            let field = match fields.iter().position(|f| f.name == d.name) {
                Some(i) if fields[i].components != d.components => {
                    return Err(err!(
                        MeshFormat,
                        "{}: {} components here and {} in an earlier section of the same name and time",
                        d.describe(),
                        d.components,
                        fields[i].components
                    ));
                }
                Some(i) => &mut fields[i],
                None => {
                    fields.push(Field { name: d.name.clone(), components: d.components, values: vec![f64::NAN; count * d.components] });
                    fields.last_mut().expect("just pushed")
                }
            };
            for (k, &tag) in d.tags.iter().enumerate() {
                let Ok(tag) = u64::try_from(tag) else { continue };
                let slot = match d.association {
                    Association::Point => node_index
                        .get(&tag)
                        .copied()
                        .map(Some)
                        .ok_or_else(|| err!(MeshFormat, "{} gives a value for node {tag}, which is not in $Nodes", d.describe()))?,
                    Association::Cell => element_index
                        .get(&tag)
                        .copied()
                        .ok_or_else(|| err!(MeshFormat, "{} gives a value for element {tag}, which is not in $Elements", d.describe()))?,
                };
                if let Some(i) = slot {
                    let c = d.components;
                    field.values[i * c..(i + 1) * c].copy_from_slice(&d.values[k * c..(k + 1) * c]);
                }
            }
        }
        Ok(frames)
    }
}

// ---------------------------------------------------------------------------------------------
// The byte cursor: ASCII tokens and binary values from one buffer.

#[derive(Clone, Copy, PartialEq)]
enum Encoding {
    Ascii,
    Binary { little: bool },
}

struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
    /// A binary file: places are byte offsets (line numbers mean little there).
    binary: bool,
}

impl<'a> Cursor<'a> {
    /// "line N" (ASCII files) or "byte N" (binary files): where the cursor is, for error messages.
    fn at(&self) -> String {
        self.at_pos(self.pos)
    }

    /// Only for errors: counting lines is linear in the position.
    fn at_pos(&self, pos: usize) -> String {
        if self.binary {
            format!("byte {pos}")
        } else {
            format!("line {}", 1 + self.bytes[..pos.min(self.bytes.len())].iter().filter(|&&b| b == b'\n').count())
        }
    }

    fn eof(&self) -> bool {
        self.pos >= self.bytes.len()
    }

    fn remaining(&self) -> usize {
        self.bytes.len().saturating_sub(self.pos)
    }

    fn skip_space(&mut self) {
        while self.pos < self.bytes.len() && self.bytes[self.pos].is_ascii_whitespace() {
            self.pos += 1;
        }
    }

    /// The next whitespace-delimited token (None at the end of the data).
    fn token(&mut self) -> Option<&'a [u8]> {
        self.skip_space();
        let start = self.pos;
        while self.pos < self.bytes.len() && !self.bytes[self.pos].is_ascii_whitespace() {
            self.pos += 1;
        }
        (self.pos > start).then(|| &self.bytes[start..self.pos])
    }

    /// An ASCII number (`what` names it in errors).
    fn number<T: std::str::FromStr>(&mut self, what: &str) -> Result<T> {
        let Some(token) = self.token() else {
            return Err(err!(MeshFormat, "{}: the file ends where {what} was expected (truncated?)", self.at()));
        };
        std::str::from_utf8(token).ok().and_then(|s| s.parse().ok()).ok_or_else(|| {
            let start = self.pos - token.len();
            err!(MeshFormat, "{}: expected {what}, found '{}'", self.at_pos(start), String::from_utf8_lossy(&token[..token.len().min(40)]))
        })
    }

    /// Skip spaces to the end of the current line and past its newline (binary data starts there).
    fn end_line(&mut self) -> Result<()> {
        while self.pos < self.bytes.len() && matches!(self.bytes[self.pos], b' ' | b'\t' | b'\r') {
            self.pos += 1;
        }
        match self.bytes.get(self.pos) {
            Some(b'\n') => {
                self.pos += 1;
                Ok(())
            }
            Some(_) => Err(err!(MeshFormat, "{}: expected the end of the line before binary data", self.at())),
            None => Err(err!(MeshFormat, "{}: the file ends before its binary data (truncated?)", self.at())),
        }
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8]> {
        if self.remaining() < n {
            return Err(err!(MeshFormat, "byte {}: the file ends inside {what} (truncated?)", self.pos));
        }
        let out = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    fn binary_int(&mut self, size: usize, little: bool, what: &str) -> Result<i128> {
        let b = self.take(size, what)?;
        let mut buf = [0u8; 8];
        let signed = |v: u64, bits: u32| -> i128 { ((v << (64 - bits)) as i64 >> (64 - bits)) as i128 };
        if little {
            buf[..size].copy_from_slice(b);
            let v = u64::from_le_bytes(buf);
            Ok(if size == 8 { v as i128 } else { signed(v, 8 * size as u32) })
        } else {
            buf[8 - size..].copy_from_slice(b);
            let v = u64::from_be_bytes(buf);
            Ok(if size == 8 { v as i128 } else { signed(v, 8 * size as u32) })
        }
    }

    fn binary_f64(&mut self, little: bool, what: &str) -> Result<f64> {
        let b: [u8; 8] = self.take(8, what)?.try_into().expect("took 8 bytes");
        Ok(if little { f64::from_le_bytes(b) } else { f64::from_be_bytes(b) })
    }
}

/// Reads a section's values in the file's encoding: `int` is 4 bytes, `size_t` is `size_t` bytes
/// (format 4.1's data size), doubles 8 bytes.
struct Reader<'a> {
    c: Cursor<'a>,
    enc: Encoding,
    size_t: usize,
}

impl<'a> Reader<'a> {
    fn at(&self) -> String {
        self.c.at()
    }

    /// A signed integer stored as `size` bytes in binary.
    fn int_sized(&mut self, size: usize, what: &str) -> Result<i64> {
        match self.enc {
            Encoding::Ascii => self.c.number::<i64>(what),
            Encoding::Binary { little } => {
                let v = self.c.binary_int(size, little, what)?;
                // A size_t: unsigned in the file; anything beyond i64 is nonsense for a count or a tag.
                i64::try_from(if size == 8 && v < 0 { v + (1i128 << 64) } else { v }).map_err(|_| err!(MeshFormat, "{}: {what} {v} is out of range", self.at()))
            }
        }
    }

    fn int(&mut self, what: &str) -> Result<i64> {
        self.int_sized(4, what)
    }

    /// A non-negative count or tag stored as `size` bytes in binary.
    fn unsigned_sized(&mut self, size: usize, what: &str) -> Result<u64> {
        let start = self.c.pos;
        let v = self.int_sized(size, what)?;
        u64::try_from(v).map_err(|_| err!(MeshFormat, "{}: {what} is {v}, expected a non-negative number", self.c.at_pos(start)))
    }

    /// Where `pos` is, for error messages.
    fn at_pos(&self, pos: usize) -> String {
        self.c.at_pos(pos)
    }

    /// Prefix an error with where `pos` is.
    fn located(&self, e: crate::error::Error, pos: usize) -> crate::error::Error {
        super::context(e, self.at_pos(pos))
    }

    fn size_t(&mut self, what: &str) -> Result<u64> {
        self.unsigned_sized(self.size_t, what)
    }

    fn double(&mut self, what: &str) -> Result<f64> {
        match self.enc {
            Encoding::Ascii => self.c.number::<f64>(what),
            Encoding::Binary { little } => self.c.binary_f64(little, what),
        }
    }

    /// A count from the file, checked against the bytes left, so that a corrupt count fails here
    /// instead of allocating. An item takes `binary_bytes` in binary; in ASCII each of its numbers
    /// takes at least 2 bytes (a digit and a separator), and it has at least `binary_bytes / 4` of them
    /// (ints are 4 bytes, doubles and size_t 8 or 4).
    fn count(&self, n: u64, binary_bytes: usize, what: &str, pos: usize) -> Result<usize> {
        let min_bytes = match self.enc {
            Encoding::Ascii => (binary_bytes / 4).max(2),
            Encoding::Binary { .. } => binary_bytes.max(1),
        } as u64;
        let left = self.c.remaining() as u64;
        match n.checked_mul(min_bytes) {
            Some(need) if need <= left => Ok(n as usize),
            _ => Err(err!(MeshFormat, "{}: {n} {what} announced, but only {left} bytes are left (truncated or corrupt)", self.at_pos(pos))),
        }
    }

    /// In binary files the values of a section start after the line of its last ASCII header item.
    fn start_binary(&mut self) -> Result<()> {
        match self.enc {
            Encoding::Ascii => Ok(()),
            Encoding::Binary { .. } => self.c.end_line(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Sections.

#[derive(Clone, Copy, PartialEq)]
enum Version {
    V2,
    V41,
}

fn parse(bytes: &[u8]) -> Result<MshFile> {
    let mut c = Cursor { bytes, pos: 0, binary: false };
    if c.token() != Some(b"$MeshFormat") {
        return Err(
            err!(MeshFormat, "not a Gmsh mesh: the file does not start with $MeshFormat").with_hint("save the mesh from Gmsh as .msh (format 2.2 or 4.1)")
        );
    }
    let version_at = c.at();
    let version_text = c.token().map(|t| String::from_utf8_lossy(t).into_owned()).unwrap_or_default();
    let version = match version_text.parse::<f64>() {
        Ok(v) if (2.0..3.0).contains(&v) => Version::V2,
        Ok(4.1) => Version::V41,
        _ => {
            return Err(err!(MeshFormat, "$MeshFormat ({version_at}): version '{version_text}' is not read; this reader reads formats 2.x and 4.1")
                .with_hint("re-save the mesh with Gmsh as format 4.1 or 2.2 (Mesh.MshFileVersion, or `gmsh -format msh41`)"))
        }
    };
    let file_type: i64 = c.number("the file type (0 = ASCII, 1 = binary)")?;
    let data_size: u64 = c.number("the data size")?;
    let binary = match file_type {
        0 => false,
        1 => true,
        t => return Err(err!(MeshFormat, "$MeshFormat: file type {t} is neither 0 (ASCII) nor 1 (binary)")),
    };
    // Format 2 stores doubles (data size = sizeof(double)); 4.1 stores size_t (data size = its size).
    let size_t = match (version, data_size) {
        (Version::V2, 8) => 8,
        (Version::V41, 4 | 8) => data_size as usize,
        _ => {
            return Err(err!(
                MeshFormat,
                "$MeshFormat: data size {data_size} is not supported (expected 8{})",
                if version == Version::V41 { " or 4" } else { "" }
            ))
        }
    };
    let enc = if binary {
        // An int 1 in the writer's byte order follows the header line.
        c.end_line()?;
        let probe: [u8; 4] = c.take(4, "the byte-order mark of $MeshFormat")?.try_into().expect("took 4 bytes");
        match (i32::from_le_bytes(probe), i32::from_be_bytes(probe)) {
            (1, _) => Encoding::Binary { little: true },
            (_, 1) => Encoding::Binary { little: false },
            _ => return Err(err!(MeshFormat, "$MeshFormat: the binary byte-order mark is not 1 in either byte order")),
        }
    } else {
        Encoding::Ascii
    };
    expect_end(&mut c, "MeshFormat")?;
    c.binary = binary;

    let mut file = MshFile::default();
    let (mut nodes_seen, mut elements_seen) = (false, false);
    let mut r = Reader { c, enc, size_t };
    loop {
        r.c.skip_space();
        if r.c.eof() {
            break;
        }
        let (start, all) = (r.c.pos, r.c.bytes);
        // Only for errors: counting lines is linear in the position.
        let at = || Cursor { bytes: all, pos: start, binary }.at();
        let token = r.c.token().expect("not at the end");
        let Some(name) = token.strip_prefix(b"$").map(|n| String::from_utf8_lossy(n).into_owned()) else {
            return Err(err!(MeshFormat, "{}: expected a section ($Name), found '{}'", at(), String::from_utf8_lossy(&token[..token.len().min(40)])));
        };
        if name.starts_with("End") {
            return Err(err!(MeshFormat, "{}: ${name} without its opening section", at()));
        }
        match name.as_str() {
            "Nodes" | "Elements" | "NodeData" | "ElementData" => {
                let seen = match name.as_str() {
                    "Nodes" => Some(&mut nodes_seen),
                    "Elements" => Some(&mut elements_seen),
                    _ => None,
                };
                // Gmsh writes the mesh again with each view it appends to a file (PostProcessing.SaveMesh,
                // on by default): a repeated $Nodes/$Elements is read aside and must be the same.
                let repeated = seen.is_some_and(|seen| std::mem::replace(seen, true));
                let mut again = MshFile::default();
                let target = if repeated { &mut again } else { &mut file };
                let result = match (name.as_str(), version) {
                    ("Nodes", Version::V2) => nodes_v2(&mut r, target),
                    ("Nodes", Version::V41) => nodes_v41(&mut r, target),
                    ("Elements", Version::V2) => elements_v2(&mut r, target),
                    ("Elements", Version::V41) => elements_v41(&mut r, target),
                    ("NodeData", _) => data(&mut r, Association::Point).map(|d| target.data.push(d)),
                    _ => data(&mut r, Association::Cell).map(|d| target.data.push(d)),
                };
                result.and_then(|()| expect_end(&mut r.c, &name)).map_err(|e| super::context(e, format!("${name} ({})", at())))?;
                let same = || match name.as_str() {
                    "Nodes" => again.node_tags == file.node_tags && again.points == file.points,
                    _ => again.elements == file.elements,
                };
                if repeated && !same() {
                    return Err(err!(MeshFormat, "{}: a second ${name} section that differs from the first; this reader reads one mesh per file", at())
                        .with_hint("write each mesh to its own file (a .pvd can list them as a series)"));
                }
            }
            _ => {
                // Skip a section we do not read: find its end tag at the start of a line.
                let end = format!("\n$End{name}");
                let rest = &r.c.bytes[r.c.pos..];
                match rest.windows(end.len()).position(|w| w == end.as_bytes()) {
                    Some(i) => r.c.pos += i + end.len(),
                    None => return Err(err!(MeshFormat, "{}: ${name} has no $End{name} (truncated?)", at())),
                }
            }
        }
    }
    if !nodes_seen {
        return Err(err!(MeshFormat, "the file has no $Nodes section"));
    }
    Ok(file)
}

fn expect_end(c: &mut Cursor, name: &str) -> Result<()> {
    c.skip_space();
    let (start, all, binary) = (c.pos, c.bytes, c.binary);
    let at = || Cursor { bytes: all, pos: start, binary }.at();
    match c.token() {
        Some(t) if t == format!("$End{name}").as_bytes() => Ok(()),
        Some(t) => Err(err!(
            MeshFormat,
            "{}: expected $End{name}, found '{}' (a count in the section does not match its content?)",
            at(),
            String::from_utf8_lossy(&t[..t.len().min(40)])
        )),
        None => Err(err!(MeshFormat, "{}: the file ends before $End{name} (truncated?)", at())),
    }
}

/// Format 2: `count`, then `tag x y z` per node (binary: int tag, 3 doubles).
fn nodes_v2(r: &mut Reader, file: &mut MshFile) -> Result<()> {
    let n = r.c.number::<u64>("the number of nodes")?;
    r.start_binary()?;
    let n = r.count(n, 28, "nodes", r.c.pos)?;
    file.points.reserve(n);
    file.node_tags.reserve(n);
    for _ in 0..n {
        let tag = r.unsigned_sized(4, "a node tag")?;
        let p = [r.double("x")?, r.double("y")?, r.double("z")?];
        file.node_tags.push(tag);
        file.points.push(p);
    }
    Ok(())
}

/// Format 4.1: blocks of `tags...` then `x y z [u v w]...`.
fn nodes_v41(r: &mut Reader, file: &mut MshFile) -> Result<()> {
    // Format 4.1 binary: everything after the section's line is binary.
    r.start_binary()?;
    let blocks = r.size_t("the number of entity blocks")?;
    let total = r.size_t("the number of nodes")?;
    let _min_max = (r.size_t("the minimum node tag")?, r.size_t("the maximum node tag")?);
    let start = r.c.pos;
    let total = r.count(total, 8 * 3 + r.size_t, "nodes", start)?;
    r.count(blocks, 12 + r.size_t, "node blocks", start)?;
    file.points.reserve(total);
    file.node_tags.reserve(total);
    for b in 0..blocks {
        let pos = r.c.pos;
        let dim = r.int("the entity dimension")?;
        let _entity = r.int("the entity tag")?;
        let parametric = r.int("the parametric flag")?;
        let n = r.size_t("the number of nodes in the block")?;
        let n = r.count(n, 8 * 3 + r.size_t, "nodes", pos)?;
        if !(0..=3).contains(&dim) || !(0..=1).contains(&parametric) {
            return Err(err!(MeshFormat, "{}: node block {}: entity dimension {dim} / parametric flag {parametric} are invalid", r.at_pos(pos), b + 1));
        }
        for _ in 0..n {
            file.node_tags.push(r.size_t("a node tag")?);
        }
        // Parametric nodes carry `dim` parametric coordinates after x y z; we need only x y z.
        let extra = if parametric == 1 { dim as usize } else { 0 };
        for _ in 0..n {
            file.points.push([r.double("x")?, r.double("y")?, r.double("z")?]);
            for _ in 0..extra {
                r.double("a parametric coordinate")?;
            }
        }
    }
    if file.points.len() != total {
        return Err(err!(MeshFormat, "{}: the blocks hold {} nodes but the section announces {total}", r.at_pos(start), file.points.len()));
    }
    Ok(())
}

/// Format 2. ASCII: `tag type ntags tags... nodes...` per element. Binary: blocks of a header
/// (type, count, ntags) then per element the ints `tag tags... nodes...`.
fn elements_v2(r: &mut Reader, file: &mut MshFile) -> Result<()> {
    let n = r.c.number::<u64>("the number of elements")?;
    r.start_binary()?;
    let n = r.count(n, 8, "elements", r.c.pos)?;
    file.elements.reserve(n);
    let mut read = 0usize;
    while read < n {
        let pos = r.c.pos;
        match r.enc {
            Encoding::Ascii => {
                let tag = r.unsigned_sized(4, "an element tag")?;
                let ty = element_type(r.int("an element type")?).map_err(|e| r.located(e, pos))?;
                let ntags = r.unsigned_sized(4, "the number of element tags")?;
                r.count(ntags, 4, "element tags", pos)?;
                for _ in 0..ntags {
                    r.int("an element tag (physical, entity, partition)")?;
                }
                file.elements.tags.push(tag);
                file.elements.types.push(ty);
                for _ in 0..ty.nodes {
                    file.elements.nodes.push(r.unsigned_sized(4, "a node tag")?);
                }
                read += 1;
            }
            Encoding::Binary { .. } => {
                let ty = r.int("an element type")?;
                let follow = r.unsigned_sized(4, "the number of elements in the block")?;
                let ntags = r.unsigned_sized(4, "the number of element tags")?;
                let ty = element_type(ty).map_err(|e| r.located(e, pos))?;
                if follow == 0 || follow > (n - read) as u64 {
                    return Err(err!(
                        MeshFormat,
                        "{}: a block of {follow} elements, with {} of the {n} announced left (corrupt block header?)",
                        r.at_pos(pos),
                        n - read
                    ));
                }
                let per = 4 * (1 + ntags.min(1 << 20) as usize + ty.nodes);
                let follow = r.count(follow, per, "elements", pos)?;
                for _ in 0..follow {
                    let tag = r.unsigned_sized(4, "an element tag")?;
                    for _ in 0..ntags {
                        r.int("an element tag (physical, entity, partition)")?;
                    }
                    file.elements.tags.push(tag);
                    file.elements.types.push(ty);
                    for _ in 0..ty.nodes {
                        file.elements.nodes.push(r.unsigned_sized(4, "a node tag")?);
                    }
                }
                read += follow;
            }
        }
    }
    Ok(())
}

/// Format 4.1: blocks of (dim, entity, type, count) then `tag nodes...` per element.
fn elements_v41(r: &mut Reader, file: &mut MshFile) -> Result<()> {
    // Format 4.1 binary: everything after the section's line is binary.
    r.start_binary()?;
    let blocks = r.size_t("the number of entity blocks")?;
    let total = r.size_t("the number of elements")?;
    let _min_max = (r.size_t("the minimum element tag")?, r.size_t("the maximum element tag")?);
    let start = r.c.pos;
    let total = r.count(total, 2 * r.size_t, "elements", start)?;
    r.count(blocks, 12 + r.size_t, "element blocks", start)?;
    file.elements.reserve(total);
    for _ in 0..blocks {
        let pos = r.c.pos;
        let _dim = r.int("the entity dimension")?;
        let _entity = r.int("the entity tag")?;
        let ty = r.int("the element type")?;
        let n = r.size_t("the number of elements in the block")?;
        let ty = element_type(ty).map_err(|e| r.located(e, pos))?;
        let n = r.count(n, r.size_t * (1 + ty.nodes), "elements", pos)?;
        for _ in 0..n {
            let tag = r.size_t("an element tag")?;
            file.elements.tags.push(tag);
            file.elements.types.push(ty);
            for _ in 0..ty.nodes {
                file.elements.nodes.push(r.size_t("a node tag")?);
            }
        }
    }
    if file.elements.len() != total {
        return Err(err!(MeshFormat, "{}: the blocks hold {} elements but the section announces {total}", r.at_pos(start), file.elements.len()));
    }
    Ok(())
}

/// `$NodeData` / `$ElementData` (same layout in formats 2 and 4.1): string, real and integer tags in
/// ASCII, then `tag values...` per entity (binary: int tag, doubles).
fn data(r: &mut Reader, association: Association) -> Result<DataSection> {
    const MAX_TAGS: usize = 1 << 16;
    let c = &mut r.c;
    let nstrings: usize = c.number("the number of string tags")?;
    let mut strings = Vec::new();
    for _ in 0..nstrings.min(MAX_TAGS) {
        strings.push(quoted(c)?);
    }
    let nreals: usize = c.number("the number of real tags")?;
    let reals = (0..nreals.min(MAX_TAGS)).map(|_| c.number::<f64>("a real tag")).collect::<Result<Vec<_>>>()?;
    let nints: usize = c.number("the number of integer tags")?;
    let ints = (0..nints.min(MAX_TAGS)).map(|_| c.number::<i64>("an integer tag")).collect::<Result<Vec<_>>>()?;
    if nstrings > MAX_TAGS || nreals > MAX_TAGS || nints > MAX_TAGS {
        return Err(err!(MeshFormat, "implausible numbers of tags ({nstrings} string, {nreals} real, {nints} integer)"));
    }
    let name = strings.into_iter().next().filter(|s| !s.is_empty()).ok_or_else(|| err!(MeshFormat, "the section has no name (its first string tag)"))?;
    let &[step, components, count, ..] = ints.as_slice() else {
        return Err(err!(MeshFormat, "'{name}' has {} integer tags; expected at least 3 (time step, components, count)", ints.len()));
    };
    // Gmsh writes 1, 3 or 9; the bound keeps a corrupt tag from multiplying every field's memory.
    if !(1..=64).contains(&components) {
        return Err(err!(MeshFormat, "'{name}' has {components} components (this reader takes 1 to 64)"));
    }
    let components = components as usize;
    // + 0.0 turns -0 into 0: frames are told apart by exact time.
    let time = reals.first().copied().unwrap_or(step as f64) + 0.0;
    if !time.is_finite() {
        return Err(err!(MeshFormat, "'{name}' has time {time}"));
    }
    let count = u64::try_from(count).map_err(|_| err!(MeshFormat, "'{name}' announces {count} values"))?;
    r.start_binary()?;
    let count = r.count(count, 4 + 8 * components, "values", r.c.pos)?;
    let mut tags = Vec::with_capacity(count);
    let mut values = Vec::with_capacity(count * components);
    let what = if association == Association::Point { "a node tag" } else { "an element tag" };
    for _ in 0..count {
        // Gmsh writes the tag -1 for values on nodes it did not save (format 2 saves only the nodes of
        // saved elements but writes a view's values for all of them): skipped, not an error.
        tags.push(r.int(what)?);
        for _ in 0..components {
            values.push(r.double("a value")?);
        }
    }
    Ok(DataSection { association, name, time, components, tags, values })
}

/// A string tag: `"text"` (quotes may enclose spaces) or a bare token.
fn quoted(c: &mut Cursor) -> Result<String> {
    c.skip_space();
    if c.bytes.get(c.pos) == Some(&b'"') {
        let rest = &c.bytes[c.pos + 1..];
        let end = rest.iter().position(|&b| b == b'"' || b == b'\n').filter(|&i| rest[i] == b'"');
        let Some(end) = end else {
            return Err(err!(MeshFormat, "{}: a string tag without its closing quote", c.at()));
        };
        c.pos += end + 2;
        return Ok(String::from_utf8_lossy(&rest[..end]).into_owned());
    }
    match c.token() {
        Some(t) => Ok(String::from_utf8_lossy(t).into_owned()),
        None => Err(err!(MeshFormat, "{}: the file ends where a string tag was expected (truncated?)", c.at())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SQUARE_22: &str = "$MeshFormat\n2.2 0 8\n$EndMeshFormat\n$Nodes\n5\n\
        10 0 0 0\n20 1 0 0\n30 1 1 0\n40 0 1 0\n50 0.5 0.5 0\n$EndNodes\n\
        $Elements\n5\n1 15 2 0 1 10\n2 1 2 0 1 10 20\n3 2 2 0 1 10 20 50\n4 2 2 0 1 20 30 50\n7 3 2 0 1 10 50 30 40\n$EndElements\n\
        $NodeData\n1\n\"p q\"\n1\n0.5\n3\n0\n1\n2\n50 7.5\n10 -1\n$EndNodeData\n\
        $ElementData\n1\n\"c\"\n1\n0.5\n3\n0\n1\n2\n7 3\n2 99\n$EndElementData\n";

    #[test]
    fn sparse_tags_top_dimension_and_partial_data() {
        let m = read_msh(SQUARE_22.as_bytes()).unwrap();
        assert_eq!(m.points.len(), 5);
        assert_eq!(m.cells.types, vec![5, 5, 9]);
        assert_eq!(m.cells.cell(2), &[0, 4, 2, 3]);
        let p = &m.point_data[0];
        assert_eq!(p.name, "p q");
        assert_eq!(p.values[4], 7.5);
        assert_eq!(p.values[0], -1.0);
        assert!(p.values[1].is_nan());
        // Element 2 is a line (dropped): its value is ignored; element 7 is cell 2.
        assert_eq!(m.cell_data[0].values[2], 3.0);
        assert!(m.cell_data[0].values[0].is_nan());
        m.validate(std::path::Path::new("x")).unwrap();
    }

    // A small mesh in every binary layout, both byte orders: Gmsh writes only the machine's own
    // (little-endian here), so big-endian and 4-byte size_t files are built by hand.
    const NODES: [(u64, [f64; 3]); 4] = [(3, [1.0, 1.0, 0.0]), (1, [0.0, 0.0, 0.0]), (2, [1.0, 0.0, 0.0]), (4, [0.0, 1.0, 0.0])];
    const ELEMS: [(u64, i32, &[u64]); 2] = [(9, 3, &[1, 2, 3, 4]), (5, 2, &[1, 2, 4])];

    fn ascii_reference() -> String {
        let mut t = String::from("$MeshFormat\n2.2 0 8\n$EndMeshFormat\n$Nodes\n4\n");
        for (tag, p) in NODES {
            t += &format!("{tag} {} {} {}\n", p[0], p[1], p[2]);
        }
        t += "$EndNodes\n$Elements\n2\n";
        for (tag, ty, nodes) in ELEMS {
            t += &format!("{tag} {ty} 2 0 1 {}\n", nodes.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(" "));
        }
        t += "$EndElements\n$NodeData\n1\n\"p\"\n1\n0.5\n3\n0\n1\n4\n1 10\n2 20\n3 30\n4 40\n$EndNodeData\n";
        t += "$ElementData\n1\n\"c\"\n1\n0.5\n3\n0\n3\n2\n9 1 2 3\n5 -4 -5 -6\n$EndElementData\n";
        t
    }

    fn binary(version: &str, size_t: usize, little: bool) -> Vec<u8> {
        let int = |o: &mut Vec<u8>, v: i64| o.extend(if little { (v as i32).to_le_bytes() } else { (v as i32).to_be_bytes() });
        let double = |o: &mut Vec<u8>, v: f64| o.extend(if little { v.to_le_bytes() } else { v.to_be_bytes() });
        let size = |o: &mut Vec<u8>, v: u64| {
            let b = if little { v.to_le_bytes().to_vec() } else { v.to_be_bytes().to_vec() };
            o.extend(if little { &b[..size_t] } else { &b[8 - size_t..] });
        };
        let mut o = format!("$MeshFormat\n{version} 1 {}\n", if version == "4.1" { size_t } else { 8 }).into_bytes();
        int(&mut o, 1);
        o.extend(b"\n$EndMeshFormat\n$Nodes\n");
        if version == "4.1" {
            [1, 4, 1, 4].into_iter().for_each(|v| size(&mut o, v));
            [2, 1, 0].into_iter().for_each(|v| int(&mut o, v));
            size(&mut o, 4);
            NODES.into_iter().for_each(|(t, _)| size(&mut o, t));
            NODES.into_iter().flat_map(|(_, p)| p).for_each(|c| double(&mut o, c));
            o.extend(b"\n$EndNodes\n$Elements\n");
            [2, 2, 5, 9].into_iter().for_each(|v| size(&mut o, v));
            for (tag, ty, nodes) in ELEMS {
                [2, 1, ty as i64].into_iter().for_each(|v| int(&mut o, v));
                size(&mut o, 1);
                size(&mut o, tag);
                nodes.iter().for_each(|&n| size(&mut o, n));
            }
        } else {
            o.extend(b"4\n");
            for (tag, p) in NODES {
                int(&mut o, tag as i64);
                p.into_iter().for_each(|c| double(&mut o, c));
            }
            o.extend(b"\n$EndNodes\n$Elements\n2\n");
            for (tag, ty, nodes) in ELEMS {
                [ty as i64, 1, 2, tag as i64, 0, 1].into_iter().for_each(|v| int(&mut o, v));
                nodes.iter().for_each(|&n| int(&mut o, n as i64));
            }
        }
        o.extend(b"\n$EndElements\n$NodeData\n1\n\"p\"\n1\n0.5\n3\n0\n1\n4\n");
        for (tag, v) in [(1, 10.0), (2, 20.0), (3, 30.0), (4, 40.0)] {
            int(&mut o, tag);
            double(&mut o, v);
        }
        o.extend(b"\n$EndNodeData\n$ElementData\n1\n\"c\"\n1\n0.5\n3\n0\n3\n2\n");
        for (tag, v) in [(9, [1.0, 2.0, 3.0]), (5, [-4.0, -5.0, -6.0])] {
            int(&mut o, tag);
            v.into_iter().for_each(|x| double(&mut o, x));
        }
        o.extend(b"\n$EndElementData\n");
        o
    }

    #[test]
    fn binary_layouts_and_byte_orders_read_like_ascii() {
        let reference = read_frames(ascii_reference().as_bytes()).unwrap();
        assert_eq!(reference.len(), 1);
        assert_eq!(reference[0].time, 0.5);
        let m = &reference[0].mesh;
        assert_eq!(m.cells.types, vec![9, 5]);
        assert_eq!(m.cells.cell(0), &[1, 2, 0, 3]);
        assert_eq!(m.point_data[0].values, vec![30.0, 10.0, 20.0, 40.0]);
        assert_eq!(m.cell_data[0].values, vec![1.0, 2.0, 3.0, -4.0, -5.0, -6.0]);
        for (version, size_t) in [("2.2", 8), ("4.1", 8), ("4.1", 4)] {
            for little in [true, false] {
                let got = read_frames(&binary(version, size_t, little)).unwrap_or_else(|e| panic!("{version} {size_t} {little}: {e}"));
                assert_eq!(got[0].mesh, *m, "{version}, size_t {size_t}, little-endian {little}");
            }
        }
    }

    #[test]
    fn a_repeated_mesh_must_be_the_same() {
        let again = SQUARE_22.replace("$NodeData", "$Nodes\n5\n10 0 0 0\n20 1 0 0\n30 1 1 0\n40 0 1 0\n50 0.5 0.5 0\n$EndNodes\n$NodeData");
        // Debug strings: the fields hold NaN, which is not equal to itself.
        assert_eq!(format!("{:?}", read_msh(again.as_bytes()).unwrap()), format!("{:?}", read_msh(SQUARE_22.as_bytes()).unwrap()));
        let moved = again.replace("50 0.5 0.5 0\n$EndNodes\n$NodeData", "50 0.5 0.6 0\n$EndNodes\n$NodeData");
        let e = read_msh(moved.as_bytes()).unwrap_err();
        assert!(e.message().contains("a second $Nodes section that differs from the first"), "{e}");
    }

    #[test]
    fn every_prefix_is_an_error_not_a_panic() {
        for n in 0..SQUARE_22.len() - 1 {
            let _ = read_msh(&SQUARE_22.as_bytes()[..n]);
        }
        assert!(read_msh(&SQUARE_22.as_bytes()[..SQUARE_22.len() - 10]).is_err());
    }
}
