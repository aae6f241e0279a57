//! Reading meshes and time series: legacy `.vtk` (our own parser, see [`legacy`]), VTK XML `.vtu`/`.vtp`/`.vti` (our own
//! reader, see [`xml`]), Gmsh `.msh` (see [`gmsh`]) and ParaView `.pvd` collections. What foamToVTK
//! writes around its datasets is read too (see [`multiblock`]): VTK XML multiblock `.vtm` (one of its
//! datasets) and ParaView's JSON `.series` indexes.

mod array;
pub mod gmsh;
mod legacy;
mod multiblock;
mod xml;

use std::path::{Path, PathBuf};

use crate::err;
use crate::error::{Error, ErrorKind, Result};
use crate::mesh::{Cells, Field, Frame, Mesh};

const SUPPORTED: &str =
    "supported mesh files: .vtk (legacy), .vtu, .vtp, .vti, .vtm (multiblock), .msh (Gmsh 2.2/4.1); series: .pvd, .series, .msh with data at several times";
const CORRUPT_HINT: &str = "the file is corrupt or truncated; re-export it";

/// What a file holds, as its extension says: [`from_bytes`] takes it for bytes that have no name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Legacy `.vtk`.
    Legacy,
    /// VTK XML `.vtu`, `.vtp` or `.vti`.
    Xml,
    /// Gmsh `.msh` (its first time step).
    Gmsh,
    /// VTK XML multiblock `.vtm`: lists other files, so only [`read_mesh`] reads it.
    Multiblock,
    /// ParaView `.pvd` collection.
    Series,
    /// ParaView's JSON `.series` index.
    FileSeries,
}

fn format_of(path: &Path) -> Result<Format> {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    match ext.as_str() {
        "vtk" => Ok(Format::Legacy),
        "vtu" | "vtp" | "vti" => Ok(Format::Xml),
        "pvd" => Ok(Format::Series),
        "msh" => Ok(Format::Gmsh),
        "vtm" => Ok(Format::Multiblock),
        // ParaView's JSON index, named after what it lists: `case.vtm.series`, `foo.vtu.series`.
        "series" => Ok(Format::FileSeries),
        _ => Err(err!(MeshFormat, "'{}': unknown mesh file extension '{ext}'", path.display()).with_hint(SUPPORTED)),
    }
}

fn read_bytes(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::io("read", path, e))
}

/// Read one mesh (`.vtk`, `.vtu`, `.vtp`, `.vti`, `.msh`: its first time step, or a `.vtm`'s dataset).
/// NaN in field values is kept; NaN/Inf in point coordinates is an error.
pub fn read_mesh(path: &Path) -> Result<Mesh> {
    let format = format_of(path)?;
    match format {
        Format::Multiblock => multiblock::read_vtm(path),
        Format::Series | Format::FileSeries => {
            Err(err!(MeshFormat, "'{}' is a time series, not a single mesh", path.display()).with_hint("read it as a series (each frame is a mesh)"))
        }
        _ => checked(&read_bytes(path)?, format, path),
    }
}

/// Read one mesh from bytes in memory, with every check [`read_mesh`] makes; errors name the source
/// `<memory>`. The entry point for callers without a file, and for the fuzz targets (`fuzz/`). A
/// `.vtm` and the series indexes list other files, so they are refused here.
pub fn from_bytes(bytes: &[u8], format: Format) -> Result<Mesh> {
    match format {
        Format::Multiblock => Err(err!(MeshFormat, "a multiblock file lists other files; it cannot be read from memory").with_hint("read it with read_mesh")),
        Format::Series | Format::FileSeries => Err(err!(MeshFormat, "a time series is not a single mesh").with_hint("read it with series_from_bytes")),
        _ => checked(bytes, format, Path::new("<memory>")),
    }
}

