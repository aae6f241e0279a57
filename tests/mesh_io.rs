//! Mesh I/O: writer round trips, hand-built VTK files in every encoding the reader supports, bad
//! inputs, PNG previews. Fixtures are written into a temporary directory by the tests.

use std::io::Write;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use echo_onnx::grid::Grid;
use echo_onnx::mesh::png::write_preview;
use echo_onnx::mesh::read::{read_mesh, read_series};
use echo_onnx::mesh::write::{write_pvd, write_vti, write_vtu};
use echo_onnx::mesh::{Association, Cells, Field, Mesh};
use echo_onnx::ErrorKind;

mod common;

// ---------------------------------------------------------------------------------------------
// The reference mesh: a quad and a triangle, point scalars + vectors, cell scalars.

fn points() -> Vec<[f64; 3]> {
    vec![[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [1.0, 1.0, 0.0], [0.0, 1.0, 0.0], [2.0, 0.5, 0.0]]
}

fn reference() -> Mesh {
    Mesh {
        points: points(),
        cells: Cells { connectivity: vec![0, 1, 2, 3, 1, 4, 2], offsets: vec![0, 4, 7], types: vec![9, 5] },
        point_data: vec![
            Field { name: "p".into(), components: 1, values: vec![0.5, 1.5, -2.0, 3.25, 4.0] },
            Field { name: "U".into(), components: 3, values: (0..15).map(|i| i as f64 * 0.25).collect() },
        ],
        cell_data: vec![Field { name: "c".into(), components: 1, values: vec![10.0, -20.0] }],
    }
}

fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::File::create(&path).unwrap().write_all(bytes).unwrap();
    path
}

// ---------------------------------------------------------------------------------------------
// A small VTK XML writer for fixtures, independent of the crate's writer, covering every encoding.

#[derive(Clone, Copy)]
enum Enc {
    Ascii,
    Inline { h64: bool, zlib: bool, big: bool },
    Appended { raw: bool, h64: bool, zlib: bool },
}

#[derive(Clone)]
struct Array {
    name: &'static str,
    ty: &'static str,
    components: usize,
    values: Vec<f64>,
}

fn arr(name: &'static str, ty: &'static str, components: usize, values: &[f64]) -> Array {
    Array { name, ty, components, values: values.to_vec() }
}

fn typed_bytes(ty: &str, values: &[f64], big: bool) -> Vec<u8> {
    macro_rules! conv {
        ($t:ty) => {
            values.iter().flat_map(|&v| if big { (v as $t).to_be_bytes().to_vec() } else { (v as $t).to_le_bytes().to_vec() }).collect()
        };
    }
    match ty {
        "Float32" => conv!(f32),
        "Float64" => conv!(f64),
        "Int8" => conv!(i8),
        "Int16" => conv!(i16),
        "Int32" => conv!(i32),
        "Int64" => conv!(i64),
        "UInt8" => conv!(u8),
        "UInt16" => conv!(u16),
        "UInt32" => conv!(u32),
        "UInt64" => conv!(u64),
        _ => panic!("type {ty}"),
    }
}

fn word(v: usize, h64: bool, big: bool) -> Vec<u8> {
    match (h64, big) {
        (true, false) => (v as u64).to_le_bytes().to_vec(),
        (true, true) => (v as u64).to_be_bytes().to_vec(),
        (false, false) => (v as u32).to_le_bytes().to_vec(),
        (false, true) => (v as u32).to_be_bytes().to_vec(),
    }
}

fn zlib(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// (header, payload) of one binary array; zlib uses 16-byte blocks so arrays span several blocks.
fn binary_block(data: &[u8], h64: bool, zlib_on: bool, big: bool) -> (Vec<u8>, Vec<u8>) {
    if !zlib_on {
        return (word(data.len(), h64, big), data.to_vec());
    }
    const BS: usize = 16;
    let blocks: Vec<Vec<u8>> = data.chunks(BS).map(zlib).collect();
    let last = if data.len() % BS == 0 { BS } else { data.len() % BS };
    let mut header = [blocks.len(), BS, last].iter().flat_map(|&w| word(w, h64, big)).collect::<Vec<_>>();
    header.extend(blocks.iter().flat_map(|b| word(b.len(), h64, big)));
    (header, blocks.concat())
}

/// The base64 text of one array: VTK encodes header and data separately when compressed.
fn b64_block(header: &[u8], payload: &[u8], zlib_on: bool) -> String {
    if zlib_on {
        B64.encode(header) + &B64.encode(payload)
    } else {
        B64.encode([header, payload].concat())
    }
}

/// A piece: its attributes and its sections (element name, arrays).
type PieceSpec<'a> = (String, Vec<(&'a str, Vec<Array>)>);

/// Render a dataset in the given encoding.
fn vtk_xml(kind: &str, dataset_attrs: &str, pieces: &[PieceSpec], enc: Enc) -> Vec<u8> {
    let (h64, zlib_on, big) = match enc {
        Enc::Ascii => (false, false, false),
        Enc::Inline { h64, zlib, big } => (h64, zlib, big),
        Enc::Appended { h64, zlib, .. } => (h64, zlib, false),
    };
    let mut head = format!(
        "<?xml version=\"1.0\"?>\n<VTKFile type=\"{kind}\" version=\"1.0\" byte_order=\"{}\" header_type=\"{}\"{}>\n<{kind} {dataset_attrs}>\n",
        if big { "BigEndian" } else { "LittleEndian" },
        if h64 { "UInt64" } else { "UInt32" },
        if zlib_on { " compressor=\"vtkZLibDataCompressor\"" } else { "" }
    );
    let mut appended: Vec<u8> = Vec::new();
    for (piece_attrs, sections) in pieces {
        head += &format!("<Piece {piece_attrs}>\n");
        for (section, arrays) in sections {
            head += &format!("<{section}>\n");
            for a in arrays {
                let attrs = format!("type=\"{}\" Name=\"{}\" NumberOfComponents=\"{}\"", a.ty, a.name, a.components);
                let data = typed_bytes(a.ty, &a.values, big);
                let (header, payload) = binary_block(&data, h64, zlib_on, big);
                match enc {
                    Enc::Ascii => {
                        let text: Vec<String> = a.values.iter().map(|v| v.to_string()).collect();
                        head += &format!("<DataArray {attrs} format=\"ascii\">\n{}\n</DataArray>\n", text.join(" "));
                    }
                    Enc::Inline { .. } => {
                        head += &format!("<DataArray {attrs} format=\"binary\">\n  {}\n</DataArray>\n", b64_block(&header, &payload, zlib_on));
                    }
                    Enc::Appended { raw, .. } => {
                        head += &format!("<DataArray {attrs} format=\"appended\" offset=\"{}\"/>\n", appended.len());
                        if raw {
                            appended.extend(header.iter().chain(&payload));
                        } else {
                            appended.extend(b64_block(&header, &payload, zlib_on).bytes());
                        }
                    }
                }
            }
            head += &format!("</{section}>\n");
        }
        head += "</Piece>\n";
    }
    head += &format!("</{kind}>\n");
    let mut out = head.into_bytes();
    if let Enc::Appended { raw, .. } = enc {
        out.extend(format!("<AppendedData encoding=\"{}\">\n   _", if raw { "raw" } else { "base64" }).bytes());
        out.extend(appended);
        out.extend(b"\n</AppendedData>\n");
    }
    out.extend(b"</VTKFile>\n");
    out
}

