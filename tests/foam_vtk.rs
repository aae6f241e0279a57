//! foamToVTK's output given to echo-onnx as is: a `.vtm` multiblock reads as its internal mesh, the
//! `.vtm.series` index as a time series; bad indexes fail with exit 3 and say what is wrong.
//! The fixture (tests/fixtures/foam-vtk/VTK) was written by foamToVTK; its make.sh regenerates it.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use echo_onnx::mesh::read::{read_mesh, read_series};
use echo_onnx::mesh::{Association, Mesh};
use echo_onnx::ErrorKind;

const CELLS: usize = 4 * 3;
const POINTS: usize = 5 * 4 * 2;
const VTK_HEXAHEDRON: u8 = 12;

fn fixture() -> PathBuf {
    root().join("tests/fixtures/foam-vtk/VTK")
}

/// A writable copy of the fixture, for the tests that break it.
fn fixture_copy(dir: &Path) -> PathBuf {
    let to = dir.join("VTK");
    copy_tree(&fixture(), &to);
    to
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

fn values<'a>(m: &'a Mesh, assoc: Association, name: &str) -> &'a [f64] {
    &m.field(assoc, name).unwrap_or_else(|| panic!("no {assoc} field {name}")).values
}

/// The mesh of time step `index` as foamToVTK wrote it (T in cell i is i + 1, the last cell the time).
fn assert_internal(m: &Mesh, time: f64) {
    assert_eq!(m.points.len(), POINTS, "the internal mesh's points, no boundary points added");
    assert_eq!(m.cells.types, vec![VTK_HEXAHEDRON; CELLS], "the internal mesh's hexahedra, no boundary faces");
    let t: Vec<f64> = (1..CELLS).map(|i| i as f64).chain([time]).collect();
    assert_eq!(values(m, Association::Cell, "T"), t.as_slice());
    assert_eq!(values(m, Association::Cell, "U")[..3], [0.5, -1.0, time]);
    assert_eq!(values(m, Association::Point, "T").len(), POINTS, "foamToVTK's point-interpolated T");
}

#[test]
fn vtm_reads_as_its_internal_mesh() {
    for (i, time) in [0.0, 0.5, 1.0].into_iter().enumerate() {
        let vtm = read_mesh(&fixture().join(format!("tiny_{i}.vtm"))).unwrap();
        let direct = read_mesh(&fixture().join(format!("tiny_{i}/internal.vtu"))).unwrap();
        assert_eq!(vtm, direct, "tiny_{i}.vtm is its internal.vtu");
        assert_internal(&vtm, time);
    }
    // foamToVTK's nested boundary.vtm holds a single patch: it is that patch's surface.
    let walls = read_mesh(&fixture().join("tiny_1/boundary.vtm")).unwrap();
    assert_eq!(walls, read_mesh(&fixture().join("tiny_1/boundary/walls.vtp")).unwrap());
    assert_eq!(walls.cells.len(), 2 * (4 + 3), "the wall patch's faces");
}

#[test]
fn vtm_series_is_a_series_of_internal_meshes() {
    let frames = read_series(&fixture().join("tiny.vtm.series")).unwrap();
    assert_eq!(frames.iter().map(|f| f.time).collect::<Vec<_>>(), vec![0.0, 0.5, 1.0]);
    for f in &frames {
        assert_internal(&f.mesh, f.time);
    }
    // Given where a single mesh is expected, a series says so.
    let e = read_mesh(&fixture().join("tiny.vtm.series")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::MeshFormat);
    assert!(e.message().contains("is a time series"), "{e}");
}