/// Parse and check one mesh (legacy, XML or Gmsh); `path` only names the source in errors.
fn checked(bytes: &[u8], format: Format, path: &Path) -> Result<Mesh> {
    let parse = match format {
        Format::Legacy => legacy::read,
        Format::Gmsh => gmsh::read_msh,
        _ => xml::read,
    };
    let mesh = parse(bytes).map_err(|e| in_file(e, path))?;
    if let Some((i, p)) = mesh.points.iter().enumerate().find(|(_, p)| !p.iter().all(|c| c.is_finite())) {
        return Err(err!(NonFinite, "'{}': point {i} has a non-finite coordinate ({}, {}, {})", path.display(), p[0], p[1], p[2])
            .with_hint("fix or remove the point in the mesh"));
    }
    mesh.validate(path)?;
    Ok(mesh)
}

/// Read a time series: the frames of a `.pvd` collection or a `.series` index sorted by time, the time
/// steps of a `.msh` file's data (see [`gmsh`]), or any other mesh file as one frame at time 0.
/// A sparse input (an OpenFOAM case directory with probes output, a `.csv` of points and values) is
/// read by [`super::probes`].
pub fn read_series(path: &Path) -> Result<Vec<Frame>> {
    if super::probes::is_sparse(path) {
        return super::probes::read(path);
    }
    match format_of(path)? {
        Format::Series => {}
        Format::FileSeries => return multiblock::read_file_series(path),
        Format::Gmsh => {
            let frames = gmsh::read_frames(&read_bytes(path)?).map_err(|e| in_file(e, path))?;
            // gmsh::read_frames checks the coordinates are finite, as read_mesh does.
            for frame in &frames {
                frame.mesh.validate(path)?;
            }
            return Ok(frames);
        }
        _ => return Ok(vec![Frame { time: 0.0, mesh: read_mesh(path)? }]),
    }
    let entries = series_entries(&read_bytes(path)?, path)?;
    let dir = path.parent().unwrap_or(Path::new(""));
    entries
        .into_iter()
        .map(|(time, file)| {
            let in_series = |e| context(e, format!("'{}' (time {time})", path.display()));
            let mesh = read_mesh(&confined(dir, &file, path).map_err(in_series)?).map_err(in_series)?;
            Ok(Frame { time, mesh })
        })
        .collect()
}

/// The (time, file) entries of a `.pvd` collection in memory, sorted by time and checked as
/// [`read_series`] checks them before it reads the frames; errors name the source `<memory>`.
pub fn series_from_bytes(bytes: &[u8]) -> Result<Vec<(f64, String)>> {
    series_entries(bytes, Path::new("<memory>"))
}

/// The (time, file) entries of a `.series` index in memory, sorted by time and checked as
/// [`read_series`] checks them before it reads the files; errors name the source `<memory>`.
pub fn file_series_from_bytes(bytes: &[u8]) -> Result<Vec<(f64, String)>> {
    multiblock::file_series(bytes, Path::new("<memory>"))
}

/// The files of the dataset a `.vtm` in memory selects, checked as [`read_mesh`] checks the `.vtm`
/// before it reads them; errors name the source `<memory>`.
pub fn multiblock_from_bytes(bytes: &[u8]) -> Result<Vec<String>> {
    multiblock::vtm_files(bytes, Path::new("<memory>"))
}

/// Parse and check a collection; `path` only names the source in errors.
fn series_entries(bytes: &[u8], path: &Path) -> Result<Vec<(f64, String)>> {
    let mut entries = xml::pvd_entries(bytes).map_err(|e| in_file(e, path))?;
    if entries.is_empty() {
        return Err(err!(MeshFormat, "'{}' has no <DataSet> entries", path.display()));
    }
    entries.sort_by(|a, b| a.0.total_cmp(&b.0));
    if let Some(w) = entries.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(err!(
            MeshFormat,
            "'{}' has several DataSets at time {} (parts '{}' and '{}', files '{}' and '{}')",
            path.display(),
            w[0].0,
            w[0].1,
            w[1].1,
            w[0].2,
            w[1].2
        )
        .with_hint("multi-part collections are not supported; merge the parts into one file per time step"));
    }
    Ok(entries.into_iter().map(|(time, _, file)| (time, file)).collect())
}