/// The reference mesh as .vtu sections, with a mix of element types.
fn reference_sections(m: &Mesh) -> Vec<(&'static str, Vec<Array>)> {
    let flat: Vec<f64> = m.points.iter().flatten().copied().collect();
    let f = |i: usize| m.point_data[i].values.clone();
    let ends: Vec<f64> = m.cells.offsets[1..].iter().map(|&o| o as f64).collect();
    let conn: Vec<f64> = m.cells.connectivity.iter().map(|&p| p as f64).collect();
    let types: Vec<f64> = m.cells.types.iter().map(|&t| t as f64).collect();
    vec![
        ("PointData", vec![arr("p", "Float64", 1, &f(0)), arr("U", "Float32", 3, &f(1))]),
        ("CellData", vec![arr("c", "Int16", 1, &m.cell_data[0].values)]),
        ("Points", vec![arr("Points", "Float32", 3, &flat)]),
        ("Cells", vec![arr("connectivity", "Int32", 1, &conn), arr("offsets", "Int64", 1, &ends), arr("types", "UInt8", 1, &types)]),
    ]
}

fn reference_vtu(enc: Enc) -> Vec<u8> {
    let m = reference();
    let attrs = format!("NumberOfPoints=\"{}\" NumberOfCells=\"{}\"", m.points.len(), m.cells.len());
    vtk_xml("UnstructuredGrid", "", &[(attrs, reference_sections(&m))], enc)
}

// ---------------------------------------------------------------------------------------------
// Writer round trips.

#[test]
fn vtu_round_trip_keeps_mesh_up_to_f32_fields() {
    let dir = tempfile::tempdir().unwrap();
    let mut m = reference();
    m.point_data[0].values[0] = 0.1; // not representable in f32
    m.point_data[0].name = "p <&\"'> x".into(); // needs XML escaping
    let path = dir.path().join("m.vtu");
    write_vtu(&path, &m).unwrap();
    let back = read_mesh(&path).unwrap();
    let mut expected = m.clone();
    for f in expected.point_data.iter_mut().chain(expected.cell_data.iter_mut()) {
        f.values.iter_mut().for_each(|v| *v = *v as f32 as f64);
    }
    assert_eq!(back, expected);
    // I/O failures are errors, not panics.
    let err = write_vtu(&dir.path().join("no/such/dir/m.vtu"), &m).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io);
    assert!(err.message().contains("m.vtu"));
}

#[test]
fn vtu_without_cells_gets_vertex_cells() {
    let dir = tempfile::tempdir().unwrap();
    let m = Mesh { points: points(), ..Mesh::default() };
    let path = dir.path().join("pts.vtu");
    write_vtu(&path, &m).unwrap();
    let back = read_mesh(&path).unwrap();
    assert_eq!(back.points, m.points);
    assert_eq!(back.cells.types, vec![1; 5]);
    assert_eq!(back.cells.cell(3), &[3]);
}

#[test]
fn vti_round_trip_gives_grid_nodes() {
    let dir = tempfile::tempdir().unwrap();
    let grid = Grid::new(&[4, 3], &[0.0, -1.0], &[2.0, 1.0], &[true, false]).unwrap();
    let values: Vec<f64> = (0..grid.len()).map(|i| i as f64).collect();
    let vec2: Vec<f64> = (0..2 * grid.len()).map(|i| -(i as f64)).collect();
    let fields = [Field { name: "s".into(), components: 1, values: values.clone() }, Field { name: "v".into(), components: 2, values: vec2.clone() }];
    let path = dir.path().join("g.vti");
    write_vti(&path, &grid, &fields).unwrap();
    let back = read_mesh(&path).unwrap();
    assert_eq!(back.points, grid.nodes());
    assert_eq!(back.cells.len(), 3 * 2);
    assert!(back.cells.types.iter().all(|&t| t == 8));
    assert_eq!(back.field(Association::Point, "s").unwrap().values, values);
    assert_eq!(back.field(Association::Point, "v").unwrap().values, vec2);
    // 3D: voxels, z spacing from the grid.
    let grid3 = Grid::new(&[3, 2, 2], &[0.0, 0.0, 0.0], &[1.0, 1.0, 3.0], &[false, false, false]).unwrap();
    let s3 = [Field { name: "s".into(), components: 1, values: vec![1.0; grid3.len()] }];
    write_vti(&path, &grid3, &s3).unwrap();
    let back3 = read_mesh(&path).unwrap();
    assert_eq!(back3.points, grid3.nodes());
    assert_eq!(back3.cells.types, vec![11, 11]);
    // A field of the wrong length is refused.
    let bad = [Field { name: "s".into(), components: 1, values: vec![1.0] }];
    assert_eq!(write_vti(&path, &grid, &bad).unwrap_err().kind(), ErrorKind::FieldShape);
}

