//! What `foamToVTK` (and ParaView) write around the datasets: VTK XML multiblock files (`.vtm`), read
//! as one mesh, and ParaView's JSON file-series index (`.series`, e.g. `case.vtm.series`), read as a
//! time series.
//!
//! A `.vtm` only lists other files: `foamToVTK` writes `case_N.vtm` with the internal mesh
//! (`case_N/internal.vtu`, block `internal`) and the boundary patches nested in a block `boundary`.
//! The model needs one mesh, so a `.vtm` gives its only dataset, else the one named `internal`, else
//! an error listing the blocks: each block is a file of its own that can be given directly instead.

use std::path::{Path, PathBuf};

use super::{confined, context, in_file, join_pieces, read_bytes, read_mesh, xml};
use crate::err;
use crate::error::Result;
use crate::mesh::{Frame, Mesh};

/// The block `foamToVTK` gives the internal mesh (the cells the fields live on).
const INTERNAL: &str = "internal";
/// Deeper nesting than any writer produces; the limit keeps a hostile file from exhausting the stack.
const MAX_DEPTH: usize = 64;
const SERIES_FORMAT: &str =
    "a .series file is ParaView's JSON index: {\"file-series-version\": \"1.0\", \"files\": [{\"name\": \"case_1.vtm\", \"time\": 0.1}, ...]}";

/// A non-empty leaf of a multiblock tree: one dataset, in one file or (a multi-piece dataset) several.
#[derive(Debug, PartialEq)]
struct Dataset {
    /// Block names from the root, joined by `/` (`boundary/walls`).
    path: String,
    /// Its own name (`walls`).
    name: String,
    files: Vec<String>,
}

/// Read the dataset a `.vtm` selects (see the module's documentation).
pub fn read_vtm(path: &Path) -> Result<Mesh> {
    let chosen = vtm_dataset(&read_bytes(path)?, path)?;
    let in_block = |e| context(e, format!("'{}': block '{}'", path.display(), chosen.path));
    let dir = folder(path);
    let pieces = chosen
        .files
        .iter()
        .map(|file| {
            let file_path = confined(&dir, file, path).map_err(in_block)?;
            if extension(&file_path) == "vtm" {
                // VTK nests blocks inside one .vtm; a file referring to another could also refer to itself.
                return Err(in_block(
                    err!(MeshFormat, "refers to another multiblock file '{file}'")
                        .with_hint("a .vtm lists dataset files (.vtu, .vtp, .vti); give the nested .vtm to echo-onnx directly"),
                ));
            }
            read_mesh(&file_path).map_err(in_block)
        })
        .collect::<Result<Vec<_>>>()?;
    // Several files are the pieces of one dataset (a parallel writer's), joined as a .vtu's pieces are.
    join_pieces(pieces).map_err(in_block)
}

/// The dataset a `.vtm`'s bytes select, before any of its files is touched; `path` only names the
/// source in errors.
fn vtm_dataset(bytes: &[u8], path: &Path) -> Result<Dataset> {
    let root = xml::parse_tree(bytes).map_err(|e| in_file(e, path))?;
    let mut datasets = datasets(&root).map_err(|e| in_file(e, path))?;
    let chosen = choose(&datasets).map_err(|e| context(e, format!("'{}'", path.display())))?;
    let i = datasets.iter().position(|d| std::ptr::eq(d, chosen)).unwrap_or(0);
    Ok(datasets.swap_remove(i))
}

/// The files of the dataset a `.vtm` in memory selects, with the checks [`read_vtm`] makes before it
/// reads them (the in-memory entry point, for the series fuzz target).
pub fn vtm_files(bytes: &[u8], path: &Path) -> Result<Vec<String>> {
    vtm_dataset(bytes, path).map(|d| d.files)
}