#[test]
fn series_of_other_files_is_sorted_by_time_and_read_by_extension() {
    let dir = tempfile::tempdir().unwrap();
    let vtk = fixture_copy(dir.path());
    // Out of order, a .vtu and a .vtm side by side, names relative to the index's folder.
    let index = r#"{"file-series-version": "1.0", "files": [
        {"name": "tiny_2/internal.vtu", "time": 3.5},
        {"name": "tiny_0.vtm", "time": 1},
        {"name": "tiny_1/internal.vtu", "time": 2.25}]}"#;
    std::fs::write(vtk.join("mixed.vtu.series"), index).unwrap();
    let frames = read_series(&vtk.join("mixed.vtu.series")).unwrap();
    assert_eq!(frames.iter().map(|f| f.time).collect::<Vec<_>>(), vec![1.0, 2.25, 3.5]);
    for (f, written_at) in frames.iter().zip([0.0, 0.5, 1.0]) {
        assert_internal(&f.mesh, written_at);
    }
}

#[test]
fn multi_piece_block_joins_its_pieces() {
    // vtkXMLMultiBlockDataWriter's layout for a dataset written in pieces (one per rank), with the
    // index attributes and a null block it writes; the pieces join as a .vtu's pieces do.
    let dir = tempfile::tempdir().unwrap();
    let vtk = fixture_copy(dir.path());
    let body = "<Block index='0'><DataSet index='0'/></Block>\n<Piece index='1' name='internal'>\
        <DataSet index='0' file='tiny_0/internal.vtu'/><DataSet index='1' file='tiny_2/internal.vtu'/></Piece>\n";
    let m = read_mesh(&write(vtk.join("pieces.vtm"), &format!("{VTM_HEAD}{body}{VTM_TAIL}"))).unwrap();
    let (a, b) = (read_mesh(&vtk.join("tiny_0/internal.vtu")).unwrap(), read_mesh(&vtk.join("tiny_2/internal.vtu")).unwrap());
    assert_eq!(m.points, [a.points.clone(), b.points.clone()].concat());
    assert_eq!(m.cells.len(), 2 * CELLS);
    assert_eq!(m.cells.cell(CELLS), b.cells.cell(0).iter().map(|p| p + POINTS).collect::<Vec<_>>(), "the second piece's ids shifted");
    assert_eq!(values(&m, Association::Cell, "T"), [values(&a, Association::Cell, "T"), values(&b, Association::Cell, "T")].concat());
}

#[test]
fn cli_resamples_a_vtm_series() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let input = fixture().join("tiny.vtm.series");
    let r = cli(&["resample", "--input", s(&input), "--association", "cell", "--field", "T", "--grid", "8x8", "--out", s(&out)]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let back = read_mesh(&out.join("resampled.vtu")).unwrap();
    assert_eq!(back.cells.len(), CELLS, "the first frame's cells, from its internal mesh");
    assert!(back.field(Association::Cell, "T").is_some());
}

#[test]
fn out_holding_a_file_the_index_lists_is_refused_as_an_input() {
    // The output checks must know the files behind the index, not just the index: replacing
    // tiny_1/ would delete the internal mesh that the series reads at t = 0.5.
    let dir = tempfile::tempdir().unwrap();
    let vtk = fixture_copy(dir.path());
    for input in ["tiny.vtm.series", "tiny_1.vtm"] {
        let (input_path, out) = (vtk.join(input), vtk.join("tiny_1"));
        let argv = ["resample", "--input", s(&input_path), "--field", "T", "--grid", "8x8", "--out", s(&out), "--force"];
        let (r, json) = cli_json(&argv);
        assert_eq!(r.status.code(), Some(7), "{input}: {json}");
        let message = json["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains("an input of this run"), "{input}: {message}");
        assert!(vtk.join("tiny_1/internal.vtu").is_file(), "{input}: the input is still there");
    }
}

/// A broken-index case: `setup` edits a copy of the fixture in VTK/ and returns the input to give.
struct Case {
    name: &'static str,
    /// What the message must say (the file names it involves, the problem).
    says: &'static [&'static str],
    hint: &'static str,
    setup: fn(&Path) -> PathBuf,
}

fn write(path: PathBuf, text: &str) -> PathBuf {
    std::fs::write(&path, text).unwrap();
    path
}

const VTM_HEAD: &str = "<?xml version='1.0'?>\n<VTKFile type='vtkMultiBlockDataSet' version='1.0'>\n<vtkMultiBlockDataSet>\n";
const VTM_TAIL: &str = "</vtkMultiBlockDataSet>\n</VTKFile>\n";