#[test]
fn pvd_round_trip_sorts_times_and_resolves_relative_paths() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("frames")).unwrap();
    let t_odd = 0.1 + 0.2; // needs all 17 digits
    let files = [(2.0, "b.vtu"), (t_odd, "frames/a.vtu"), (1.0, "c.vtu")];
    for (t, f) in files {
        let mut m = reference();
        m.point_data[0].values[0] = t;
        write_vtu(&dir.path().join(f), &m).unwrap();
    }
    let pvd = dir.path().join("series.pvd");
    write_pvd(&pvd, &files.map(|(t, f)| (t, f.to_string()))).unwrap();
    let frames = read_series(&pvd).unwrap();
    let times: Vec<f64> = frames.iter().map(|f| f.time).collect();
    assert_eq!(times, vec![t_odd, 1.0, 2.0]);
    for f in &frames {
        assert_eq!(f.mesh.point_data[0].values[0], f.time as f32 as f64);
    }
    // A single mesh is a one-frame series at time 0.
    let single = read_series(&dir.path().join("b.vtu")).unwrap();
    assert_eq!((single.len(), single[0].time), (1, 0.0));
}

// ---------------------------------------------------------------------------------------------
// Hand-built XML files.

fn assert_reference(m: &Mesh) {
    let r = reference();
    assert_eq!(m.points, r.points);
    assert_eq!(m.cells, r.cells);
    assert_eq!(m.point_data, r.point_data);
    assert_eq!(m.cell_data, r.cell_data);
}

#[test]
fn xml_encodings_all_read_the_same_mesh() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("ascii", Enc::Ascii),
        ("b64_u32", Enc::Inline { h64: false, zlib: false, big: false }),
        ("b64_u64", Enc::Inline { h64: true, zlib: false, big: false }),
        ("b64_zlib", Enc::Inline { h64: false, zlib: true, big: false }),
        ("b64_zlib_u64", Enc::Inline { h64: true, zlib: true, big: false }),
        ("big_endian", Enc::Inline { h64: false, zlib: false, big: true }),
        ("big_endian_zlib", Enc::Inline { h64: true, zlib: true, big: true }),
        ("raw_u32", Enc::Appended { raw: true, h64: false, zlib: false }),
        ("raw_u64", Enc::Appended { raw: true, h64: true, zlib: false }),
        ("raw_zlib", Enc::Appended { raw: true, h64: false, zlib: true }),
        ("app_b64", Enc::Appended { raw: false, h64: false, zlib: false }),
        ("app_b64_zlib", Enc::Appended { raw: false, h64: true, zlib: true }),
    ];
    for (name, enc) in cases {
        let path = write_file(dir.path(), &format!("{name}.vtu"), &reference_vtu(enc));
        let m = read_mesh(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_reference(&m);
    }
}

#[test]
fn appended_raw_data_may_contain_markup_bytes() {
    // Values whose bytes include '<', '>', '_' and invalid UTF-8 must not confuse the reader.
    let dir = tempfile::tempdir().unwrap();
    let mut m = reference();
    m.point_data[0].values = vec![f64::from_le_bytes(*b"<_>\xff</Ap"), 1.0, 2.0, 3.0, f64::NAN];
    let sections = reference_sections(&m);
    let attrs = "NumberOfPoints=\"5\" NumberOfCells=\"2\"".to_string();
    let bytes = vtk_xml("UnstructuredGrid", "", &[(attrs, sections)], Enc::Appended { raw: true, h64: false, zlib: false });
    let back = read_mesh(&write_file(dir.path(), "m.vtu", &bytes)).unwrap();
    let p = &back.point_data[0].values;
    assert_eq!(p[0].to_bits(), m.point_data[0].values[0].to_bits());
    assert!(p[4].is_nan(), "NaN field values are kept");
}

#[test]
fn multi_piece_vtu_is_concatenated() {
    let dir = tempfile::tempdir().unwrap();
    let piece = |x0: f64| {
        let pts = [x0, 0.0, 0.0, x0 + 1.0, 0.0, 0.0, x0, 1.0, 0.0];
        let sections = vec![
            ("PointData", vec![arr("p", "Float64", 1, &[x0, x0, x0])]),
            ("CellData", vec![arr("c", "Float64", 1, &[x0])]),
            ("Points", vec![arr("Points", "Float64", 3, &pts)]),
            ("Cells", vec![arr("connectivity", "Int64", 1, &[0.0, 1.0, 2.0]), arr("offsets", "Int64", 1, &[3.0]), arr("types", "UInt8", 1, &[5.0])]),
        ];
        ("NumberOfPoints=\"3\" NumberOfCells=\"1\"".to_string(), sections)
    };
    let bytes = vtk_xml("UnstructuredGrid", "", &[piece(0.0), piece(5.0)], Enc::Appended { raw: true, h64: true, zlib: false });
    let m = read_mesh(&write_file(dir.path(), "two.vtu", &bytes)).unwrap();
    assert_eq!(m.points.len(), 6);
    assert_eq!(m.cells.connectivity, vec![0, 1, 2, 3, 4, 5]);
    assert_eq!(m.cells.offsets, vec![0, 3, 6]);
    assert_eq!(m.point_data[0].values, vec![0.0, 0.0, 0.0, 5.0, 5.0, 5.0]);
    assert_eq!(m.cell_data[0].values, vec![0.0, 5.0]);
}

#[test]
fn vtp_cells_follow_vtk_order_verts_lines_polys() {
    let dir = tempfile::tempdir().unwrap();
    let pts = [0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 0.0, 2.0, 0.0, 0.0];
    let sections = [
        ("CellData", vec![arr("id", "Int32", 1, &[0.0, 1.0, 2.0, 3.0])]),
        ("Points", vec![arr("Points", "Float64", 3, &pts)]),
        // Sections out of order in the file; cells must still come out verts, lines, polys.
        ("Polys", vec![arr("connectivity", "Int64", 1, &[0.0, 1.0, 2.0, 0.0, 1.0, 2.0, 3.0]), arr("offsets", "Int64", 1, &[3.0, 7.0])]),
        ("Verts", vec![arr("connectivity", "Int64", 1, &[4.0]), arr("offsets", "Int64", 1, &[1.0])]),
        ("Lines", vec![arr("connectivity", "Int64", 1, &[1.0, 4.0]), arr("offsets", "Int64", 1, &[2.0])]),
    ];
    let attrs = "NumberOfPoints=\"5\" NumberOfVerts=\"1\" NumberOfLines=\"1\" NumberOfPolys=\"2\"".to_string();
    for enc in [Enc::Ascii, Enc::Appended { raw: true, h64: false, zlib: true }] {
        let bytes = vtk_xml("PolyData", "", &[(attrs.clone(), sections.to_vec())], enc);
        let m = read_mesh(&write_file(dir.path(), "p.vtp", &bytes)).unwrap();
        assert_eq!(m.cells.types, vec![1, 3, 5, 9]);
        assert_eq!(m.cells.cell(0), &[4]);
        assert_eq!(m.cells.cell(1), &[1, 4]);
        assert_eq!(m.cells.cell(3), &[0, 1, 2, 3]);
        assert_eq!(m.cell_data[0].values.len(), 4);
    }
}