/// The non-empty datasets of a `<VTKFile type="vtkMultiBlockDataSet">`, in file order.
fn datasets(root: &xml::Elem) -> Result<Vec<Dataset>> {
    const KIND: &str = "vtkMultiBlockDataSet";
    if root.name != "VTKFile" || root.attr("type") != Some(KIND) {
        return Err(err!(
            MeshFormat,
            "not a VTK multiblock file: the root is <{} type=\"{}\">, expected <VTKFile type=\"{KIND}\">",
            root.name,
            root.attr("type").unwrap_or("")
        ));
    }
    let top = root.child(KIND).ok_or_else(|| err!(MeshFormat, "<VTKFile type=\"{KIND}\"> has no <{KIND}> element"))?;
    let mut out = Vec::new();
    collect(top, "", 0, &mut out)?;
    Ok(out)
}

fn collect(el: &xml::Elem, prefix: &str, depth: usize, out: &mut Vec<Dataset>) -> Result<()> {
    if depth > MAX_DEPTH {
        return Err(err!(MeshFormat, "blocks are nested more than {MAX_DEPTH} levels deep"));
    }
    for (i, child) in el.children.iter().enumerate() {
        // Older VTK writers give blocks an index but no name.
        let name = child.attr("name").map_or_else(|| format!("block{}", child.attr("index").map_or(i.to_string(), str::to_string)), str::to_string);
        let path = if prefix.is_empty() { name.clone() } else { format!("{prefix}/{name}") };
        // A DataSet without a file is an empty block (VTK writes them for null blocks): skipped.
        let file = |d: &xml::Elem| d.attr("file").filter(|f| !f.trim().is_empty()).map(str::to_string);
        let files: Vec<String> = match child.name.as_str() {
            "Block" => {
                collect(child, &path, depth + 1, out)?;
                continue;
            }
            "DataSet" => file(child).into_iter().collect(),
            "Piece" => child.children("DataSet").filter_map(file).collect(),
            _ => continue, // FieldData and the like
        };
        if !files.is_empty() {
            out.push(Dataset { path, name, files });
        }
    }
    Ok(())
}

/// The only dataset, else the one named `internal`.
fn choose(datasets: &[Dataset]) -> Result<&Dataset> {
    if let [only] = datasets {
        return Ok(only);
    }
    let internal: Vec<&Dataset> = datasets.iter().filter(|d| d.name == INTERNAL).collect();
    if let [only] = internal[..] {
        return Ok(only);
    }
    if datasets.is_empty() {
        return Err(err!(MeshFormat, "has no datasets (every block is empty)").with_hint("export the mesh again, with its internal mesh"));
    }
    const SHOWN: usize = 12;
    let mut listed: Vec<String> = datasets.iter().take(SHOWN).map(|d| format!("'{}' ({})", d.path, d.files.join(", "))).collect();
    if datasets.len() > SHOWN {
        listed.push(format!("and {} more", datasets.len() - SHOWN));
    }
    let which = if internal.is_empty() { "none is named 'internal'".to_string() } else { format!("{} are named 'internal'", internal.len()) };
    Err(err!(MeshFormat, "has {} datasets and {which}, so which one is the mesh is ambiguous: {}", datasets.len(), listed.join(", "))
        .with_hint("give echo-onnx the file of the block you want instead of the .vtm (for a time series, list those files in a .pvd)"))
}

/// Read a `.series` index: its frames sorted by time, each file read by its own extension.
pub fn read_file_series(path: &Path) -> Result<Vec<Frame>> {
    let entries = file_series(&read_bytes(path)?, path)?;
    let dir = folder(path);
    entries
        .into_iter()
        .map(|(time, name)| {
            let in_entry = |e| context(e, format!("'{}' (time {time})", path.display()));
            let mesh = read_mesh(&confined(&dir, &name, path).map_err(in_entry)?).map_err(in_entry)?;
            Ok(Frame { time, mesh })
        })
        .collect()
}

/// (time, file name) of each entry of a `.series` index in memory, sorted by time and checked as
/// [`read_file_series`] checks them before it reads the files; `path` only names the source in errors.
pub fn file_series(bytes: &[u8], path: &Path) -> Result<Vec<(f64, String)>> {
    let mut entries = series_entries(bytes).map_err(|e| context(e, format!("'{}'", path.display())))?;
    entries.sort_by(|a, b| a.0.total_cmp(&b.0));
    if let Some(w) = entries.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(err!(MeshFormat, "'{}' lists two files at time {} ('{}' and '{}')", path.display(), w[0].0, w[0].1, w[1].1)
            .with_hint("each time may appear once; merge or remove the duplicate entry"));
    }
    Ok(entries)
}