const CASES: &[Case] = &[
    Case {
        name: "a block's file is missing",
        says: &["tiny_1.vtm': block 'internal'", "'tiny_1/internal.vtu', which does not exist"],
        hint: "keep the index next to the files",
        setup: |vtk| {
            std::fs::remove_file(vtk.join("tiny_1/internal.vtu")).unwrap();
            vtk.join("tiny_1.vtm")
        },
    },
    Case {
        name: "a series entry's .vtm lost its block file",
        says: &["tiny.vtm.series' (time 0.5)", "tiny_1.vtm': block 'internal'", "does not exist"],
        hint: "keep the index next to the files",
        setup: |vtk| {
            std::fs::remove_file(vtk.join("tiny_1/internal.vtu")).unwrap();
            vtk.join("tiny.vtm.series")
        },
    },
    Case {
        name: "a series entry is missing",
        says: &["tiny.vtm.series' (time 1)", "'tiny_2.vtm', which does not exist"],
        hint: "keep the index next to the files",
        setup: |vtk| {
            std::fs::remove_file(vtk.join("tiny_2.vtm")).unwrap();
            vtk.join("tiny.vtm.series")
        },
    },
    Case {
        name: "a block's file escapes the .vtm's folder",
        says: &["block 'internal'", "lists '../tiny_0/internal.vtu', which is outside the folder of"],
        hint: "only list files in its own folder",
        setup: |vtk| {
            std::fs::create_dir(vtk.join("sub")).unwrap();
            let body = "<DataSet name='internal' file='../tiny_0/internal.vtu'/>\n";
            write(vtk.join("sub/escape.vtm"), &format!("{VTM_HEAD}{body}{VTM_TAIL}"))
        },
    },
    Case {
        name: "a block's file is a symbolic link out of the .vtm's folder",
        says: &["lists 'inside.vtu', which is outside the folder of"],
        hint: "only list files in its own folder",
        setup: |vtk| {
            std::fs::create_dir(vtk.join("sub")).unwrap();
            std::os::unix::fs::symlink(vtk.join("tiny_0/internal.vtu"), vtk.join("sub/inside.vtu")).unwrap();
            let body = "<DataSet name='internal' file='inside.vtu'/>\n";
            write(vtk.join("sub/link.vtm"), &format!("{VTM_HEAD}{body}{VTM_TAIL}"))
        },
    },
    Case {
        name: "a series entry escapes the index's folder",
        says: &["(time 0)", "lists '../tiny_0.vtm', which is outside the folder of"],
        hint: "only list files in its own folder",
        setup: |vtk| {
            std::fs::create_dir(vtk.join("sub")).unwrap();
            write(vtk.join("sub/escape.vtm.series"), r#"{"file-series-version": "1.0", "files": [{"name": "../tiny_0.vtm", "time": 0}]}"#)
        },
    },
    Case {
        name: "a series entry is an absolute path elsewhere",
        says: &["outside.vtu', which is outside the folder of"],
        hint: "only list files in its own folder",
        setup: |vtk| {
            let outside = vtk.parent().unwrap().join("outside.vtu");
            std::fs::copy(vtk.join("tiny_0/internal.vtu"), &outside).unwrap();
            write(vtk.join("abs.vtu.series"), &format!(r#"{{"files": [{{"name": "{}", "time": 0}}]}}"#, outside.display()))
        },
    },
    Case {
        name: "malformed JSON",
        says: &["bad.vtm.series': not valid JSON", "line 1"],
        hint: "ParaView's JSON index",
        setup: |vtk| write(vtk.join("bad.vtm.series"), r#"{"files": [{"name": "tiny_0.vtm", "time": 0}"#),
    },
    Case {
        name: "a series with no files",
        says: &["empty.vtm.series': lists no files"],
        hint: "one file per time step",
        setup: |vtk| write(vtk.join("empty.vtm.series"), r#"{"file-series-version": "1.0", "files": []}"#),
    },
    Case {
        name: "a series entry without a time",
        says: &["entry 1 of \"files\" ('tiny_1.vtm') has no finite number \"time\""],
        hint: "ParaView's JSON index",
        setup: |vtk| write(vtk.join("notime.vtm.series"), r#"{"files": [{"name": "tiny_0.vtm", "time": 0}, {"name": "tiny_1.vtm"}]}"#),
    },
    Case {
        name: "two series entries at one time",
        says: &["lists two files at time 0.5 ('tiny_1.vtm' and 'tiny_2.vtm')"],
        hint: "each time may appear once",
        setup: |vtk| write(vtk.join("dup.vtm.series"), r#"{"files": [{"name": "tiny_1.vtm", "time": 0.5}, {"name": "tiny_2.vtm", "time": 0.5}]}"#),
    },
    Case {
        name: "a series entry that is itself a series",
        says: &["(time 0)", "is a time series, not a single mesh"],
        hint: "read it as a series",
        setup: |vtk| write(vtk.join("nested.series"), r#"{"files": [{"name": "tiny.vtm.series", "time": 0}]}"#),
    },
    Case {
        name: "several datasets, none named internal",
        says: &["has 2 datasets and none is named 'internal'", "'fluid' (tiny_0/internal.vtu)", "'walls/left' (tiny_0/boundary/walls.vtp)"],
        hint: "give echo-onnx the file of the block you want",
        setup: |vtk| {
            let body =
                "<DataSet name='fluid' file='tiny_0/internal.vtu'/>\n<Block name='walls'><DataSet name='left' file='tiny_0/boundary/walls.vtp'/></Block>\n";
            write(vtk.join("ambiguous.vtm"), &format!("{VTM_HEAD}{body}{VTM_TAIL}"))
        },
    },
    Case {
        name: "a .vtm whose blocks are all empty",
        says: &["empty.vtm': has no datasets"],
        hint: "export the mesh again",
        setup: |vtk| write(vtk.join("empty.vtm"), &format!("{VTM_HEAD}<Block name='internal'><DataSet index='0'/></Block>\n{VTM_TAIL}")),
    },
    Case {
        name: "a block that refers to a .vtm (it could refer to itself)",
        says: &["self.vtm': block 'internal'", "refers to another multiblock file 'self.vtm'"],
        hint: "a .vtm lists dataset files",
        setup: |vtk| write(vtk.join("self.vtm"), &format!("{VTM_HEAD}<DataSet name='internal' file='self.vtm'/>\n{VTM_TAIL}")),
    },
    Case {
        name: "not a multiblock file",
        says: &["not-multiblock.vtm'", "expected <VTKFile type=\"vtkMultiBlockDataSet\">"],
        hint: "re-export",
        setup: |vtk| {
            let vtu = std::fs::read(vtk.join("tiny_0/internal.vtu")).unwrap();
            std::fs::write(vtk.join("not-multiblock.vtm"), vtu).unwrap();
            vtk.join("not-multiblock.vtm")
        },
    },
];

#[test]
fn broken_indexes_exit_3_with_what_is_wrong() {
    for case in CASES {
        let dir = tempfile::tempdir().unwrap();
        let input = (case.setup)(&fixture_copy(dir.path()));
        let out = dir.path().join("out");
        let argv = ["resample", "--input", s(&input), "--association", "cell", "--field", "T", "--grid", "8x8", "--out", s(&out)];
        let (r, json) = cli_json(&argv);
        assert_eq!(r.status.code(), Some(3), "{}: {json}", case.name);
        assert_eq!(json["error"]["kind"], "mesh-format", "{}: {json}", case.name);
        let message = json["error"]["message"].as_str().unwrap_or_default();
        for says in case.says {
            assert!(message.contains(says), "{}: the message should say {says:?}: {message}", case.name);
        }
        let hint = json["error"]["hint"].as_str().unwrap_or_default();
        assert!(hint.contains(case.hint), "{}: the hint should say {:?}: {hint}", case.name, case.hint);
        assert!(!out.exists(), "{}: no output left behind", case.name);
    }
}
