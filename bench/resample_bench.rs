//! Driver for `bench/resample_vs_vtk.py`: runs one resampling job of the `echo-onnx` library on
//! raw little-endian arrays and prints its phase times and memory accounting as JSON (file I/O is
//! not timed). Arguments are `key=value`:
//!
//! - `mode=to-grid dir=D grid=NXxNY[xNZ] bbox=x0,y0[,z0],x1,y1[,z1] method=linear|gaussian|nearest|idw
//!   [neighbours=8] [radius=2] [sharpness=2] [power=2] [cell_nodes=3 cell_type=5]`: reads
//!   `D/points.f64` (N x 3), `D/values.f32` (N), with `cell_nodes` `D/cells.u32` (fixed-size cells),
//!   writes `D/out.f32` (the grid, x fastest) and `D/coverage.f32`.
//! - `mode=to-points dir=D grid=... bbox=...`: reads `D/grid.f32` and `D/query.f64` (M x 3), writes
//!   `D/out.f32` (bi/trilinear values at the query points).
//! - `reps=R` (either mode): time R runs and report the fastest.

use std::collections::HashMap;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::Path;
use std::time::Instant;

use echo_onnx::grid::Grid;
use echo_onnx::mesh::{Association, Cells};
use echo_onnx::resample::{interpolate_linear, Footprint, Kernel, Outside, ResampleMethod, Resampler, Source};

fn main() {
    let args: HashMap<String, String> = std::env::args().skip(1).filter_map(|a| a.split_once('=').map(|(k, v)| (k.into(), v.into()))).collect();
    let get = |k: &str| args.get(k).unwrap_or_else(|| panic!("missing argument {k}=")).as_str();
    let num = |k: &str, d: f64| args.get(k).map_or(d, |v| v.parse().expect("a number"));
    let dir = Path::new(get("dir"));
    let shape: Vec<usize> = get("grid").split('x').map(|s| s.parse().unwrap()).collect();
    let bbox: Vec<f64> = get("bbox").split(',').map(|s| s.parse().unwrap()).collect();
    let dim = shape.len();
    let grid = Grid::new(&shape, &bbox[..dim], &bbox[dim..], &vec![false; dim]).unwrap();
    let report = match get("mode") {
        "to-grid" => to_grid(dir, &grid, get("method"), &num),
        "to-points" => to_points(dir, &grid, &num),
        other => panic!("unknown mode {other}"),
    };
    let mut report = report;
    report["peak_mb"] = peak_mb().into();
    println!("{report}");
}

/// This process's peak resident set (VmHWM), in MB. Taken here rather than from the parent's
/// rusage: a child spawned by a large parent is charged the parent's pages until it execs.
fn peak_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn to_grid(dir: &Path, grid: &Grid, method: &str, num: &dyn Fn(&str, f64) -> f64) -> serde_json::Value {
    let points = read_points(&dir.join("points.f64"));
    let values = read_f32(&dir.join("values.f32"));
    let cell_nodes = num("cell_nodes", 0.0) as usize;
    let cells = if cell_nodes > 0 { read_cells(&dir.join("cells.u32"), cell_nodes, num("cell_type", 5.0) as u8) } else { Cells::default() };
    let footprint = Footprint::Closest { n: num("neighbours", 8.0) as usize, radius: num("radius", 2.0) };
    let method = match method {
        "linear" => ResampleMethod::Linear,
        "gaussian" => ResampleMethod::Kernel { kernel: Kernel::Gaussian { sharpness: num("sharpness", 2.0) }, footprint },
        "nearest" => ResampleMethod::Kernel { kernel: Kernel::Nearest, footprint },
        "idw" => ResampleMethod::Kernel { kernel: Kernel::InverseDistance { power: num("power", 2.0) }, footprint },
        other => panic!("unknown method {other}"),
    };
    let source = Source { points: &points, cells: &cells, association: Association::Point };
    // The fastest of `reps` runs (the machine is shared: the minimum is the least disturbed).
    let (mut build_s, mut apply_s) = (f64::INFINITY, f64::INFINITY);
    let (mut r, mut out) = (None, vec![]);
    for _ in 0..reps(num) {
        drop((r.take(), std::mem::take(&mut out))); // (freed first: the peak is one run's)
        let t = Instant::now();
        let built = Resampler::build(grid, &source, method, Outside::Null(f32::NAN)).unwrap();
        build_s = build_s.min(t.elapsed().as_secs_f64());
        let t = Instant::now();
        out = built.to_grid(&values, 1).unwrap();
        apply_s = apply_s.min(t.elapsed().as_secs_f64());
        r = Some(built);
    }
    let r = r.unwrap();
    // The point index alone (part of build_s for the kernel methods), for the notes.
    let t = Instant::now();
    let index = echo_onnx::resample::PointIndex::new(&points, grid).unwrap();
    let index_s = t.elapsed().as_secs_f64();
    drop(index);
    write_f32(&dir.join("out.f32"), &out);
    write_f32(&dir.join("coverage.f32"), r.coverage());
    let cell_bytes = cells.connectivity.len() * 8 + cells.offsets.len() * 8 + cells.types.len();
    serde_json::json!({
        "build_s": build_s, "index_s": index_s, "apply_s": apply_s, "total_s": build_s + apply_s, "threads": rayon::current_num_threads(),
        "input_bytes": points.len() * 24 + values.len() * 4 + cell_bytes, "output_bytes": out.len() * 4 + grid.len() * 4,
        "search_bytes": r.search_bytes(), "cached_bytes": r.bytes(),
    })
}

