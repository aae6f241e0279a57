//! Writers for files ParaView opens: `.vtu` meshes, `.vti` latent grids and `.pvd` series.
//!
//! Every array is inline base64 (`format="binary"`): a UInt64 little-endian byte count followed by
//! the little-endian data, uncompressed (`header_type="UInt64"`). Not appended raw data, which VTK
//! writes by default: Debian's ParaView 5.11 (VTK 9.2) cannot read it once libexpat has reparse
//! deferral (the fix of CVE-2023-52425, in Debian bookworm's libexpat1 since 2.5.0-1+deb12u2): the
//! parser reports "not well-formed (invalid token)" in the raw bytes. Inline base64 is plain XML
//! text, which every VTK reads (foamToVTK writes it too).

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use base64::Engine;
use quick_xml::escape::escape;

use crate::err;
use crate::error::{Error, Result};
use crate::grid::Grid;
use crate::mesh::{Field, Mesh};

const VTK_VERTEX: u8 = 1;
const VTK_CONVEX_POINT_SET: u8 = 41;
const VTK_POLYHEDRON: u8 = 42;

/// Write `mesh` as an XML UnstructuredGrid. A mesh without cells gets one vertex cell per point so
/// that ParaView shows the points. Polyhedra (type 42) are written as convex point sets (type 41):
/// the mesh keeps no face lists, which ParaView needs for type 42.
pub fn write_vtu(path: &Path, mesh: &Mesh) -> Result<()> {
    mesh.validate(path)?;
    VtuGeometry::new(mesh).write(path, &mesh.point_data, &mesh.cell_data)
}

/// A mesh's points and cells, encoded once: a time series on one mesh repeats them in every file,
/// where they are most of the bytes.
pub struct VtuGeometry {
    points: usize,
    cells: usize,
    has_cells: bool,
    /// The `<Points>` and `<Cells>` elements with their data.
    xml: String,
}

impl VtuGeometry {
    /// Encode the geometry of `mesh` (assumed valid: see [`Mesh::validate`]).
    pub fn new(mesh: &Mesh) -> VtuGeometry {
        let n = mesh.points.len();
        let (connectivity, ends, types): (Vec<i64>, Vec<i64>, Vec<u8>) = if mesh.cells.is_empty() {
            ((0..n as i64).collect(), (1..=n as i64).collect(), vec![VTK_VERTEX; n])
        } else {
            let c = &mesh.cells;
            let types = c.types.iter().map(|&t| if t == VTK_POLYHEDRON { VTK_CONVEX_POINT_SET } else { t }).collect();
            (c.connectivity.iter().map(|&p| p as i64).collect(), c.offsets[1..].iter().map(|&o| o as i64).collect(), types)
        };
        let mut xml = String::from("      <Points>\n");
        data_array(&mut xml, "Float64", "Points", 3, &le_bytes(mesh.points.iter().flatten(), |v: &f64| v.to_le_bytes()));
        xml.push_str("      </Points>\n      <Cells>\n");
        data_array(&mut xml, "Int64", "connectivity", 1, &le_bytes(&connectivity, |v: &i64| v.to_le_bytes()));
        data_array(&mut xml, "Int64", "offsets", 1, &le_bytes(&ends, |v: &i64| v.to_le_bytes()));
        data_array(&mut xml, "UInt8", "types", 1, &types);
        xml.push_str("      </Cells>\n");
        VtuGeometry { points: n, cells: types.len(), has_cells: !mesh.cells.is_empty(), xml }
    }

    /// Write this geometry with the given fields.
    pub fn write(&self, path: &Path, point_data: &[Field], cell_data: &[Field]) -> Result<()> {
        if !self.has_cells && !cell_data.is_empty() {
            return Err(err!(FieldShape, "cannot write '{}': the mesh has cell data but no cells", path.display()));
        }
        for (fields, count, what) in [(point_data, self.points, "points"), (cell_data, self.cells, "cells")] {
            if let Some(f) = fields.iter().find(|f| f.components == 0 || f.values.len() != count * f.components) {
                return Err(err!(
                    FieldShape,
                    "cannot write '{}': field '{}' has {} values for {count} {what} x {} components",
                    path.display(),
                    f.name,
                    f.values.len(),
                    f.components
                ));
            }
        }
        let mut xml = header("UnstructuredGrid");
        let _ = writeln!(xml, "  <UnstructuredGrid>\n    <Piece NumberOfPoints=\"{}\" NumberOfCells=\"{}\">", self.points, self.cells);
        data_section(&mut xml, "PointData", point_data);
        data_section(&mut xml, "CellData", cell_data);
        let tail = "    </Piece>\n  </UnstructuredGrid>\n</VTKFile>\n";
        let write = || -> std::io::Result<()> {
            let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
            for part in [xml.as_str(), &self.xml, tail] {
                file.write_all(part.as_bytes())?;
            }
            file.flush()
        };
        write().map_err(|e| Error::io("write", path, e))
    }
}