/// (time, file name) of each entry of a `.series` index, in file order.
fn series_entries(bytes: &[u8]) -> Result<Vec<(f64, String)>> {
    let malformed = |m: String| err!(MeshFormat, "{m}").with_hint(SERIES_FORMAT);
    let doc: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| malformed(format!("not valid JSON: {e}")))?;
    match doc.get("file-series-version") {
        Some(v) if v.as_str() != Some("1.0") => return Err(malformed(format!("file-series-version is {v}; only \"1.0\" is known"))),
        _ => {} // ParaView's own reader does not require it either
    }
    let files = doc.get("files").and_then(|f| f.as_array()).ok_or_else(|| malformed("no \"files\" list".into()))?;
    if files.is_empty() {
        return Err(err!(MeshFormat, "lists no files").with_hint("export the case again: the index names one file per time step"));
    }
    files
        .iter()
        .enumerate()
        .map(|(i, entry)| {
            let name = entry.get("name").and_then(|n| n.as_str()).filter(|n| !n.trim().is_empty());
            let name = name.ok_or_else(|| malformed(format!("entry {i} of \"files\" has no \"name\" string: {entry}")))?;
            let time = entry.get("time").and_then(|t| t.as_f64()).filter(|t| t.is_finite());
            let time = time.ok_or_else(|| malformed(format!("entry {i} of \"files\" ('{name}') has no finite number \"time\": {entry}")))?;
            Ok((time, name.to_string()))
        })
        .collect()
}

/// The files a `.vtm` or `.series` index lists (through a `.series`, its `.vtm` entries' files too),
/// for the output checks of [`super::series_files`]. Best effort: what cannot be read lists nothing.
pub fn listed_files(path: &Path) -> Vec<PathBuf> {
    let (dir, Ok(bytes)) = (folder(path), std::fs::read(path)) else { return Vec::new() };
    match extension(path).as_str() {
        "vtm" => {
            let datasets = xml::parse_tree(&bytes).and_then(|root| datasets(&root)).unwrap_or_default();
            datasets.into_iter().flat_map(|d| d.files).map(|f| dir.join(f)).collect()
        }
        "series" => {
            let entries = series_entries(&bytes).unwrap_or_default();
            let files = entries.into_iter().map(|(_, name)| dir.join(name));
            // One level only: a .vtm lists datasets, and a .series in a .series is refused when read.
            files.flat_map(|f| if extension(&f) == "vtm" { [vec![f.clone()], listed_files(&f)].concat() } else { vec![f] }).collect()
        }
        _ => Vec::new(),
    }
}

/// The folder an index's relative names start from (empty for an index in the working directory).
fn folder(index: &Path) -> PathBuf {
    index.parent().map(Path::to_path_buf).unwrap_or_default()
}