/// `dir/name`, a file that an index (`.pvd`, `.vtm`, `.series`) in `dir` lists, which must exist and,
/// symbolic links and `..` resolved, stay inside `dir`: a series is one folder that can be moved or
/// shared, and an index must not make the tool read (and echo parts of, in messages) arbitrary files.
/// ParaView writes its series this way (5.11: `name.pvd` next to `name/name_0_N.vtu`), foamToVTK too.
pub(crate) fn confined(dir: &Path, name: &str, index: &Path) -> Result<PathBuf> {
    let path = dir.join(name);
    let real = path.canonicalize().map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => {
            let looked = if path == Path::new(name) { String::new() } else { format!(" ('{}')", path.display()) };
            err!(MeshFormat, "lists '{name}', which does not exist{looked}")
                .with_hint("keep the index next to the files and folders it lists, as the exporter wrote them")
        }
        _ => Error::io("open", &path, e),
    })?;
    let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
    let root = dir.canonicalize().map_err(|e| Error::io("open", dir, e))?;
    if !real.starts_with(&root) {
        return Err(err!(MeshFormat, "lists '{name}', which is outside the folder of '{}' ('{}')", index.display(), real.display())
            .with_hint("an index may only list files in its own folder or below it; move the files there"));
    }
    Ok(path)
}

/// Prefix an error's message, keeping its kind and hint.
fn context(e: Error, prefix: impl std::fmt::Display) -> Error {
    e.context(prefix)
}

/// Name the file in a format reader's error and give corrupt-file errors a hint.
fn in_file(e: Error, path: &Path) -> Error {
    let needs_hint = e.hint().is_none() && matches!(e.kind(), ErrorKind::MeshFormat | ErrorKind::FieldShape);
    let e = context(e, format!("'{}'", path.display()));
    if needs_hint {
        e.with_hint(CORRUPT_HINT)
    } else {
        e
    }
}

/// Concatenate the pieces of a dataset (point ids offset; fields matched by name).
fn join_pieces(pieces: Vec<Mesh>) -> Result<Mesh> {
    let mut pieces = pieces.into_iter();
    let mut mesh = pieces.next().unwrap_or_default();
    for (i, piece) in pieces.enumerate() {
        let shift = mesh.points.len();
        // Point ids come from the file: one near usize::MAX overflows when shifted.
        let conn: Vec<usize> = piece
            .cells
            .connectivity
            .iter()
            .map(|&p| p.checked_add(shift))
            .collect::<Option<_>>()
            .ok_or_else(|| err!(MeshFormat, "<Piece> {}: a cell refers to a point id too large to exist", i + 1))?;
        append_cells(&mut mesh.cells, &conn, &piece.cells.offsets, &piece.cells.types)?;
        mesh.points.extend(piece.points);
        join_fields(&mut mesh.point_data, piece.point_data).map_err(|e| context(e, format!("<Piece> {}: PointData", i + 1)))?;
        join_fields(&mut mesh.cell_data, piece.cell_data).map_err(|e| context(e, format!("<Piece> {}: CellData", i + 1)))?;
    }
    Ok(mesh)
}

fn join_fields(fields: &mut [Field], more: Vec<Field>) -> Result<()> {
    let names = |f: &[Field]| f.iter().map(|f| f.name.clone()).collect::<Vec<_>>();
    if fields.len() != more.len() {
        return Err(err!(MeshFormat, "arrays {:?} differ from the first piece's {:?}", names(&more), names(fields)));
    }
    for f in fields.iter_mut() {
        let m = more.iter().find(|m| m.name == f.name && m.components == f.components);
        let m = m.ok_or_else(|| err!(MeshFormat, "array '{}' ({} components) is missing", f.name, f.components))?;
        f.values.extend_from_slice(&m.values);
    }
    Ok(())
}