#[test]
fn vti_with_cell_data_has_cell_centres() {
    let dir = tempfile::tempdir().unwrap();
    let extent = "0 2 0 1 0 0";
    let sections = vec![("PointData", vec![arr("T", "Float32", 1, &[0.0, 1.0, 2.0, 3.0, 4.0, 5.0])]), ("CellData", vec![arr("k", "Float64", 1, &[7.0, 8.0])])];
    let ds = format!("WholeExtent=\"{extent}\" Origin=\"1 2 0\" Spacing=\"0.5 0.25 1\"");
    let bytes = vtk_xml("ImageData", &ds, &[(format!("Extent=\"{extent}\""), sections)], Enc::Inline { h64: false, zlib: false, big: false });
    let m = read_mesh(&write_file(dir.path(), "i.vti", &bytes)).unwrap();
    assert_eq!(m.points.len(), 6);
    assert_eq!(m.points[4], [1.5, 2.25, 0.0]);
    assert_eq!(m.cells.types, vec![8, 8]);
    assert_eq!(m.cell_centres()[1], [1.75, 2.125, 0.0]);
    assert_eq!(m.field(Association::Cell, "k").unwrap().values, vec![7.0, 8.0]);
}

// ---------------------------------------------------------------------------------------------
// Legacy .vtk.

const LEGACY_POINTS: &str = "POINTS 5 float\n0 0 0 1 0 0 1 1 0\n0 1 0 2 0.5 0\n";
const LEGACY_DATA: &str = "CELL_TYPES 2\n9\n5\n\
POINT_DATA 5\nSCALARS p float 1\nLOOKUP_TABLE default\n0.5 1.5 -2 3.25 4\n\
VECTORS U float\n0 0.25 0.5 0.75 1 1.25 1.5 1.75 2 2.25 2.5 2.75 3 3.25 3.5\n\
CELL_DATA 2\nSCALARS c double\nLOOKUP_TABLE default\n10 -20\n";

#[test]
fn legacy_ascii_4_2_and_5_1() {
    let dir = tempfile::tempdir().unwrap();
    let v42 = format!("# vtk DataFile Version 4.2\ntest\nASCII\nDATASET UNSTRUCTURED_GRID\n{LEGACY_POINTS}CELLS 2 9\n4 0 1 2 3\n3 1 4 2\n{LEGACY_DATA}");
    let v51 = format!("# vtk DataFile Version 5.1\ntest\nASCII\nDATASET UNSTRUCTURED_GRID\n{LEGACY_POINTS}CELLS 3 7\nOFFSETS vtktypeint64\n0 4 7\nCONNECTIVITY vtktypeint64\n0 1 2 3 1 4 2\n{LEGACY_DATA}");
    for (name, text) in [("v42.vtk", v42), ("v51.vtk", v51)] {
        let m = read_mesh(&write_file(dir.path(), name, text.as_bytes())).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_reference(&m);
    }
}

#[test]
fn legacy_polydata() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!("# vtk DataFile Version 4.2\ntest\nASCII\nDATASET POLYDATA\n{LEGACY_POINTS}POLYGONS 2 9\n4 0 1 2 3\n3 1 4 2\nCELL_DATA 2\nSCALARS c float 1\nLOOKUP_TABLE default\n1 2\n");
    let m = read_mesh(&write_file(dir.path(), "p.vtk", text.as_bytes())).unwrap();
    assert_eq!(m.cells, reference().cells);
    assert_eq!(m.cell_data[0].values, vec![1.0, 2.0]);
}

#[test]
fn legacy_binary_is_big_endian() {
    let dir = tempfile::tempdir().unwrap();
    let r = reference();
    let be_f32 = |v: &[f64]| v.iter().flat_map(|&x| (x as f32).to_be_bytes()).collect::<Vec<u8>>();
    let be_i32 = |v: &[i32]| v.iter().flat_map(|&x| x.to_be_bytes()).collect::<Vec<u8>>();
    let mut b = b"# vtk DataFile Version 4.2\ntest\nBINARY\nDATASET UNSTRUCTURED_GRID\nPOINTS 5 float\n".to_vec();
    b.extend(be_f32(&r.points.iter().flatten().copied().collect::<Vec<_>>()));
    b.extend(b"\nCELLS 2 9\n");
    b.extend(be_i32(&[4, 0, 1, 2, 3, 3, 1, 4, 2]));
    b.extend(b"\nCELL_TYPES 2\n");
    b.extend(be_i32(&[9, 5]));
    b.extend(b"\nPOINT_DATA 5\nSCALARS p float 1\nLOOKUP_TABLE default\n");
    b.extend(be_f32(&r.point_data[0].values));
    b.extend(b"\nVECTORS U float\n");
    b.extend(be_f32(&r.point_data[1].values));
    b.extend(b"\n");
    let m = read_mesh(&write_file(dir.path(), "bin.vtk", &b)).unwrap();
    assert_eq!(m.points, r.points);
    assert_eq!(m.cells, r.cells);
    assert_eq!(m.point_data, r.point_data);
}

// ---------------------------------------------------------------------------------------------
// Bad inputs: each gives a specific error kind and message.

/// Appended raw zlib data with the first block's zlib header destroyed.
fn corrupt_zlib() -> Vec<u8> {
    let mut bytes = reference_vtu(Enc::Appended { raw: true, h64: false, zlib: true });
    // The first array ('p', 40 bytes) has 3 blocks: its header is 6 UInt32 words after the '_'.
    let start = bytes.windows(5).position(|w| w == b"_\x03\0\0\0").unwrap() + 1 + 6 * 4;
    bytes[start] ^= 0xff;
    bytes[start + 1] ^= 0xff;
    bytes
}

