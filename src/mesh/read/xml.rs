//! VTK XML files (`.vtu`, `.vtp`, `.vti`, and the `.pvd` collection) with our own reader: vtkio cannot
//! read `<AppendedData encoding="raw">`, which is what VTK and ParaView write by default.

use quick_xml::events::{BytesStart, Event};

use super::array::{self, Appended, Encoding, Expect};
use super::{context, image_mesh, join_pieces};
use crate::err;
use crate::error::{ErrorKind, Result};
use crate::mesh::{Cells, Field, Mesh};

/// An XML element with its attributes, child elements and text.
#[derive(Debug, Default)]
pub struct Elem {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub children: Vec<Elem>,
    pub text: String,
}

impl Elem {
    pub fn attr(&self, key: &str) -> Option<&str> {
        self.attrs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    pub fn child(&self, name: &str) -> Option<&Elem> {
        self.children.iter().find(|c| c.name == name)
    }

    pub fn children<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Elem> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// A required numeric attribute.
    fn num<T: std::str::FromStr>(&self, key: &str) -> Result<T> {
        let v = self.attr(key).ok_or_else(|| err!(MeshFormat, "<{}> has no {key} attribute", self.name))?;
        v.trim().parse().map_err(|_| err!(MeshFormat, "<{}> has {key}=\"{v}\", not a valid number", self.name))
    }

    /// An optional attribute holding `N` numbers separated by spaces.
    fn nums<T: std::str::FromStr + Copy, const N: usize>(&self, key: &str, default: [T; N]) -> Result<[T; N]> {
        let Some(v) = self.attr(key) else { return Ok(default) };
        let parsed: Vec<T> = v.split_ascii_whitespace().map(|t| t.parse().ok()).collect::<Option<_>>().unwrap_or_default();
        parsed.try_into().map_err(|_| err!(MeshFormat, "<{}> has {key}=\"{v}\", expected {N} numbers", self.name))
    }
}

/// The deepest element nesting [`parse_tree`] accepts.
const MAX_DEPTH: usize = 256;

/// Parse an XML document into its root element.
pub fn parse_tree(xml: &[u8]) -> Result<Elem> {
    let malformed = |m: String| err!(MeshFormat, "malformed XML: {m}");
    let mut reader = quick_xml::Reader::from_reader(xml);
    let mut stack = vec![Elem::default()];
    let mut buf = Vec::new();
    loop {
        let pos = reader.buffer_position();
        let event = reader.read_event_into(&mut buf).map_err(|e| malformed(format!("{e} (near byte {pos})")))?;
        match event {
            // The tree is dropped recursively: unbounded nesting from a hostile file would overflow the
            // stack. VTK files nest about 6 deep.
            Event::Start(_) if stack.len() > MAX_DEPTH => return Err(malformed(format!("elements are nested more than {MAX_DEPTH} deep"))),
            Event::Start(s) => stack.push(start_elem(&s).map_err(malformed)?),
            Event::Empty(s) => push_child(&mut stack, start_elem(&s).map_err(malformed)?),
            Event::End(_) => {
                let done = stack.pop().filter(|_| !stack.is_empty()).ok_or_else(|| malformed("unbalanced end tag".into()))?;
                push_child(&mut stack, done);
            }
            Event::Text(t) => {
                let t = t.unescape().map_err(|e| malformed(e.to_string()))?;
                stack.last_mut().expect("stack holds the document").text.push_str(&t);
            }
            Event::CData(t) => {
                let t = String::from_utf8_lossy(&t).into_owned();
                stack.last_mut().expect("stack holds the document").text.push_str(&t);
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    if stack.len() > 1 {
        return Err(malformed(format!("the file ends inside <{}>", stack.last().map_or("", |e| &e.name))));
    }
    stack.pop().and_then(|doc| doc.children.into_iter().next()).ok_or_else(|| malformed("no root element".into()))
}

fn start_elem(s: &BytesStart) -> std::result::Result<Elem, String> {
    let name = String::from_utf8_lossy(s.name().as_ref()).into_owned();
    let attrs = s
        .attributes()
        .map(|a| {
            let a = a.map_err(|e| e.to_string())?;
            let value = a.unescape_value().map_err(|e| e.to_string())?;
            Ok((String::from_utf8_lossy(a.key.as_ref()).into_owned(), value.into_owned()))
        })
        .collect::<std::result::Result<_, String>>()?;
    Ok(Elem { name, attrs, ..Elem::default() })
}

fn push_child(stack: &mut [Elem], child: Elem) {
    stack.last_mut().expect("stack holds the document").children.push(child);
}

/// Split the file into the XML head and the appended data. The raw appended section may hold any
/// bytes (`<`, invalid UTF-8), so it never goes through the XML parser: the head ends with the
/// `<AppendedData>` start tag, which we close ourselves.
fn split_appended(bytes: &[u8]) -> Result<(Vec<u8>, Appended<'_>)> {
    let Some(start) = find(bytes, b"<AppendedData") else { return Ok((bytes.to_vec(), Appended::None)) };
    let tag_end = start + find(&bytes[start..], b">").ok_or_else(|| err!(MeshFormat, "malformed XML: unterminated <AppendedData> tag"))?;
    let marker = tag_end + find(&bytes[tag_end..], b"_").ok_or_else(|| err!(MeshFormat, "<AppendedData> has no '_' marker before its data"))?;
    let mut head = bytes[..=tag_end].to_vec();
    let tag = parse_tree(&[&head[start..], b"</AppendedData>".as_slice()].concat())?;
    head.extend_from_slice(b"</AppendedData></VTKFile>");
    let data = &bytes[marker + 1..];
    let appended = match tag.attr("encoding").unwrap_or("raw") {
        "raw" => Appended::Raw(data),
        "base64" => Appended::Base64(data),
        other => return Err(err!(MeshFormat, "unknown <AppendedData> encoding '{other}' (expected raw or base64)")),
    };
    Ok((head, appended))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Read a serial VTK XML dataset (UnstructuredGrid, PolyData or ImageData).
pub fn read(bytes: &[u8]) -> Result<Mesh> {
    let (head, appended) = split_appended(bytes)?;
    let root = parse_tree(&head)?;
    if root.name != "VTKFile" {
        return Err(err!(MeshFormat, "the root element is <{}>, expected <VTKFile>", root.name));
    }
    let reader = Reader { enc: Encoding::of(&root)?, appended };
    let kind = root.attr("type").unwrap_or("");
    let dataset = root.child(kind).ok_or_else(|| err!(MeshFormat, "<VTKFile type=\"{kind}\"> has no <{kind}> element"))?;
    let pieces: Vec<Mesh> = dataset
        .children("Piece")
        .enumerate()
        .map(|(i, piece)| reader.piece(kind, dataset, piece).map_err(|e| context(e, format!("<Piece> {i}"))))
        .collect::<Result<_>>()?;
    if pieces.is_empty() {
        return Err(err!(MeshFormat, "<{kind}> has no <Piece>"));
    }
    join_pieces(pieces)
}

struct Reader<'a> {
    enc: Encoding,
    appended: Appended<'a>,
}

impl Reader<'_> {
    fn piece(&self, kind: &str, dataset: &Elem, piece: &Elem) -> Result<Mesh> {
        let mut mesh = match kind {
            "UnstructuredGrid" => Mesh { points: self.points(piece)?, cells: self.unstructured_cells(piece)?, ..Mesh::default() },
            "PolyData" => Mesh { points: self.points(piece)?, cells: self.poly_cells(piece)?, ..Mesh::default() },
            "ImageData" => {
                // The geometry is implicit: only the extent says how large it is. Decode the arrays
                // first (their sizes are checked against the file), then build the points.
                let image = Image::of(dataset, piece)?;
                let (points, cells) = image.counts()?;
                let point_data = self.fields(piece.child("PointData"), points)?;
                let cell_data = self.fields(piece.child("CellData"), cells)?;
                // With arrays the file's data bounds the size; without them only this cap does.
                if point_data.is_empty() && cell_data.is_empty() && points > MAX_BARE_IMAGE_POINTS {
                    return Err(err!(
                        MeshFormat,
                        "the image extent {:?} has {points} points but no point or cell arrays; at most {MAX_BARE_IMAGE_POINTS} points are read without data to back them",
                        image.extent
                    )
                    .with_hint("add a point or cell array to the image, or write the grid as .vtu"));
                }
                return Ok(Mesh { point_data, cell_data, ..image.mesh()? });
            }
            other => return Err(err!(MeshFormat, "dataset type '{other}' is not supported").with_hint("convert the file to .vtu, .vtp or .vti")),
        };
        mesh.point_data = self.fields(piece.child("PointData"), mesh.points.len())?;
        mesh.cell_data = self.fields(piece.child("CellData"), mesh.cells.len())?;
        Ok(mesh)
    }

    /// Decode `el`, checking it holds `tuples` tuples; returns (components, values).
    fn array(&self, el: &Elem, tuples: usize, kind: ErrorKind, default_components: usize) -> Result<(usize, Vec<f64>)> {
        let name = el.attr("Name").unwrap_or("(unnamed)");
        let in_array = |e| context(e, format!("DataArray '{name}'"));
        let components: usize = el.attr("NumberOfComponents").map_or(Ok(default_components), |_| el.num("NumberOfComponents")).map_err(in_array)?;
        // The counts bound what the decoder may allocate; it returns exactly tuples x components values.
        let values = array::values(el, self.enc, self.appended, Expect { tuples, components, kind }).map_err(in_array)?;
        Ok((components, values))
    }

    fn points(&self, piece: &Elem) -> Result<Vec<[f64; 3]>> {
        let n: usize = piece.num("NumberOfPoints")?;
        let el = piece.child("Points").and_then(|p| p.child("DataArray"));
        let el = el.ok_or_else(|| err!(MeshFormat, "<Piece> has no <Points> DataArray"))?;
        let (components, values) = self.array(el, n, ErrorKind::MeshFormat, 3)?;
        if components != 3 {
            return Err(err!(MeshFormat, "<Points> has {components} components, expected 3"));
        }
        Ok(values.chunks_exact(3).map(|c| [c[0], c[1], c[2]]).collect())
    }

    /// An integer array (`connectivity`, `offsets`, `types`) of a topology section.
    fn ids(&self, section: &Elem, name: &str, count: usize) -> Result<Vec<usize>> {
        let el = section.children("DataArray").find(|a| a.attr("Name") == Some(name));
        let el = el.ok_or_else(|| err!(MeshFormat, "<{}> has no '{name}' DataArray", section.name))?;
        let (_, values) = self.array(el, count, ErrorKind::MeshFormat, 1)?;
        values.into_iter().map(|v| as_index(v).ok_or_else(|| err!(MeshFormat, "DataArray '{name}' holds {v}, not a valid index"))).collect()
    }

    /// Connectivity and offsets (with the leading 0 that VTK XML omits) of `count` cells.
    fn topology(&self, section: &Elem, count: usize) -> Result<(Vec<usize>, Vec<usize>)> {
        let ends = self.ids(section, "offsets", count)?;
        let connectivity = self.ids(section, "connectivity", ends.last().copied().unwrap_or(0))?;
        Ok((connectivity, std::iter::once(0).chain(ends).collect()))
    }

    fn unstructured_cells(&self, piece: &Elem) -> Result<Cells> {
        let n: usize = piece.num("NumberOfCells")?;
        if n == 0 {
            return Ok(Cells::default());
        }
        let section = piece.child("Cells").ok_or_else(|| err!(MeshFormat, "<Piece> has {n} cells but no <Cells>"))?;
        let (connectivity, offsets) = self.topology(section, n)?;
        let types = self.ids(section, "types", n)?;
        let types = types.into_iter().map(|t| u8::try_from(t).map_err(|_| err!(MeshFormat, "cell type {t} is not a VTK cell type"))).collect::<Result<_>>()?;
        Ok(Cells { connectivity, offsets, types })
    }

    /// PolyData cells in VTK's order (verts, lines, polys, strips), which is the order of its cell data.
    fn poly_cells(&self, piece: &Elem) -> Result<Cells> {
        let mut cells = Cells::default();
        for (section, count_attr) in [("Verts", "NumberOfVerts"), ("Lines", "NumberOfLines"), ("Polys", "NumberOfPolys"), ("Strips", "NumberOfStrips")] {
            let count: usize = if piece.attr(count_attr).is_some() { piece.num(count_attr)? } else { 0 };
            let Some(el) = piece.child(section).filter(|_| count > 0) else { continue };
            let (connectivity, offsets) = self.topology(el, count)?;
            super::append_poly_cells(&mut cells, section, &connectivity, &offsets)?;
        }
        Ok(cells)
    }

    fn fields(&self, section: Option<&Elem>, tuples: usize) -> Result<Vec<Field>> {
        let Some(section) = section else { return Ok(Vec::new()) };
        section
            .children("DataArray")
            .filter(|el| array::is_numeric(el))
            .enumerate()
            .map(|(i, el)| {
                let (components, values) = self.array(el, tuples, ErrorKind::FieldShape, 1)?;
                let name = el.attr("Name").map_or_else(|| format!("array{i}"), str::to_string);
                Ok(Field { name, components, values })
            })
            .collect()
    }
}

fn as_index(v: f64) -> Option<usize> {
    (v >= 0.0 && v.fract() == 0.0 && v < usize::MAX as f64).then_some(v as usize)
}

/// The most points of an ImageData piece without arrays (about 0.8 GB once explicit): with arrays
/// the file's data bounds the size, without them only this does.
const MAX_BARE_IMAGE_POINTS: usize = 1 << 23;

/// The geometry of an ImageData piece.
struct Image {
    extent: [i64; 6],
    origin: [f64; 3],
    spacing: [f64; 3],
    direction: [[f64; 3]; 3],
}

impl Image {
    fn of(dataset: &Elem, piece: &Elem) -> Result<Image> {
        let whole: [i64; 6] = dataset.nums("WholeExtent", [0; 6])?;
        let extent = piece.nums("Extent", whole)?;
        let origin = dataset.nums("Origin", [0.0; 3])?;
        let spacing = dataset.nums("Spacing", [1.0; 3])?;
        let d = dataset.nums("Direction", [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0])?;
        Ok(Image { extent, origin, spacing, direction: [[d[0], d[1], d[2]], [d[3], d[4], d[5]], [d[6], d[7], d[8]]] })
    }

    /// (points, cells) of the piece, without building them.
    fn counts(&self) -> Result<(usize, usize)> {
        super::image_counts(self.extent)
    }

    fn mesh(&self) -> Result<Mesh> {
        image_mesh(self.extent, self.origin, self.spacing, self.direction)
    }
}

/// Entries of a `.pvd` collection: (time, part, file).
pub fn pvd_entries(bytes: &[u8]) -> Result<Vec<(f64, String, String)>> {
    let root = parse_tree(bytes)?;
    let collection =
        root.child("Collection").filter(|_| root.name == "VTKFile").ok_or_else(|| err!(MeshFormat, "not a ParaView collection: no <VTKFile><Collection>"))?;
    collection
        .children("DataSet")
        .map(|ds| {
            let time: f64 = if ds.attr("timestep").is_some() { ds.num("timestep")? } else { 0.0 };
            let file = ds.attr("file").ok_or_else(|| err!(MeshFormat, "a <DataSet> has no file attribute"))?;
            if !time.is_finite() {
                return Err(err!(MeshFormat, "<DataSet file=\"{file}\"> has timestep {time}"));
            }
            Ok((time, ds.attr("part").unwrap_or("0").to_string(), file.to_string()))
        })
        .collect()
}