/// Append cells given as connectivity + offsets (with leading 0) + types.
fn append_cells(cells: &mut Cells, connectivity: &[usize], offsets: &[usize], types: &[u8]) -> Result<()> {
    if types.is_empty() {
        return Ok(());
    }
    if offsets.len() != types.len() + 1 || offsets.last() != Some(&connectivity.len()) {
        return Err(err!(
            MeshFormat,
            "{} cells have {} offsets ending at {:?} for {} connectivity entries",
            types.len(),
            offsets.len(),
            offsets.last(),
            connectivity.len()
        ));
    }
    let base = cells.connectivity.len();
    if cells.offsets.is_empty() {
        cells.offsets.push(0);
    }
    // Offsets come from the file and are checked for order only later (Mesh::validate): shifting a huge
    // one must fail, not overflow.
    let shifted: Vec<usize> = offsets[1..]
        .iter()
        .map(|&o| o.checked_add(base))
        .collect::<Option<_>>()
        .ok_or_else(|| err!(MeshFormat, "a cell offset is too large for {} connectivity entries", connectivity.len()))?;
    cells.offsets.extend(shifted);
    cells.connectivity.extend_from_slice(connectivity);
    cells.types.extend_from_slice(types);
    Ok(())
}

/// Append one PolyData section (`Verts`, `Lines`, `Polys`, `Strips`) with the VTK cell type each
/// cell has in an unstructured grid.
fn append_poly_cells(cells: &mut Cells, section: &str, connectivity: &[usize], offsets: &[usize]) -> Result<()> {
    let types: Vec<u8> = offsets
        .windows(2)
        .map(|w| match (section, w[1].saturating_sub(w[0])) {
            ("Verts", 1) => 1,
            ("Verts", _) => 2,
            ("Lines", 2) => 3,
            ("Lines", _) => 4,
            ("Polys", 3) => 5,
            ("Polys", 4) => 9,
            ("Polys", _) => 7,
            _ => 6,
        })
        .collect();
    append_cells(cells, connectivity, offsets, &types).map_err(|e| context(e, section))
}

/// (points, cells) of a regular grid with index extent `[i0 i1 j0 j1 k0 k1]`, refused when empty
/// or beyond 2^34 points (the counts come from one attribute and drive allocations).
fn image_counts(extent: [i64; 6]) -> Result<(usize, usize)> {
    let dims = [0, 1, 2].map(|a| extent[2 * a + 1].checked_sub(extent[2 * a]).and_then(|d| d.checked_add(1)).unwrap_or(0));
    if dims.iter().any(|&d| d < 1) {
        return Err(err!(MeshFormat, "image extent {extent:?} is empty"));
    }
    let too_large = || err!(MeshFormat, "image extent {extent:?} is too large");
    let points = dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(usize::try_from(d).ok()?)).filter(|&t| t <= 1 << 34).ok_or_else(too_large)?;
    let cells = dims.iter().map(|&d| if d > 1 { d as usize - 1 } else { 1 }).product();
    Ok((points, cells))
}

/// Points (x fastest) and cells of a regular grid with the given index extent `[i0 i1 j0 j1 k0 k1]`.
/// Cells are explicit (vertex/line/pixel/voxel by dimension) so that cell data has centres.
fn image_mesh(extent: [i64; 6], origin: [f64; 3], spacing: [f64; 3], direction: [[f64; 3]; 3]) -> Result<Mesh> {
    let (total, _) = image_counts(extent)?;
    let n = [0, 1, 2].map(|a| (extent[2 * a + 1] - extent[2 * a] + 1) as usize);
    let mut points = array::alloc(total)?;
    points.extend((0..total).map(|idx| {
        let ijk = [idx % n[0], (idx / n[0]) % n[1], idx / (n[0] * n[1])];
        let local = [0, 1, 2].map(|a| (extent[2 * a] + ijk[a] as i64) as f64 * spacing[a]);
        [0, 1, 2].map(|r| origin[r] + (0..3).map(|c| direction[r][c] * local[c]).sum::<f64>())
    }));
    Ok(Mesh { points, cells: image_cells(n)?, ..Mesh::default() })
}