#[test]
fn bad_inputs_give_specific_errors() {
    let dir = tempfile::tempdir().unwrap();
    let ascii = String::from_utf8(reference_vtu(Enc::Ascii)).unwrap();
    let inline = String::from_utf8(reference_vtu(Enc::Inline { h64: false, zlib: false, big: false })).unwrap();
    let raw = reference_vtu(Enc::Appended { raw: true, h64: false, zlib: false });
    // Truncate the first base64 array (p: 4 + 40 bytes -> 60 characters) to 30 characters.
    let b64_start = inline.find("format=\"binary\">\n  ").unwrap() + "format=\"binary\">\n  ".len();
    let truncated_b64 = format!("{}{}", &inline[..b64_start + 30], &inline[b64_start + 60..]);
    // Only the XML head is text; splice the new offset in at the byte level.
    let at = raw.windows(10).position(|w| w == b"offset=\"0\"").unwrap();
    let bad_offset = [&raw[..at], b"offset=\"99999\"".as_slice(), &raw[at + 10..]].concat();
    let few_points = ascii.replacen("0 0 0 1 0 0", "0 0 0 1 0", 1);
    let few_field = ascii.replacen("0.5 1.5 -2", "0.5 1.5", 1);
    let nan_point = ascii.replacen("1 1 0 0 1 0", "1 NaN 0 0 1 0", 1);
    let pvd = "<VTKFile type=\"Collection\"><Collection><DataSet timestep=\"0\" file=\"missing.vtu\"/></Collection></VTKFile>";
    let dup_pvd = "<VTKFile type=\"Collection\"><Collection><DataSet timestep=\"0\" part=\"0\" file=\"a.vtu\"/><DataSet timestep=\"0\" part=\"1\" file=\"b.vtu\"/></Collection></VTKFile>";
    let cases: Vec<(&str, Option<Vec<u8>>, ErrorKind, &str)> = vec![
        ("missing.vtu", None, ErrorKind::Io, "cannot read"),
        ("mesh.stl", Some(b"solid".to_vec()), ErrorKind::MeshFormat, "unknown mesh file extension"),
        ("malformed.vtu", Some(ascii.as_bytes()[..ascii.len() / 2].to_vec()), ErrorKind::MeshFormat, "malformed XML"),
        ("mismatched.vtu", Some(ascii.replacen("</Points>", "</Pointz>", 1).into_bytes()), ErrorKind::MeshFormat, "malformed XML"),
        ("b64.vtu", Some(truncated_b64.into_bytes()), ErrorKind::MeshFormat, "truncated"),
        (
            "b64garbage.vtu",
            Some(inline.replacen("format=\"binary\">\n  ", "format=\"binary\">\n  !!!!", 1).into_bytes()),
            ErrorKind::MeshFormat,
            "invalid base64",
        ),
        ("offset.vtu", Some(bad_offset), ErrorKind::MeshFormat, "past the end"),
        ("truncated_raw.vtu", Some(raw[..raw.len() - 40].to_vec()), ErrorKind::MeshFormat, "truncated"),
        ("few.vtu", Some(few_points.into_bytes()), ErrorKind::MeshFormat, "too few values"),
        ("few_field.vtu", Some(few_field.into_bytes()), ErrorKind::FieldShape, "too few values"),
        ("nan.vtu", Some(nan_point.into_bytes()), ErrorKind::NonFinite, "point 2"),
        ("zlib.vtu", Some(corrupt_zlib()), ErrorKind::MeshFormat, "cannot be decompressed"),
        ("bad_id.vtu", Some(ascii.replacen("0 1 2 3 1 4 2", "0 1 2 3 1 9 2", 1).into_bytes()), ErrorKind::MeshFormat, "refers to point 9"),
        (
            "legacy.vtk",
            Some(b"# vtk DataFile Version 4.2\nx\nASCII\nDATASET UNSTRUCTURED_GRID\nPOINTS 5 float\n0 0 0\n".to_vec()),
            ErrorKind::MeshFormat,
            "'POINTS 5 float' (line 5): truncated",
        ),
        ("series.pvd", Some(pvd.as_bytes().to_vec()), ErrorKind::MeshFormat, "lists 'missing.vtu', which does not exist"),
        ("parts.pvd", Some(dup_pvd.as_bytes().to_vec()), ErrorKind::MeshFormat, "several DataSets"),
    ];
    for (name, contents, kind, phrase) in cases {
        let path = match contents {
            Some(bytes) => write_file(dir.path(), name, &bytes),
            None => dir.path().join(name),
        };
        let err = read_series(&path).expect_err(name);
        assert_eq!(err.kind(), kind, "{name}: {err}");
        assert!(err.message().contains(phrase), "{name}: '{}' lacks '{phrase}'", err.message());
        assert!(err.message().contains(name), "{name}: '{}' does not name the file", err.message());
    }
}

/// The reference mesh as a legacy 4.2 ASCII file, with `p` given as the text `p`.
fn legacy_text(p: &str) -> String {
    format!(
        "# vtk DataFile Version 4.2\ntest\nASCII\nDATASET UNSTRUCTURED_GRID\n{LEGACY_POINTS}CELLS 2 9\n4 0 1 2 3\n3 1 4 2\n{}",
        LEGACY_DATA.replacen("0.5 1.5 -2 3.25 4", p, 1)
    )
}

#[test]
fn legacy_nan_and_inf_are_read_as_values() {
    // VTK writes NaN and Inf as `nan`, `-nan`, `inf`: they are values (kept in fields, refused
    // later where the command needs finite ones), not a parse error.
    let dir = tempfile::tempdir().unwrap();
    let m = read_mesh(&write_file(dir.path(), "nan.vtk", legacy_text("0.5 nan -nan inf -inf").as_bytes())).unwrap();
    let p = &m.point_data[0].values;
    assert_eq!(p[0], 0.5);
    assert!(p[1].is_nan() && p[2].is_nan());
    assert_eq!((p[3], p[4]), (f64::INFINITY, f64::NEG_INFINITY));
    // In the coordinates it is the usual NonFinite error naming the file and the point.
    let text = legacy_text("0.5 1.5 -2 3.25 4").replacen("1 1 0", "1 nan 0", 1);
    let e = read_mesh(&write_file(dir.path(), "nanpoint.vtk", text.as_bytes())).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NonFinite, "{e}");
    assert!(e.message().contains("nanpoint.vtk") && e.message().contains("point 2"), "{e}");
}

