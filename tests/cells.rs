//! Forecasts keep the input mesh's cells (issue 16): a prediction opened in ParaView must show a
//! surface that plays as an animation, not a cloud of vertices. The example's triangles come back
//! as they are; a `.vti` lattice comes back as a `.vtu` with its pixels made explicit.

mod common;

use common::*;
use echo_onnx::grid::Grid;
use echo_onnx::mesh::read::read_mesh;
use echo_onnx::mesh::write::write_vti;
use echo_onnx::mesh::{Association, Field};

const VTK_TRIANGLE: u8 = 5;
const VTK_PIXEL: u8 = 8;

fn forecast(input: &std::path::Path, out: &std::path::Path) {
    let (o, json) = cli_json(&["forecast", "--bundle", s(&bundle("2d")), "--input", s(input), "--horizon", "2", "--steps", "2", "--out", s(out)]);
    assert!(o.status.success(), "forecast from {} failed:\n{}", input.display(), String::from_utf8_lossy(&o.stderr));
    assert_eq!(json["output"]["frames"], 2);
}

#[test]
fn forecast_keeps_the_example_triangles() {
    let dir = tempfile::tempdir().unwrap();
    let input = read_mesh(&example().join("input_0000.vtu")).unwrap();
    // A Delaunay triangulation of N scattered points in a square has about 2N triangles.
    assert!(input.cells.types.iter().all(|&t| t == VTK_TRIANGLE), "the example is not triangulated");
    assert!(input.cells.len() > 3 * input.points.len() / 2, "{} triangles for {} points", input.cells.len(), input.points.len());
    let out = dir.path().join("out");
    forecast(&example().join("input.pvd"), &out);
    for i in 0..2 {
        let frame = read_mesh(&out.join(format!("frame_{i:04}.vtu"))).unwrap();
        assert_eq!(frame.points, input.points, "frame {i}: points");
        assert_eq!(frame.cells, input.cells, "frame {i}: cells");
    }
}

#[test]
fn forecast_from_image_data_writes_its_pixels() {
    let dir = tempfile::tempdir().unwrap();
    // 24 x 24 nodes k/24 on the test bundle's periodic unit square.
    let grid = Grid::new(&[24, 24], &[0.0, 0.0], &[1.0, 1.0], &[true, true]).unwrap();
    let values = grid.nodes().iter().map(|p| 5.0 * (std::f64::consts::TAU * p[0]).sin() * (std::f64::consts::TAU * p[1]).cos()).collect();
    let input = dir.path().join("input.vti");
    write_vti(&input, &grid, &[Field { name: "vorticity".into(), components: 1, values }]).unwrap();
    let out = dir.path().join("out");
    forecast(&input, &out);
    let frame = read_mesh(&out.join("frame_0001.vtu")).unwrap();
    assert_eq!(frame.points, grid.nodes());
    assert_eq!(frame.cells.len(), 23 * 23);
    assert!(frame.cells.types.iter().all(|&t| t == VTK_PIXEL), "cell types {:?}", &frame.cells.types[..4]);
    assert_eq!(frame.field(Association::Point, "vorticity").unwrap().values.len(), 24 * 24);
}