fn image_cells(n: [usize; 3]) -> Result<Cells> {
    let axes: Vec<usize> = (0..3).filter(|&a| n[a] > 1).collect();
    let cell_type = [1, 3, 8, 11][axes.len()];
    let m = [0, 1, 2].map(|a| if n[a] > 1 { n[a] - 1 } else { 1 });
    let corners = 1usize << axes.len();
    let count = m[0] * m[1] * m[2];
    // Reserved up front, so that an image too large for memory is an error rather than an abort.
    let mut cells = Cells { offsets: array::alloc(count + 1)?, connectivity: array::alloc(count * corners)?, types: array::alloc(count)? };
    cells.offsets.push(0);
    for c in 0..count {
        let base = [c % m[0], (c / m[0]) % m[1], c / (m[0] * m[1])];
        // Corner bit b steps along axes[b]: the VTK_PIXEL / VTK_VOXEL point order.
        for corner in 0..corners {
            let mut ijk = base;
            for (b, &a) in axes.iter().enumerate() {
                ijk[a] += (corner >> b) & 1;
            }
            cells.connectivity.push((ijk[2] * n[1] + ijk[1]) * n[0] + ijk[0]);
        }
        cells.offsets.push(cells.connectivity.len());
        cells.types.push(cell_type);
    }
    Ok(cells)
}

/// The files a run reads for the series `path`: the file itself and, for a `.pvd`, `.series` or `.vtm`,
/// the files its entries name. Best effort (an unreadable collection gives just `path`): the output
/// checks use it to refuse an `--out` that would replace an input, and reading reports a broken
/// collection later.
pub fn series_files(path: &Path) -> Vec<std::path::PathBuf> {
    let mut files = vec![path.to_path_buf()];
    if matches!(format_of(path), Ok(Format::FileSeries | Format::Multiblock)) {
        files.extend(multiblock::listed_files(path));
    }
    if matches!(format_of(path), Ok(Format::Series)) {
        if let Ok(entries) = std::fs::read(path).map_err(|e| Error::io("read", path, e)).and_then(|b| xml::pvd_entries(&b)) {
            let dir = path.parent().unwrap_or(Path::new(""));
            files.extend(entries.into_iter().map(|(_, _, file)| dir.join(file)));
        }
    }
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_cells_are_pixels_in_vtk_order() {
        let cells = image_cells([3, 2, 1]).unwrap();
        assert_eq!(cells.types, vec![8, 8]);
        assert_eq!(cells.cell(0), &[0, 1, 3, 4]);
        assert_eq!(cells.cell(1), &[1, 2, 4, 5]);
        let voxels = image_cells([2, 2, 2]).unwrap();
        assert_eq!(voxels.cell(0), &[0, 1, 2, 3, 4, 5, 6, 7]);
    }

    #[test]
    fn pieces_join_with_shifted_ids() {
        let piece = |x: f64| Mesh {
            points: vec![[x, 0.0, 0.0], [x + 1.0, 0.0, 0.0]],
            cells: Cells { connectivity: vec![0, 1], offsets: vec![0, 2], types: vec![3] },
            point_data: vec![Field { name: "p".into(), components: 1, values: vec![x, x] }],
            cell_data: vec![],
        };
        let m = join_pieces(vec![piece(0.0), piece(5.0)]).unwrap();
        assert_eq!(m.cells.connectivity, vec![0, 1, 2, 3]);
        assert_eq!(m.cells.offsets, vec![0, 2, 4]);
        assert_eq!(m.point_data[0].values, vec![0.0, 0.0, 5.0, 5.0]);
    }
}