fn extension(path: &Path) -> String {
    path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &str) -> Vec<Dataset> {
        let xml = format!("<VTKFile type=\"vtkMultiBlockDataSet\" version=\"1.0\"><vtkMultiBlockDataSet>{body}</vtkMultiBlockDataSet></VTKFile>");
        datasets(&xml::parse_tree(xml.as_bytes()).unwrap()).unwrap()
    }

    fn ds(path: &str, files: &[&str]) -> Dataset {
        let name = path.rsplit('/').next().unwrap().to_string();
        Dataset { path: path.into(), name, files: files.iter().map(|f| f.to_string()).collect() }
    }

    #[test]
    fn foam_to_vtk_layout_gives_internal() {
        let found = parse(
            "<DataSet name='internal' file='c_1/internal.vtu'/>\
             <Block name='boundary'><DataSet name='walls' file='c_1/boundary/walls.vtp'/></Block>",
        );
        assert_eq!(found, vec![ds("internal", &["c_1/internal.vtu"]), ds("boundary/walls", &["c_1/boundary/walls.vtp"])]);
        assert_eq!(choose(&found).unwrap().path, "internal");
    }

    #[test]
    fn vtk_writer_layout_with_indices_pieces_and_empty_blocks() {
        // vtkXMLMultiBlockDataWriter: index attributes, no names in older versions, a multi-piece
        // dataset, and a null block written as a DataSet without a file.
        let found = parse(
            "<Block index='0'><DataSet index='0' file='m/m_0_0.vtu'/><DataSet index='1'/></Block>\
             <Piece index='1' name='parts'><DataSet index='0' file='m/m_1_0.vtu'/><DataSet index='1' file='m/m_1_1.vtu'/></Piece>",
        );
        assert_eq!(found, vec![ds("block0/block0", &["m/m_0_0.vtu"]), ds("parts", &["m/m_1_0.vtu", "m/m_1_1.vtu"])]);
        let e = choose(&found).unwrap_err();
        assert!(e.message().contains("2 datasets and none is named 'internal'"), "{e}");
        assert!(e.message().contains("'parts' (m/m_1_0.vtu, m/m_1_1.vtu)"), "{e}");
        assert_eq!(choose(&found[1..]).unwrap().path, "parts");
    }

    #[test]
    fn no_dataset_or_two_internals_are_errors() {
        assert!(choose(&parse("<Block name='a'><DataSet name='x'/></Block>")).unwrap_err().message().contains("no datasets"));
        let two = parse("<Block name='r1'><DataSet name='internal' file='a.vtu'/></Block><Block name='r2'><DataSet name='internal' file='b.vtu'/></Block>");
        assert!(choose(&two).unwrap_err().message().contains("2 are named 'internal'"));
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let body = "<Block>".repeat(MAX_DEPTH + 2) + &"</Block>".repeat(MAX_DEPTH + 2);
        let xml = format!("<VTKFile type=\"vtkMultiBlockDataSet\"><vtkMultiBlockDataSet>{body}</vtkMultiBlockDataSet></VTKFile>");
        let e = datasets(&xml::parse_tree(xml.as_bytes()).unwrap()).unwrap_err();
        assert!(e.message().contains("nested more than"), "{e}");
    }

    #[test]
    fn listed_files_follow_a_series_into_its_vtm_files() {
        let dir = std::env::temp_dir().join(format!("echo-onnx-listed-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let vtm = "<VTKFile type='vtkMultiBlockDataSet'><vtkMultiBlockDataSet><DataSet name='internal' file='c_1/internal.vtu'/>\
                   <Block name='boundary'><DataSet name='walls' file='c_1/walls.vtp'/></Block></vtkMultiBlockDataSet></VTKFile>";
        std::fs::write(dir.join("c_1.vtm"), vtm).unwrap();
        std::fs::write(dir.join("c.series"), r#"{"files": [{"name": "c_1.vtm", "time": 1}, {"name": "x.vtu", "time": 2}]}"#).unwrap();
        let listed = listed_files(&dir.join("c.series"));
        std::fs::remove_dir_all(&dir).unwrap();
        let names = ["c_1.vtm", "c_1/internal.vtu", "c_1/walls.vtp", "x.vtu"].map(|n| dir.join(n));
        assert_eq!(listed, names);
    }

    #[test]
    fn series_entries_keep_names_and_times() {
        let json = br#"{"file-series-version": "1.0", "files": [{"name": "b.vtu", "time": 0.5}, {"name": "a.vtm", "time": 0}]}"#;
        assert_eq!(series_entries(json).unwrap(), vec![(0.5, "b.vtu".to_string()), (0.0, "a.vtm".to_string())]);
        for (bad, says) in [
            (&br#"{"files": [}"#[..], "not valid JSON"),
            (br#"{"file-series-version": "2.0", "files": []}"#, "only \"1.0\""),
            (br#"{"name": "a.vtu"}"#, "no \"files\" list"),
            (br#"{"files": []}"#, "lists no files"),
            (br#"{"files": [{"time": 1}]}"#, "entry 0 of \"files\" has no \"name\""),
            (br#"{"files": [{"name": "a.vtu", "time": "1"}]}"#, "no finite number \"time\""),
        ] {
            let e = series_entries(bad).unwrap_err();
            assert!(e.message().contains(says), "{}: {e}", String::from_utf8_lossy(bad));
        }
    }
}