#[test]
fn legacy_errors_say_what_is_wrong_and_where() {
    let dir = tempfile::tempdir().unwrap();
    let full = legacy_text("0.5 1.5 -2 3.25 4");
    let cut = |at: &str| full[..full.find(at).unwrap() + at.len()].to_string();
    let cases = [
        // Truncated inside each kind of section: the message names the section and its line.
        ("points.vtk", cut("POINTS 5 float\n0 0 0 1 0"), vec!["'POINTS 5 float' (line 5): truncated", "the file ends after 5"]),
        ("cells.vtk", cut("CELLS 2 9\n4 0 1"), vec!["'CELLS 2 9' (line 8): truncated", "9 values declared"]),
        ("types.vtk", cut("CELL_TYPES 2\n9"), vec!["'CELL_TYPES 2'", "truncated"]),
        ("scalars.vtk", cut("0.5 1.5"), vec!["'SCALARS p float 1'", "truncated", "5 values declared, the file ends after 2"]),
        ("vectors.vtk", cut("VECTORS U float\n0 0.25"), vec!["'VECTORS U float'", "truncated"]),
        // A section with fewer values than it declares runs into the next header.
        (
            "short.vtk",
            full.replacen("0 1 0 2 0.5 0", "0 1 0", 1),
            vec!["'POINTS 5 float'", "'CELLS' is not a number: the section has 12 values where it declares 15"],
        ),
        ("word.vtk", full.replacen("1 1 0", "1 x 0", 1), vec!["'POINTS 5 float'", "'x' is not a number"]),
        ("header.vtk", full.replacen("# vtk DataFile", "# vtc DataFile", 1), vec!["line 1 is not '# vtk DataFile Version x.y'"]),
        ("encoding.vtk", full.replacen("ASCII", "TEXT", 1), vec!["expected ASCII or BINARY, found 'TEXT'"]),
        ("dataset.vtk", full.replacen("UNSTRUCTURED_GRID", "STRUCTURED_POINTS", 1), vec!["STRUCTURED_POINTS is not supported"]),
        ("section.vtk", full.replacen("CELL_TYPES", "CELL_KINDS", 1), vec!["unknown section 'CELL_KINDS'"]),
        ("cellcount.vtk", full.replacen("CELLS 2 9", "CELLS 2 10", 1), vec!["'CELLS 2 10'", "'CELL_TYPES' is not a number"]),
        // Counts far beyond the file are refused before anything is allocated.
        (
            "huge.vtk",
            full.replacen("POINTS 5 float", "POINTS 1000000000000 float", 1),
            vec!["'POINTS 1000000000000 float' (line 5)", "the section has 15 values where it declares 3000000000000"],
        ),
        (
            "hugefield.vtk",
            full.replacen("POINT_DATA 5", "POINT_DATA 4000000000", 1),
            vec!["'SCALARS p float 1'", "the section has 5 values where it declares 4000000000"],
        ),
        ("overflow.vtk", full.replacen("POINTS 5 float", "POINTS 18446744073709551615 float", 1), vec!["do not fit in memory"]),
        ("badcount.vtk", full.replacen("POINTS 5 float", "POINTS -5 float", 1), vec!["point count '-5' is not a count"]),
    ];
    for (name, text, phrases) in cases {
        let e = read_mesh(&write_file(dir.path(), name, text.as_bytes())).expect_err(name);
        assert_eq!(e.kind(), ErrorKind::MeshFormat, "{name}: {e}");
        assert!(e.message().contains(name), "{name}: {e}");
        for phrase in phrases {
            assert!(e.message().contains(phrase), "{name}: '{}' lacks '{phrase}'", e.message());
        }
        assert!(!e.message().contains("Parse error"), "{name}: {e}");
    }
    // Binary: a count beyond the bytes left is caught the same way.
    let mut b = b"# vtk DataFile Version 4.2\nt\nBINARY\nDATASET UNSTRUCTURED_GRID\nPOINTS 4000000000 double\n".to_vec();
    b.extend([0u8; 48]);
    let e = read_mesh(&write_file(dir.path(), "bin.vtk", &b)).unwrap_err();
    assert!(e.message().contains("truncated: 12000000000 values need 96000000000 bytes, and the 48 bytes left"), "{e}");
}

#[test]
fn legacy_5_1_binary_and_field_data() {
    // Version 5.1 binary (OFFSETS / CONNECTIVITY as vtktypeint64) with dataset-level FIELD data
    // (TIME, which VTK writes) and a point FIELD array.
    let dir = tempfile::tempdir().unwrap();
    let r = reference();
    let be_f64 = |v: &[f64]| v.iter().flat_map(|&x| x.to_be_bytes()).collect::<Vec<u8>>();
    let be_i64 = |v: &[i64]| v.iter().flat_map(|&x| x.to_be_bytes()).collect::<Vec<u8>>();
    let mut b = b"# vtk DataFile Version 5.1\ntest\nBINARY\nDATASET UNSTRUCTURED_GRID\nFIELD FieldData 1\nTIME 1 1 double\n".to_vec();
    b.extend(be_f64(&[0.5]));
    b.extend(b"\nPOINTS 5 double\n");
    b.extend(be_f64(&r.points.iter().flatten().copied().collect::<Vec<_>>()));
    b.extend(b"\nMETADATA\nINFORMATION 0\n\nCELLS 3 7\nOFFSETS vtktypeint64\n");
    b.extend(be_i64(&[0, 4, 7]));
    b.extend(b"\nCONNECTIVITY vtktypeint64\n");
    b.extend(be_i64(&[0, 1, 2, 3, 1, 4, 2]));
    b.extend(b"\nCELL_TYPES 2\n");
    b.extend([0, 0, 0, 9, 0, 0, 0, 5]);
    b.extend(b"\nPOINT_DATA 5\nFIELD FieldData 1\np 1 5 double\n");
    b.extend(be_f64(&r.point_data[0].values));
    b.extend(b"\n");
    let m = read_mesh(&write_file(dir.path(), "v51.vtk", &b)).unwrap();
    assert_eq!(m.points, r.points);
    assert_eq!(m.cells, r.cells);
    assert_eq!(m.point_data, vec![r.point_data[0].clone()]);
}

/// Fields by name with their values' bits (NaN compares equal to itself).
fn field_bits(fields: &[Field]) -> Vec<(String, usize, Vec<u64>)> {
    let mut out: Vec<_> = fields.iter().map(|f| (f.name.clone(), f.components, f.values.iter().map(|v| v.to_bits()).collect())).collect();
    out.sort();
    out
}

