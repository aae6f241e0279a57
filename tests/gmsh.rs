//! Gmsh `.msh` input: the fixtures in tests/data/gmsh were written by Gmsh itself (make.py there),
//! and each `*.json` beside them holds what Gmsh's API said about the mesh and the data handed to it:
//! the oracle these tests compare with.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use common::{cli, s};
use echo_onnx::mesh::read::gmsh::read_msh;
use echo_onnx::mesh::read::{read_mesh, read_series};
use echo_onnx::mesh::{Association, Mesh};
use serde_json::Value;

fn data(name: &str) -> PathBuf {
    common::root().join("tests/data/gmsh").join(name)
}

fn oracle(stem: &str) -> Value {
    serde_json::from_slice(&std::fs::read(data(&format!("{stem}.json"))).unwrap()).unwrap()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}

fn ints(v: &Value) -> Vec<u64> {
    v.as_array().unwrap().iter().map(|x| x.as_u64().unwrap()).collect()
}

/// VTK cell type of a first-order Gmsh element type.
fn vtk_type(gmsh: u64) -> u8 {
    match gmsh {
        15 => 1,
        1 => 3,
        2 => 5,
        3 => 9,
        4 => 10,
        5 => 12,
        6 => 13,
        7 => 14,
        t => panic!("type {t}"),
    }
}

const SQUARE: [&str; 4] = ["square_22_ascii.msh", "square_22_binary.msh", "square_41_ascii.msh", "square_41_binary.msh"];