fn to_points(dir: &Path, grid: &Grid, num: &dyn Fn(&str, f64) -> f64) -> serde_json::Value {
    let values = read_f32(&dir.join("grid.f32"));
    let query = read_points(&dir.join("query.f64"));
    let (mut total_s, mut out) = (f64::INFINITY, vec![]);
    for _ in 0..reps(num) {
        drop(std::mem::take(&mut out));
        let t = Instant::now();
        out = interpolate_linear(grid, &values, 1, &query).unwrap();
        total_s = total_s.min(t.elapsed().as_secs_f64());
    }
    write_f32(&dir.join("out.f32"), &out);
    serde_json::json!({
        "total_s": total_s, "threads": rayon::current_num_threads(),
        "input_bytes": values.len() * 4 + query.len() * 24, "output_bytes": out.len() * 4, "search_bytes": 0, "cached_bytes": 0,
    })
}

/// Timed repetitions (`reps=`, default 1).
fn reps(num: &dyn Fn(&str, f64) -> f64) -> usize {
    (num("reps", 1.0) as usize).max(1)
}

/// Stream a raw array in fixed-size records, without a second copy of the file in memory.
fn read_records<const B: usize, T>(path: &Path, f: impl Fn([u8; B]) -> T) -> Vec<T> {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let n = file.metadata().unwrap().len() as usize / B;
    let mut r = BufReader::with_capacity(1 << 20, file);
    let mut buf = [0u8; B];
    (0..n)
        .map(|_| {
            r.read_exact(&mut buf).unwrap();
            f(buf)
        })
        .collect()
}

fn read_points(path: &Path) -> Vec<[f64; 3]> {
    read_records::<24, _>(path, |b| std::array::from_fn(|a| f64::from_le_bytes(b[8 * a..8 * a + 8].try_into().unwrap())))
}

fn read_f32(path: &Path) -> Vec<f32> {
    read_records::<4, _>(path, f32::from_le_bytes)
}

fn read_cells(path: &Path, nodes: usize, cell_type: u8) -> Cells {
    let connectivity: Vec<usize> = read_records::<4, _>(path, |b| u32::from_le_bytes(b) as usize);
    let count = connectivity.len() / nodes;
    Cells { connectivity, offsets: (0..=count).map(|c| c * nodes).collect(), types: vec![cell_type; count] }
}

fn write_f32(path: &Path, values: &[f32]) {
    let mut w = BufWriter::new(std::fs::File::create(path).unwrap());
    values.iter().for_each(|v| w.write_all(&v.to_le_bytes()).unwrap());
}