#[test]
fn vtk_written_legacy_files_read_like_their_xml() {
    // The files users bring: VTK's own legacy writer (4.2 and 5.1, ASCII and binary), with NaN
    // and Inf values and dataset-level field data, must read as the same mesh as VTK's XML.
    let dir = tempfile::tempdir().unwrap();
    let script = r#"
import sys, vtk
out = sys.argv[1]
ug = vtk.vtkUnstructuredGrid()
pts = vtk.vtkPoints(); pts.SetDataTypeToDouble()
for j in range(3):
    for i in range(3):
        pts.InsertNextPoint(i, j, 0.5 * i)
ug.SetPoints(pts)
for j in range(2):
    for i in range(2):
        p = j * 3 + i
        ug.InsertNextCell(vtk.VTK_QUAD, 4, [p, p + 1, p + 4, p + 3])
ug.InsertNextCell(vtk.VTK_TRIANGLE, 3, [0, 1, 4])
a = vtk.vtkDoubleArray(); a.SetName("p")
for k in range(9): a.InsertNextValue(float("nan") if k == 4 else k * 0.5)
ug.GetPointData().AddArray(a)
v = vtk.vtkFloatArray(); v.SetName("U"); v.SetNumberOfComponents(3)
for k in range(9): v.InsertNextTuple3(k, -k, float("inf") if k == 7 else 0.25)
ug.GetPointData().SetVectors(v)
c = vtk.vtkIntArray(); c.SetName("id")
for k in range(5): c.InsertNextValue(k - 2)
ug.GetCellData().SetScalars(c)
t = vtk.vtkDoubleArray(); t.SetName("TimeValue"); t.InsertNextValue(0.25)
ug.GetFieldData().AddArray(t)
for version in (42, 51):
    for binary in (False, True):
        w = vtk.vtkUnstructuredGridWriter(); w.SetInputData(ug); w.SetFileVersion(version)
        w.SetFileName(f"{out}/ug_{version}_{int(binary)}.vtk")
        if binary: w.SetFileTypeToBinary()
        w.Write()
w = vtk.vtkXMLUnstructuredGridWriter(); w.SetInputData(ug); w.SetFileName(f"{out}/ug.vtu"); w.SetCompressorTypeToZLib(); w.Write()
"#;
    let status = std::process::Command::new(common::python()).args(["-c", script]).arg(dir.path()).status().unwrap();
    assert!(status.success(), "VTK failed to write the files");
    let xml = read_mesh(&dir.path().join("ug.vtu")).unwrap();
    assert!(xml.point_data.iter().any(|f| f.values.iter().any(|v| v.is_nan())), "the reference holds a NaN");
    for name in ["ug_42_0.vtk", "ug_42_1.vtk", "ug_51_0.vtk", "ug_51_1.vtk"] {
        let m = read_mesh(&dir.path().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(m.points, xml.points, "{name}");
        assert_eq!(m.cells, xml.cells, "{name}");
        assert_eq!(field_bits(&m.point_data), field_bits(&xml.point_data), "{name}");
        assert_eq!(field_bits(&m.cell_data), field_bits(&xml.cell_data), "{name}");
    }
}

/// A .vtu whose Points array is `data_array` (a DataArray element) and whose appended section,
/// if any, holds `appended`; `n` points, no cells.
fn hostile_vtu(n: &str, file_attrs: &str, data_array: &str, appended: Option<&[u8]>) -> Vec<u8> {
    let mut b = format!(
        "<?xml version=\"1.0\"?>\n<VTKFile type=\"UnstructuredGrid\" version=\"1.0\" byte_order=\"LittleEndian\" {file_attrs}>\n\
        <UnstructuredGrid><Piece NumberOfPoints=\"{n}\" NumberOfCells=\"0\"><Points>{data_array}</Points></Piece></UnstructuredGrid>\n"
    )
    .into_bytes();
    if let Some(data) = appended {
        b.extend(b"<AppendedData encoding=\"raw\">_");
        b.extend(data);
        b.extend(b"</AppendedData>\n");
    }
    b.extend(b"</VTKFile>\n");
    b
}

#[test]
fn declared_sizes_are_checked_before_allocating() {
    // Each file is small and declares gigabytes or more; each is refused quickly, by comparing
    // the sizes it declares with each other and with the bytes it has.
    let dir = tempfile::tempdir().unwrap();
    let zeros = zlib(&vec![0u8; 1 << 20]); // ~1 KB that inflates to 1 MiB
    let zlib_u32 = "header_type=\"UInt32\" compressor=\"vtkZLibDataCompressor\"";
    let appended = "<DataArray type=\"Float32\" NumberOfComponents=\"3\" format=\"appended\" offset=\"0\"/>";
    let inline = |header: &[u8], payload: &[u8]| {
        format!("<DataArray type=\"Float32\" NumberOfComponents=\"3\" format=\"binary\">{}{}</DataArray>", B64.encode(header), B64.encode(payload))
    };
    let words = |w: &[u32]| w.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
    // One block declaring 4 GiB - 16 bytes: 357913940 points x 12 bytes.
    let bomb_header = words(&[1, 0xFFFF_FFF0, 0xFFFF_FFF0, zeros.len() as u32]);
    let mut raw_2p40 = (1u64 << 40).to_le_bytes().to_vec();
    raw_2p40.extend([0u8; 12]);
    let mut raw_1e12 = 12_000_000_000_000u64.to_le_bytes().to_vec();
    raw_1e12.extend([0u8; 12]);
    let many_blocks = words(&[0x4000_0000, 16, 16]);
    let ascii = "<DataArray type=\"Float32\" NumberOfComponents=\"3\" format=\"ascii\">0 0 0</DataArray>";
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        // The header's total disagrees with NumberOfPoints x components x 4 bytes.
        (
            "zlib_mismatch.vtu",
            hostile_vtu("1", zlib_u32, &inline(&bomb_header, &zeros), None),
            "the data header declares 4294967280 bytes, too many for 1 tuples x 3 components of Float32 (12 bytes)",
        ),
        // The header agrees, but ~1 KB of deflate cannot hold 4 GiB.
        ("zlib_ratio.vtu", hostile_vtu("357913940", zlib_u32, &inline(&bomb_header, &zeros), None), "declares 4294967280 bytes, more than its"),
        ("zlib_blocks.vtu", hostile_vtu("1", zlib_u32, &inline(&many_blocks, &zeros), None), "declares 1073741824 blocks"),
        (
            "raw_2p40.vtu",
            hostile_vtu("1", "header_type=\"UInt64\"", appended, Some(&raw_2p40)),
            "the data header declares 1099511627776 bytes, too many for 1 tuples x 3 components of Float32 (12 bytes)",
        ),
        ("raw_1e12.vtu", hostile_vtu("1000000000000", "header_type=\"UInt64\"", appended, Some(&raw_1e12)), "truncated: needed 12000000000000 more bytes"),
        ("ascii_1e12.vtu", hostile_vtu("1000000000000", "", ascii, None), "too few values: 3, expected 3000000000000"),
        ("overflow.vtu", hostile_vtu("18446744073709551615", "", ascii, None), "do not fit in memory"),
    ];
    for (name, bytes, phrase) in cases {
        let start = std::time::Instant::now();
        let e = read_mesh(&write_file(dir.path(), name, &bytes)).expect_err(name);
        assert_eq!(e.kind(), ErrorKind::MeshFormat, "{name}: {e}");
        assert!(e.message().contains(phrase), "{name}: '{}' lacks '{phrase}'", e.message());
        assert!(start.elapsed().as_secs_f64() < 2.0, "{name}: took {:?}", start.elapsed());
    }
}