#[test]
fn each_flavour_reads_back_what_gmsh_wrote() {
    let o = oracle("square");
    let tags = ints(&o["node_tags"]);
    let coords = floats(&o["coords"]);
    let index: HashMap<u64, usize> = tags.iter().enumerate().map(|(i, &t)| (t, i)).collect();
    // Cells are the 2D elements (triangles, quads); Gmsh also wrote boundary lines and corner points.
    let elements: HashMap<u64, (u64, Vec<u64>)> = o["elements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e[0].as_u64().unwrap(), (e[1].as_u64().unwrap(), ints(&e[2]))))
        .filter(|(_, (t, _))| [2, 3].contains(t))
        .collect();
    assert!(elements.values().any(|e| e.0 == 2) && elements.values().any(|e| e.0 == 3), "the fixture mixes triangles and quads");

    for name in SQUARE {
        let path = data(name);
        let frames = read_series(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(frames.iter().map(|f| f.time).collect::<Vec<_>>(), vec![0.25, 0.5], "{name}: one frame per time step");
        let m = &frames[0].mesh;
        assert_eq!(&read_mesh(&path).unwrap(), m, "{name}: read_mesh gives the first time step");

        // Nodes in the file's order, which for Gmsh's output is the API's order. ASCII holds 16 digits.
        assert_eq!(m.points.len(), tags.len(), "{name}");
        let tol = if name.contains("ascii") { 1e-15 } else { 0.0 };
        for (i, p) in m.points.iter().enumerate() {
            for a in 0..3 {
                assert!((p[a] - coords[3 * i + a]).abs() <= tol, "{name}: point {i} axis {a}: {} vs {}", p[a], coords[3 * i + a]);
            }
            assert_eq!(p[2], 0.0, "{name}: a 2D mesh keeps z = 0");
        }

        // Cells: identified through the element data Gmsh wrote (each cell's own tag).
        assert_eq!(m.cells.len(), elements.len(), "{name}");
        let cell_tag = m.field(Association::Cell, "cell_tag").unwrap();
        for i in 0..m.cells.len() {
            let (ty, nodes) = &elements[&(cell_tag.values[i] as u64)];
            assert_eq!(m.cells.types[i], vtk_type(*ty), "{name}: cell {i}");
            let expected: Vec<usize> = nodes.iter().map(|t| index[t]).collect();
            assert_eq!(m.cells.cell(i), expected.as_slice(), "{name}: cell {i}");
        }

        // Data: every value Gmsh was given comes back exactly, at its time, on its node or element.
        for (field, steps) in o["data"].as_object().unwrap() {
            for (frame, step) in frames.iter().zip(steps.as_array().unwrap()) {
                assert_eq!(frame.time, step["time"].as_f64().unwrap());
                let assoc = if step["kind"] == "NodeData" { Association::Point } else { Association::Cell };
                let f = frame.mesh.field(assoc, field).unwrap_or_else(|| panic!("{name}: no {assoc} field {field}"));
                let c = step["components"].as_u64().unwrap() as usize;
                assert_eq!(f.components, c);
                let cell_of: HashMap<u64, usize> = cell_tag.values.iter().enumerate().map(|(i, &t)| (t as u64, i)).collect();
                let values = floats(&step["values"]);
                for (k, tag) in ints(&step["tags"]).into_iter().enumerate() {
                    let i = if assoc == Association::Point { index[&tag] } else { cell_of[&tag] };
                    assert_eq!(&f.values[i * c..(i + 1) * c], &values[k * c..(k + 1) * c], "{name}: {field} at t = {} on {tag}", frame.time);
                }
            }
        }
    }
}

#[test]
fn element_types_and_node_order_match_gmsh_vtk_export() {
    let ascii = read_mesh(&data("solid_41_ascii.msh")).unwrap();
    let binary = read_mesh(&data("solid_22_binary.msh")).unwrap();
    // Gmsh's default when appending views: the mesh is written again before each, identical.
    assert_eq!(read_mesh(&data("solid_41_binary_savemesh.msh")).unwrap(), ascii);
    // Format 2 output holds only the 12 nodes the elements use (renumbered) and marks the node data of
    // the other 2 with tag -1; format 4.1 keeps all 14 with their sparse, shuffled tags.
    assert_eq!((ascii.points.len(), binary.points.len()), (14, 12));
    // The boundary quad/triangle, the line and the point element are dropped: 4 volume cells.
    let mut types = ascii.cells.types.clone();
    types.sort();
    assert_eq!(types, vec![10, 12, 13, 14]);

    // Node data on sparse, shuffled tags: the field "position" is each node's coordinates.
    for m in [&ascii, &binary] {
        let position = m.field(Association::Point, "position").unwrap();
        assert_eq!(position.values, m.points.iter().flatten().copied().collect::<Vec<_>>());
    }
    let o = oracle("solid");
    let mut expected: Vec<Vec<f64>> = floats(&o["coords"]).chunks(3).map(|c| c.to_vec()).collect();
    let mut got: Vec<Vec<f64>> = ascii.points.iter().map(|p| p.to_vec()).collect();
    expected.sort_by(|a, b| a.partial_cmp(b).unwrap());
    got.sort_by(|a, b| a.partial_cmp(b).unwrap());
    assert_eq!(got, expected);

    // Gmsh's own VTK export of the same mesh (it drops unused nodes, keeps every element): the cells
    // of dimension 3 must have the same type and the same corner coordinates in the same order.
    let vtk = read_mesh(&data("solid.vtk")).unwrap();
    let corners = |m: &Mesh, i: usize| -> (u8, Vec<[f64; 3]>) { (m.cells.types[i], m.cells.cell(i).iter().map(|&p| m.points[p]).collect()) };
    let mut from_vtk: Vec<_> = (0..vtk.cells.len()).filter(|&i| vtk.cells.types[i] >= 10).map(|i| corners(&vtk, i)).collect();
    from_vtk.sort_by(|a, b| a.partial_cmp(b).unwrap());
    for m in [&ascii, &binary] {
        let mut from_msh: Vec<_> = (0..m.cells.len()).map(|i| corners(m, i)).collect();
        from_msh.sort_by(|a, b| a.partial_cmp(b).unwrap());
        assert_eq!(from_msh, from_vtk);

        // Element data: Gmsh was given 1, 1/2, 1/4, 1/8 for the hex, prism, pyramid and tet (and -1
        // for a boundary quad, which is not a cell).
        let volume = m.field(Association::Cell, "volume").unwrap();
        for (i, &t) in m.cells.types.iter().enumerate() {
            let want = match t {
                12 => 1.0,
                13 => 0.5,
                14 => 0.25,
                _ => 0.125,
            };
            assert_eq!(volume.values[i], want, "cell type {t}");
        }
    }
}

#[test]
fn pvd_of_msh_files_is_a_series() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(data("square_41_binary.msh"), dir.path().join("a.msh")).unwrap();
    std::fs::copy(data("square_22_ascii.msh"), dir.path().join("b.msh")).unwrap();
    let pvd = dir.path().join("series.pvd");
    std::fs::write(
        &pvd,
        "<?xml version=\"1.0\"?>\n<VTKFile type=\"Collection\" version=\"0.1\">\n<Collection>\n\
        <DataSet timestep=\"1\" part=\"0\" file=\"b.msh\"/>\n<DataSet timestep=\"0\" part=\"0\" file=\"a.msh\"/>\n</Collection>\n</VTKFile>\n",
    )
    .unwrap();
    let frames = read_series(&pvd).unwrap();
    assert_eq!(frames.len(), 2);
    assert_eq!(frames[0].time, 0.0);
    assert_eq!(frames[0].mesh, read_mesh(&dir.path().join("a.msh")).unwrap());
    assert_eq!(frames[1].mesh.cells, frames[0].mesh.cells);
}

#[test]
fn resample_reads_msh_through_the_cli() {
    // p = 1 + 2x + 3y at the first time step: linear interpolation in the mesh's cells (triangles and
    // quads from the reader) must give it back on the grid.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let input = data("square_22_binary.msh");
    let query = data("square_41_ascii.msh");
    let run =
        cli(&["--quiet", "resample", "--input", s(&input), "--grid", "16x16", "--kernel", "linear", "--field", "p", "--query", s(&query), "--out", s(&out)]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let grid = read_mesh(&out.join("grid.vti")).unwrap();
    let p = grid.field(Association::Point, "p").unwrap();
    let coverage = grid.field(Association::Point, "coverage").unwrap();
    let mut covered = 0;
    for (i, x) in grid.points.iter().enumerate() {
        if coverage.values[i] > 0.0 {
            covered += 1;
            let want = 1.0 + 2.0 * x[0] + 3.0 * x[1];
            assert!((p.values[i] - want).abs() < 1e-4, "grid node {x:?}: {} vs {want}", p.values[i]);
        }
    }
    assert_eq!(covered, 256, "the grid spans the mesh's bounding box, all inside the mesh");
    // And back from the grid onto the --query mesh's nodes (read from another .msh flavour).
    let back = read_mesh(&out.join("resampled.vtu")).unwrap();
    assert_eq!(back.points.len(), read_mesh(&query).unwrap().points.len());
    let p = back.field(Association::Point, "p").unwrap();
    for (x, v) in back.points.iter().zip(&p.values) {
        let want = 1.0 + 2.0 * x[0] + 3.0 * x[1];
        assert!((v - want).abs() < 1e-4, "query node {x:?}: {v} vs {want}");
    }
}

#[test]
fn forecast_continues_the_time_steps_of_a_msh() {
    // The fixture's data is at t = 0.25 and 0.5: a forecast with the test bundle (dt = 0.1) starts
    // after the last of them. --ignore-dt: the steps are 0.25 apart.
    let dir = tempfile::tempdir().unwrap();
    let bundle = common::bundle("2d");
    let input = data("square_41_binary.msh");
    let (run, j) = common::cli_json(&[
        "forecast",
        "--bundle",
        s(&bundle),
        "--input",
        s(&input),
        "--field",
        "vorticity=p",
        "--ignore-dt",
        "--horizon",
        "3",
        "--out",
        s(&dir.path().join("f")),
    ]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let times: Vec<f64> = j["output"]["times"].as_array().unwrap().iter().map(|t| t.as_f64().unwrap()).collect();
    assert_eq!(times.len(), 3);
    for (t, want) in times.iter().zip([0.6, 0.7, 0.8]) {
        assert!((t - want).abs() < 1e-12, "{times:?}");
    }
    assert_eq!(j["output"]["points"].as_u64().unwrap() as usize, oracle("square")["node_tags"].as_array().unwrap().len(), "predicted on the .msh nodes");
}

/// Run `resample` on a bad file: exit 3 and a message that names the file and contains `needle`.
fn rejects(path: &Path, needle: &str) {
    let out = tempfile::tempdir().unwrap();
    let run = cli(&["resample", "--input", s(path), "--grid", "16x16", "--out", s(&out.path().join("o"))]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(3), "{}: {stderr}", path.display());
    assert!(stderr.contains(s(path)), "the message names the file: {stderr}");
    assert!(stderr.contains(needle), "expected '{needle}' in: {stderr}");
}

#[test]
fn bad_files_exit_3_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, bytes: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    };
    let binary = std::fs::read(data("square_41_binary.msh")).unwrap();
    rejects(&write("truncated.msh", &binary[..binary.len() / 2]), "truncated");
    let ascii = std::fs::read_to_string(data("square_22_ascii.msh")).unwrap();
    rejects(&write("truncated_ascii.msh", &ascii.as_bytes()[..ascii.len() / 3]), "truncated");
    rejects(&write("v40.msh", ascii.replacen("2.2 0 8", "4 0 8", 1).as_bytes()), "version '4' is not read");
    rejects(&write("v3.msh", ascii.replacen("2.2 0 8", "3.0 0 8", 1).as_bytes()), "version '3.0' is not read");
    // A $NodeData line for node 9999, which $Nodes does not have.
    let at = ascii.find("$NodeData").unwrap();
    let first_value = at + ascii[at..].find("\n1 ").unwrap();
    let dangling = format!("{}\n9999 {}", &ascii[..first_value], &ascii[first_value + 3..]);
    rejects(&write("dangling.msh", dangling.as_bytes()), "gives a value for node 9999, which is not in $Nodes");
    rejects(&data("square_order2.msh"), "second-order");
    rejects(&write("empty.msh", b""), "does not start with $MeshFormat");
    rejects(&write("vtk.msh", b"# vtk DataFile Version 2.0\n"), "does not start with $MeshFormat");
}

#[test]
fn every_truncation_is_an_error_and_never_a_panic() {
    for name in ["solid_22_binary.msh", "solid_41_ascii.msh"] {
        let bytes = std::fs::read(data(name)).unwrap();
        assert!(read_msh(&bytes).is_ok());
        // A prefix is a valid file only when it stops between sections (after some `$EndX`).
        for n in 0..bytes.len() {
            if read_msh(&bytes[..n]).is_ok() {
                let text = String::from_utf8_lossy(&bytes[..n]);
                let last = text.split_ascii_whitespace().last().unwrap_or("");
                let complete = bytes[n - 1].is_ascii_whitespace() || bytes[n].is_ascii_whitespace();
                assert!(last.starts_with("$End") && complete, "{name}: a prefix of {n} bytes, ending in '{last}', was accepted");
            }
        }
        // Flipped bytes: any outcome but a panic.
        for i in (0..bytes.len()).step_by(7) {
            let mut bad = bytes.clone();
            bad[i] ^= 0x5a;
            let _ = read_msh(&bad);
        }
    }
}