/// Write point data on the nodes of `grid` (x fastest) as XML ImageData. Periodic axes are written
/// as they are stored: n nodes with the periodic spacing.
pub fn write_vti(path: &Path, grid: &Grid, fields: &[Field]) -> Result<()> {
    for f in fields {
        if f.components == 0 || f.values.len() != grid.len() * f.components {
            return Err(err!(
                FieldShape,
                "cannot write '{}': field '{}' has {} values, the grid has {} nodes x {} components",
                path.display(),
                f.name,
                f.values.len(),
                grid.len(),
                f.components
            ));
        }
    }
    let axes = 0..3;
    let extent: Vec<String> = axes.clone().map(|a| format!("0 {}", grid.shape[a] - 1)).collect();
    let origin: Vec<String> = axes.clone().map(|a| format!("{:?}", grid.lo[a])).collect();
    // Unused axes (z in 2D) have one node; any positive spacing does.
    let spacing: Vec<String> = axes.map(|a| format!("{:?}", if a < grid.dim { grid.spacing(a) } else { 1.0 })).collect();
    let (extent, origin, spacing) = (extent.join(" "), origin.join(" "), spacing.join(" "));
    let mut xml = header("ImageData");
    let _ = writeln!(xml, "  <ImageData WholeExtent=\"{extent}\" Origin=\"{origin}\" Spacing=\"{spacing}\">\n    <Piece Extent=\"{extent}\">");
    data_section(&mut xml, "PointData", fields);
    xml.push_str("    </Piece>\n  </ImageData>\n</VTKFile>\n");
    save(path, &xml)
}

/// Write a ParaView collection: one DataSet per (time, file name relative to the .pvd).
pub fn write_pvd(path: &Path, entries: &[(f64, String)]) -> Result<()> {
    let mut xml = String::from("<?xml version=\"1.0\"?>\n<VTKFile type=\"Collection\" version=\"0.1\" byte_order=\"LittleEndian\">\n  <Collection>\n");
    for (time, file) in entries {
        if !time.is_finite() {
            return Err(err!(Usage, "cannot write '{}': time {time} of '{file}' is not finite", path.display()));
        }
        // `{:?}` is the shortest representation that reads back to the same f64.
        let _ = writeln!(xml, "    <DataSet timestep=\"{time:?}\" group=\"\" part=\"0\" file=\"{}\"/>", escape(file.as_str()));
    }
    xml.push_str("  </Collection>\n</VTKFile>\n");
    save(path, &xml)
}

fn header(kind: &str) -> String {
    format!("<?xml version=\"1.0\"?>\n<VTKFile type=\"{kind}\" version=\"1.0\" byte_order=\"LittleEndian\" header_type=\"UInt64\">\n")
}

fn data_section(xml: &mut String, section: &str, fields: &[Field]) {
    let _ = writeln!(xml, "      <{section}>");
    for f in fields {
        let bytes = le_bytes(&f.values, |v: &f64| (*v as f32).to_le_bytes());
        data_array(xml, "Float32", &f.name, f.components, &bytes);
    }
    let _ = writeln!(xml, "      </{section}>");
}

fn data_array(xml: &mut String, ty: &str, name: &str, components: usize, data: &[u8]) {
    let mut block = (data.len() as u64).to_le_bytes().to_vec();
    block.extend_from_slice(data);
    let _ = writeln!(xml, "        <DataArray type=\"{ty}\" Name=\"{}\" NumberOfComponents=\"{components}\" format=\"binary\">", escape(name));
    base64::engine::general_purpose::STANDARD.encode_string(&block, xml);
    xml.push_str("\n        </DataArray>\n");
}

fn le_bytes<'a, T: 'a, const N: usize>(values: impl IntoIterator<Item = &'a T>, f: impl Fn(&T) -> [u8; N]) -> Vec<u8> {
    values.into_iter().flat_map(f).collect()
}

fn save(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(|e| Error::io("write", path, e))
}