#[test]
fn zlib_blocks_inflate_no_further_than_they_declare() {
    // A block whose stream holds more than its header says is refused after one byte too many.
    let dir = tempfile::tempdir().unwrap();
    let data = zlib(&vec![0u8; 1 << 20]);
    let header: Vec<u8> = [1u32, 12, 12, data.len() as u32].iter().flat_map(|w| w.to_le_bytes()).collect();
    let el = format!("<DataArray type=\"Float32\" NumberOfComponents=\"3\" format=\"binary\">{}{}</DataArray>", B64.encode(&header), B64.encode(&data));
    let bytes = hostile_vtu("1", "header_type=\"UInt32\" compressor=\"vtkZLibDataCompressor\"", &el, None);
    let e = read_mesh(&write_file(dir.path(), "long.vtu", &bytes)).unwrap_err();
    assert!(e.message().contains("zlib block 0 of 1 holds more than 12 bytes"), "{e}");
}

#[test]
fn image_data_is_checked_against_its_arrays_first() {
    // A huge extent with an array too short for it: the array's size check fails before the
    // (implicit) points are built.
    let dir = tempfile::tempdir().unwrap();
    let extent = "0 99999 0 99999 0 0";
    let sections = vec![("PointData", vec![arr("T", "Float32", 1, &[1.0, 2.0])])];
    let ds = format!("WholeExtent=\"{extent}\"");
    let bytes = vtk_xml("ImageData", &ds, &[(format!("Extent=\"{extent}\""), sections)], Enc::Appended { raw: true, h64: false, zlib: false });
    let e = read_mesh(&write_file(dir.path(), "big.vti", &bytes)).unwrap_err();
    assert!(e.message().contains("the data header declares 8 bytes, too few for 10000000000 tuples x 1 components of Float32 (40000000000 bytes)"), "{e}");
}

#[test]
fn pvd_files_stay_in_the_pvd_folder() {
    let dir = tempfile::tempdir().unwrap();
    let series = dir.path().join("series");
    std::fs::create_dir_all(series.join("sub")).unwrap();
    write_vtu(&dir.path().join("outside.vtu"), &reference()).unwrap();
    write_vtu(&series.join("sub/inside.vtu"), &reference()).unwrap();
    std::os::unix::fs::symlink(dir.path().join("outside.vtu"), series.join("link.vtu")).unwrap();
    std::os::unix::fs::symlink(series.join("sub/inside.vtu"), series.join("inlink.vtu")).unwrap();
    let pvd = series.join("s.pvd");
    let abs_out = dir.path().join("outside.vtu").display().to_string();
    for file in ["../outside.vtu", "sub/../../outside.vtu", "link.vtu", abs_out.as_str()] {
        write_pvd(&pvd, &[(0.0, file.to_string())]).unwrap();
        let e = read_series(&pvd).expect_err(file);
        assert_eq!(e.kind(), ErrorKind::MeshFormat, "{file}: {e}");
        assert!(e.message().contains("s.pvd") && e.message().contains(&format!("lists '{file}', which is outside the folder of")), "{file}: {e}");
        assert!(e.hint().unwrap().contains("own folder or below it"), "{file}");
    }
    // Inside (also through `..` that stays inside, a symlink to inside, an absolute path) is fine.
    let abs_in = series.join("sub/inside.vtu").display().to_string();
    for file in ["sub/inside.vtu", "sub/../sub/inside.vtu", "inlink.vtu", abs_in.as_str()] {
        write_pvd(&pvd, &[(0.0, file.to_string())]).unwrap();
        assert_eq!(read_series(&pvd).unwrap_or_else(|e| panic!("{file}: {e}")).len(), 1);
    }
}

// ---------------------------------------------------------------------------------------------
// PNG preview.

#[test]
fn png_preview_has_the_box_aspect_and_colours_by_value() {
    let dir = tempfile::tempdir().unwrap();
    // An L-shaped domain on [0,2]x[0,1]: the top-right quarter has no points.
    let mut pts = Vec::new();
    for j in 0..=20 {
        for i in 0..=40 {
            let (x, y) = (i as f64 * 0.05, j as f64 * 0.05);
            if !(x > 1.05 && y > 0.55) {
                pts.push([x, y, 7.0]);
            }
        }
    }
    let mut values: Vec<f64> = pts.iter().map(|p| p[0]).collect();
    values[0] = f64::NAN; // NaN values are drawn grey, not an error
    let path = dir.path().join("p.png");
    write_preview(&path, &pts, &values, 64).unwrap();
    let (w, h, rgba) = common::decode_png(&path);
    assert_eq!((w, h), (64, 32));
    let px = |c: u32, r: u32| &rgba[((r * w + c) * 4) as usize..][..4];
    assert_ne!(px(2, 28), px(40, 28), "low and high values differ in colour");
    assert_eq!(px(2, 28)[3], 255);
    assert_eq!(px(60, 2)[3], 0, "the hole stays transparent");

    assert_eq!(write_preview(&path, &[], &[], 64).unwrap_err().kind(), ErrorKind::Usage);
    assert_eq!(write_preview(&path, &pts, &values[1..], 64).unwrap_err().kind(), ErrorKind::FieldShape);
}
