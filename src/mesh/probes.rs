//! Sparse inputs: values at a few points (probes), as a series of point clouds without cells.
//!
//! - An OpenFOAM case directory whose `probes` function object has run: the probe locations come
//!   from the case's dictionary (a `type probes;` entry of `functions` in `system/controlDict`,
//!   inline, through `#include "file"`, or `#includeFunc probes` with its `system/probes`), the
//!   values from `postProcessing/<name>/<startTime>/<field>` (several start times after restarts:
//!   a later start time's rows replace the earlier ones from its first time on).
//! - A CSV file: a header `x,y[,z],<field>...` with an optional `time` column; columns
//!   `<name>_x,<name>_y[,<name>_z]` form a vector field `<name>`. Rows of one time are one frame;
//!   every frame has the same points in the same order.
//!
//! Every frame is a [`Mesh`] of the probe locations with point data. The readers refuse what would
//! make a wrong reconstruction silently: a probe OpenFOAM did not find in its mesh, NaN/Inf values,
//! a probe file that does not match its dictionary (count or locations), ragged rows, frames with
//! different fields or points.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::err;
use crate::error::{Error, Result};
use crate::mesh::{Field, Frame, Mesh};

/// Whether `path` is a sparse input: a directory (an OpenFOAM case) or a `.csv` file.
pub fn is_sparse(path: &Path) -> bool {
    path.is_dir() || path.extension().and_then(|e| e.to_str()).is_some_and(|e| e.eq_ignore_ascii_case("csv"))
}

/// Read a sparse input: an OpenFOAM case with probes output, or a CSV file.
pub fn read(path: &Path) -> Result<Vec<Frame>> {
    if path.is_dir() {
        read_case(path)
    } else {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io("read", path, e))?;
        csv_from_str(&text, &path.display().to_string())
    }
}

const CASE_HINT: &str = "give an OpenFOAM case whose system/controlDict has a 'type probes;' function (inline, #include or #includeFunc probes) that has run";

// ---------------------------------------------------------------------------------------------
// OpenFOAM dictionaries: just enough to find a probes function and its locations.

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Open(char),
    Close(char),
    Semi,
}

fn tokens(text: &str) -> Vec<Token> {
    let mut out = vec![];
    let b: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '/' && b.get(i + 1) == Some(&'/') {
            while i < b.len() && b[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && b.get(i + 1) == Some(&'*') {
            i += 2;
            while i + 1 < b.len() && !(b[i] == '*' && b[i + 1] == '/') {
                i += 1;
            }
            i += 2;
        } else if c == '"' {
            let start = i + 1;
            i += 1;
            while i < b.len() && b[i] != '"' {
                i += 1;
            }
            out.push(Token::Word(b[start..i.min(b.len())].iter().collect()));
            i += 1;
        } else if matches!(c, '{' | '(' | '[') {
            out.push(Token::Open(c));
            i += 1;
        } else if matches!(c, '}' | ')' | ']') {
            out.push(Token::Close(c));
            i += 1;
        } else if c == ';' {
            out.push(Token::Semi);
            i += 1;
        } else {
            let start = i;
            while i < b.len() && !b[i].is_whitespace() && !matches!(b[i], '{' | '}' | '(' | ')' | '[' | ']' | ';' | '"') {
                i += 1;
            }
            out.push(Token::Word(b[start..i].iter().collect()));
        }
    }
    out
}

/// A dictionary entry's value: a sub-dictionary or the tokens before its `;`.
#[derive(Debug, Clone)]
enum Value {
    Dict(Dict),
    Tokens(Vec<Token>),
}

type Dict = Vec<(String, Value)>;

fn lookup<'a>(dict: &'a Dict, key: &str) -> Option<&'a Value> {
    dict.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v)
}

fn word<'a>(dict: &'a Dict, key: &str) -> Option<&'a str> {
    match lookup(dict, key)? {
        Value::Tokens(t) => match t.first()? {
            Token::Word(w) => Some(w),
            _ => None,
        },
        Value::Dict(_) => None,
    }
}

/// Parse a dictionary file, splicing `#include` files and turning `#includeFunc NAME` into an entry
/// NAME holding `system/NAME` (or an empty dictionary when the case has none).
fn parse_file(path: &Path, case: &Path, depth: usize) -> Result<Dict> {
    if depth > 8 {
        return Err(err!(MeshFormat, "'{}': #include nested deeper than 8 levels", path.display()).with_hint("an #include loops back on itself"));
    }
    let text = std::fs::read_to_string(path).map_err(|e| Error::io("read", path, e))?;
    let toks = tokens(&text);
    let mut pos = 0;
    parse_dict(&toks, &mut pos, path, case, depth, false)
}

/// Sub-dictionaries nested deeper than this are refused (the parser recurses once per level).
const MAX_NESTING: usize = 64;

fn parse_dict(t: &[Token], pos: &mut usize, path: &Path, case: &Path, depth: usize, nested: bool) -> Result<Dict> {
    parse_level(t, pos, path, case, depth, nested, 0)
}

fn parse_level(t: &[Token], pos: &mut usize, path: &Path, case: &Path, depth: usize, nested: bool, level: usize) -> Result<Dict> {
    let mut dict = Dict::new();
    let bad = |what: &str| err!(MeshFormat, "'{}': {what}", path.display()).with_hint("the dictionary is not valid OpenFOAM syntax");
    if level > MAX_NESTING {
        return Err(bad(&format!("sub-dictionaries nested deeper than {MAX_NESTING} levels")));
    }
    while *pos < t.len() {
        match &t[*pos] {
            Token::Close('}') if nested => {
                *pos += 1;
                return Ok(dict);
            }
            Token::Semi => *pos += 1,
            Token::Word(w) if w == "#include" || w == "#includeEtc" || w == "#includeIfPresent" || w == "#includeFunc" => {
                let directive = w.clone();
                let Some(Token::Word(arg)) = t.get(*pos + 1) else { return Err(bad(&format!("{directive} without a file name"))) };
                *pos += 2;
                if directive == "#includeFunc" {
                    // `#includeFunc probes` or `#includeFunc probes(...)`: the case's own system/NAME.
                    let name = arg.split('(').next().unwrap_or(arg).to_string();
                    if matches!(t.get(*pos), Some(Token::Open('('))) {
                        skip_group(t, pos);
                    }
                    let file = case.join("system").join(&name);
                    let mut sub = if file.is_file() { parse_file(&file, case, depth + 1)? } else { Dict::new() };
                    sub.insert(0, ("__includeFunc".into(), Value::Tokens(vec![Token::Word(name.clone())])));
                    dict.push((name, Value::Dict(sub)));
                } else if directive == "#includeEtc" {
                    // OpenFOAM's own files: nothing about the case's probes.
                } else {
                    let expanded = arg.replace("$FOAM_CASE", &case.display().to_string()).replace("<case>", &case.display().to_string());
                    let file =
                        if Path::new(&expanded).is_absolute() { PathBuf::from(expanded) } else { path.parent().unwrap_or(Path::new(".")).join(expanded) };
                    if file.is_file() {
                        dict.extend(parse_file(&file, case, depth + 1)?);
                    } else if directive == "#include" {
                        return Err(err!(MeshFormat, "'{}': #include \"{arg}\": no such file '{}'", path.display(), file.display()).with_hint(CASE_HINT));
                    }
                }
            }
            Token::Word(w) if w.starts_with('#') => {
                // Other directives (#inputMode, #remove ...) take one argument at most here.
                *pos += 1;
            }
            Token::Word(key) => {
                let key = key.clone();
                *pos += 1;
                match t.get(*pos) {
                    Some(Token::Open('{')) => {
                        *pos += 1;
                        let sub = parse_level(t, pos, path, case, depth, true, level + 1)?;
                        dict.push((key, Value::Dict(sub)));
                    }
                    _ => {
                        let start = *pos;
                        while *pos < t.len() && t[*pos] != Token::Semi {
                            match t[*pos] {
                                Token::Open(_) => skip_group(t, pos),
                                Token::Close('}') => break,
                                _ => *pos += 1,
                            }
                        }
                        dict.push((key, Value::Tokens(t[start..(*pos).min(t.len())].to_vec())));
                    }
                }
            }
            other => return Err(bad(&format!("unexpected '{other:?}'"))),
        }
    }
    if nested {
        return Err(bad("a '{' is not closed"));
    }
    Ok(dict)
}

/// Skip a bracketed group starting at `pos` (an opening token).
fn skip_group(t: &[Token], pos: &mut usize) {
    let mut level = 0usize;
    while *pos < t.len() {
        match t[*pos] {
            Token::Open(_) => level += 1,
            Token::Close(_) => {
                level = level.saturating_sub(1);
                if level == 0 {
                    *pos += 1;
                    return;
                }
            }
            _ => {}
        }
        *pos += 1;
    }
}

/// `( (x y z) (x y z) ... )` -> locations; `what` names the source in errors.
fn locations_of(tokens: &[Token], what: &str) -> Result<Vec<[f64; 3]>> {
    let bad = |m: String| err!(MeshFormat, "{what}: {m}").with_hint("probeLocations is a list of (x y z) points, e.g. ( (0.1 0 0) (0.2 0 0) )");
    let mut out = vec![];
    let mut i = 0;
    // The list may be preceded by its length, as OpenFOAM writes lists: `3 ( ... )`.
    if matches!(tokens.first(), Some(Token::Word(_))) && matches!(tokens.get(1), Some(Token::Open('('))) {
        i = 1;
    }
    if tokens.get(i) != Some(&Token::Open('(')) {
        return Err(bad("no '(' list".into()));
    }
    i += 1;
    while i < tokens.len() && tokens[i] != Token::Close(')') {
        if tokens[i] != Token::Open('(') {
            return Err(bad(format!("expected '(' of a point, found {:?}", tokens[i])));
        }
        let mut p = vec![];
        i += 1;
        while i < tokens.len() && tokens[i] != Token::Close(')') {
            match &tokens[i] {
                Token::Word(w) => p.push(w.parse::<f64>().map_err(|_| bad(format!("'{w}' is not a number")))?),
                other => return Err(bad(format!("unexpected {other:?} in a point"))),
            }
            i += 1;
        }
        i += 1;
        if p.len() != 3 {
            return Err(bad(format!("point {} has {} coordinates, expected 3", out.len(), p.len())));
        }
        if !p.iter().all(|v| v.is_finite()) {
            return Err(err!(NonFinite, "{what}: point {} is not finite", out.len()));
        }
        out.push([p[0], p[1], p[2]]);
    }
    Ok(out)
}

/// A probes function of the case: its name (the postProcessing directory) and locations.
#[derive(Debug)]
struct ProbesFunction {
    name: String,
    locations: Vec<[f64; 3]>,
    fields: Option<Vec<String>>,
}

fn probes_functions(case: &Path) -> Result<Vec<ProbesFunction>> {
    let control = case.join("system").join("controlDict");
    if !control.is_file() {
        return Err(err!(MeshFormat, "'{}' is a directory but has no system/controlDict", case.display()).with_hint(CASE_HINT));
    }
    let dict = parse_file(&control, case, 0)?;
    let Some(Value::Dict(functions)) = lookup(&dict, "functions") else {
        return Err(err!(MissingField, "'{}' has no functions entry", control.display()).with_hint(CASE_HINT));
    };
    let mut found = vec![];
    for (name, value) in functions {
        let Value::Dict(f) = value else { continue };
        let is_probes = word(f, "type") == Some("probes") || (word(f, "__includeFunc").is_some() && lookup(f, "probeLocations").is_some());
        if !is_probes {
            continue;
        }
        let what = format!("'{}': function '{name}' probeLocations", control.display());
        let Some(Value::Tokens(t)) = lookup(f, "probeLocations") else {
            return Err(err!(MissingField, "'{}': probes function '{name}' has no probeLocations", control.display()).with_hint(CASE_HINT));
        };
        let locations = locations_of(t, &what)?;
        let fields = match lookup(f, "fields") {
            Some(Value::Tokens(t)) => Some(t.iter().filter_map(|t| if let Token::Word(w) = t { Some(w.clone()) } else { None }).collect()),
            _ => None,
        };
        found.push(ProbesFunction { name: name.clone(), locations, fields });
    }
    if found.is_empty() {
        return Err(err!(MissingField, "'{}': no probes function among the functions", control.display()).with_hint(CASE_HINT));
    }
    Ok(found)
}

// ---------------------------------------------------------------------------------------------
// Probe files.

/// One probe file: header locations, "not found" marks, rows of (time, values per probe).
#[derive(Debug)]
struct ProbeFile {
    locations: Vec<[f64; 3]>,
    not_found: Vec<usize>,
    components: usize,
    times: Vec<f64>,
    /// Per row, probe-major values.
    rows: Vec<Vec<f64>>,
}

/// Parse the text of one `postProcessing/<name>/<time>/<field>` file; `what` names it in errors.
fn probe_file(text: &str, what: &str) -> Result<ProbeFile> {
    let mut f = ProbeFile { locations: vec![], not_found: vec![], components: 0, times: vec![], rows: vec![] };
    let bad =
        |line: usize, m: String| err!(MeshFormat, "{what}, line {line}: {m}").with_hint("the probe file is truncated or not written by OpenFOAM's probes");
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        let n = n + 1;
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix('#') {
            let rest = rest.trim();
            if let Some(p) = rest.strip_prefix("Probe ") {
                // `# Probe 3 (x y z)` (possibly `  # Not Found`); the column line is `# Probe 0 1 2`.
                if let Some((open, close)) = p.find('(').and_then(|o| p[o..].find(')').map(|c| (o, o + c))) {
                    let idx: usize = p[..open].trim().parse().map_err(|_| bad(n, format!("'{line}' has no probe number")))?;
                    let xyz: Vec<f64> = p[open + 1..close]
                        .split_whitespace()
                        .map(|v| v.parse::<f64>())
                        .collect::<Result<_, _>>()
                        .map_err(|_| bad(n, format!("'{line}': bad location")))?;
                    if idx != f.locations.len() || xyz.len() != 3 {
                        return Err(bad(n, format!("'{line}': expected probe {} with 3 coordinates", f.locations.len())));
                    }
                    if p[close..].contains("Not Found") {
                        f.not_found.push(idx);
                    }
                    f.locations.push([xyz[0], xyz[1], xyz[2]]);
                }
            }
            continue;
        }
        // A row: time, then one value per probe: scalars, or `(a b c)` for vectors and tensors.
        let flat = line.replace('(', " ( ").replace(')', " ) ");
        let mut it = flat.split_whitespace();
        let time: f64 = it.next().and_then(|t| t.parse().ok()).ok_or_else(|| bad(n, "the row does not start with a time".into()))?;
        let mut values = vec![];
        let mut components = 0;
        let mut group: Option<usize> = None;
        for tok in it {
            match tok {
                "(" => group = Some(0),
                ")" => {
                    let c = group.take().ok_or_else(|| bad(n, "')' without '('".into()))?;
                    if components != 0 && components != c {
                        return Err(bad(n, format!("values of {c} and {components} components in one row")));
                    }
                    components = c;
                }
                v => {
                    let v: f64 = v.parse().map_err(|_| bad(n, format!("'{v}' is not a number")))?;
                    values.push(v);
                    if let Some(c) = group.as_mut() {
                        *c += 1;
                    } else {
                        if components > 1 {
                            return Err(bad(n, "a scalar among vectors".into()));
                        }
                        components = 1;
                    }
                }
            }
        }
        if group.is_some() {
            return Err(bad(n, "a '(' is not closed (truncated row?)".into()));
        }
        if f.components == 0 {
            f.components = components.max(1);
        }
        if components != f.components || values.len() != f.locations.len() * f.components {
            return Err(err!(
                MeshFormat,
                "{what}, line {n}: ragged row at t = {time}: {} values, expected {} probes x {} components",
                values.len(),
                f.locations.len(),
                f.components
            )
            .with_hint("every row must hold one value per probe of the header; a row cut short by a crash must be removed"));
        }
        f.times.push(time);
        f.rows.push(values);
    }
    if f.locations.is_empty() {
        return Err(err!(MeshFormat, "{what}: no '# Probe i (x y z)' header lines").with_hint("the file is not written by OpenFOAM's probes"));
    }
    Ok(f)
}

fn numeric_dirs(dir: &Path) -> Result<Vec<(f64, PathBuf)>> {
    let mut out = vec![];
    for e in std::fs::read_dir(dir).map_err(|e| Error::io("read directory", dir, e))? {
        let e = e.map_err(|e| Error::io("read directory", dir, e))?;
        if let Some(t) = e.file_name().to_str().and_then(|s| s.parse::<f64>().ok()) {
            if e.path().is_dir() {
                out.push((t, e.path()));
            }
        }
    }
    out.sort_by(|a, b| a.0.total_cmp(&b.0));
    Ok(out)
}

/// Whether two probe locations agree (OpenFOAM writes them with 6 significant digits).
fn same_location(a: [f64; 3], b: [f64; 3], scale: f64) -> bool {
    a.iter().zip(b).all(|(x, y)| (x - y).abs() <= 1e-5 * x.abs().max(y.abs()).max(scale))
}

/// A field's probe rows over all start times: components, and time (its bits) -> (time, values).
type FieldRows = (usize, BTreeMap<u64, (f64, Vec<f64>)>);

/// Read an OpenFOAM case's probes output as frames (one per written time).
fn read_case(case: &Path) -> Result<Vec<Frame>> {
    let functions = probes_functions(case)?;
    if functions.len() > 1 {
        let names: Vec<&str> = functions.iter().map(|f| f.name.as_str()).collect();
        return Err(err!(Usage, "'{}' has {} probes functions {names:?}; one is read", case.display(), functions.len())
            .with_hint("keep one probes function in system/controlDict (or copy its output to a case of its own)"));
    }
    let pf = &functions[0];
    let root = case.join("postProcessing").join(&pf.name);
    let starts = if root.is_dir() { numeric_dirs(&root)? } else { vec![] };
    if starts.is_empty() {
        return Err(err!(MissingField, "'{}': no output of probes function '{}' (no postProcessing/{}/<startTime>)", case.display(), pf.name, pf.name)
            .with_hint("run the solver (or `postProcess -func probes`) first"));
    }
    let scale = pf.locations.iter().flat_map(|p| p.iter().map(|v| v.abs())).fold(0.0, f64::max).max(1e-300);
    // field -> time (bits) -> values; a later start time replaces rows from its first time on.
    let mut fields: BTreeMap<String, FieldRows> = BTreeMap::new();
    for (_, dir) in &starts {
        let mut names: Vec<PathBuf> =
            std::fs::read_dir(dir).map_err(|e| Error::io("read directory", dir, e))?.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_file()).collect();
        names.sort();
        for file in names {
            let field = file.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
            if pf.fields.as_ref().is_some_and(|f| !f.contains(&field)) {
                continue;
            }
            let what = format!("'{}'", file.display());
            let text = std::fs::read_to_string(&file).map_err(|e| Error::io("read", &file, e))?;
            let p = probe_file(&text, &what)?;
            if let Some(&i) = p.not_found.first() {
                let l = p.locations[i];
                return Err(err!(
                    OutsideGrid,
                    "{what}: probe {i} at ({} {} {}) lies outside the OpenFOAM mesh (the file marks it '# Not Found')",
                    l[0],
                    l[1],
                    l[2]
                )
                .with_hint("move or remove that location in the probes dictionary and run again; its values are -1e300 placeholders"));
            }
            if p.locations.len() != pf.locations.len() {
                return Err(err!(MeshFormat, "{what} has {} probes, the dictionary of function '{}' lists {}", p.locations.len(), pf.name, pf.locations.len())
                    .with_hint("the dictionary changed since the run: run again, or restore the probeLocations that made the file"));
            }
            if let Some(i) = (0..p.locations.len()).find(|&i| !same_location(p.locations[i], pf.locations[i], scale)) {
                let (a, b) = (p.locations[i], pf.locations[i]);
                return Err(err!(
                    MeshFormat,
                    "{what}: probe {i} is at ({} {} {}), the dictionary of function '{}' puts it at ({} {} {})",
                    a[0],
                    a[1],
                    a[2],
                    pf.name,
                    b[0],
                    b[1],
                    b[2]
                )
                .with_hint("the dictionary changed since the run: run again, or restore the probeLocations that made the file"));
            }
            for (row, (t, values)) in p.times.iter().zip(&p.rows).enumerate() {
                if let Some(k) = values.iter().position(|v| !v.is_finite() || v.abs() >= 1e299) {
                    let kind = if values[k].is_finite() { "the -1e300 placeholder of a probe outside the mesh" } else { "not finite" };
                    return Err(err!(NonFinite, "{what}: probe {} at t = {t} (row {}) is {:?}: {kind}", k / p.components, row + 1, values[k])
                        .with_hint("the solver diverged or the probe left the mesh; use the times before it (or fix the run)"));
                }
            }
            let entry = fields.entry(field.clone()).or_insert_with(|| (p.components, BTreeMap::new()));
            if entry.0 != p.components {
                return Err(err!(FieldShape, "{what}: {} components, the earlier start time's file has {}", p.components, entry.0));
            }
            if let Some(&first) = p.times.first() {
                // A restart rewrites from its start time: drop the earlier run's rows from there on.
                entry.1.retain(|_, (t, _)| *t < first - 1e-12 * first.abs().max(1.0));
            }
            for (t, v) in p.times.iter().zip(p.rows) {
                entry.1.insert(t.to_bits(), (*t, v));
            }
        }
    }
    if let Some(wanted) = &pf.fields {
        if let Some(missing) = wanted.iter().find(|w| !fields.contains_key(*w)) {
            return Err(err!(MissingField, "'{}': the probes function '{}' lists field '{missing}' but there is no file for it", root.display(), pf.name)
                .with_hint("the field may not exist in the case; run the solver with it, or remove it from 'fields'"));
        }
    }
    if fields.is_empty() {
        return Err(err!(MissingField, "'{}': no probe files", root.display()).with_hint("run the solver (or `postProcess -func probes`) first"));
    }
    // Every field must have the same times: frames hold all fields.
    let mut times: Option<Vec<f64>> = None;
    let mut first_name = String::new();
    for (name, (_, rows)) in &fields {
        let mut ts: Vec<f64> = rows.values().map(|(t, _)| *t).collect();
        ts.sort_by(f64::total_cmp);
        match &times {
            None => {
                times = Some(ts);
                first_name = name.clone();
            }
            Some(t0) if *t0 != ts => {
                return Err(err!(
                    MeshFormat,
                    "'{}': field '{name}' has rows at {} times, field '{first_name}' at {}; they differ",
                    root.display(),
                    ts.len(),
                    t0.len()
                )
                .with_hint("a field's file is truncated (or was added after a restart); give the fields over the same times"));
            }
            _ => {}
        }
    }
    let times = times.unwrap_or_default();
    if times.is_empty() {
        return Err(err!(MissingField, "'{}': the probe files have no rows", root.display()).with_hint("run the solver past its first write"));
    }
    let frames = times
        .iter()
        .map(|&t| {
            let point_data =
                fields.iter().map(|(name, (c, rows))| Field { name: name.clone(), components: *c, values: rows[&t.to_bits()].1.clone() }).collect();
            Frame { time: t, mesh: Mesh { points: pf.locations.clone(), point_data, ..Default::default() } }
        })
        .collect();
    Ok(frames)
}

/// The frames of one probe file's text (`postProcessing/<name>/<time>/<field>`) as field `field`,
/// at the locations of its header, with every check of the case reader that needs no dictionary.
/// The entry point for the fuzz target and for callers without a case directory.
pub fn probe_file_frames(text: &str, field: &str) -> Result<Vec<Frame>> {
    let p = probe_file(text, &format!("probe file '{field}'"))?;
    if let Some(&i) = p.not_found.first() {
        return Err(err!(OutsideGrid, "probe file '{field}': probe {i} lies outside the OpenFOAM mesh ('# Not Found')"));
    }
    p.times
        .iter()
        .zip(p.rows)
        .map(|(&time, values)| {
            if let Some(k) = values.iter().position(|v| !v.is_finite() || v.abs() >= 1e299) {
                return Err(err!(NonFinite, "probe file '{field}': probe {} at t = {time} is {:?}", k / p.components, values[k]));
            }
            let point_data = vec![Field { name: field.to_string(), components: p.components, values }];
            Ok(Frame { time, mesh: Mesh { points: p.locations.clone(), point_data, ..Default::default() } })
        })
        .collect()
}

/// The probe locations of every `type probes;` function in the text of a `controlDict` (without
/// following `#include`s): (function name, locations). The entry point for the fuzz target.
pub fn dictionary_locations(text: &str) -> Result<Vec<(String, Vec<[f64; 3]>)>> {
    let toks = tokens(text);
    let mut pos = 0;
    let here = Path::new("<memory>");
    let dict = parse_dict(&toks, &mut pos, here, here, 0, false)?;
    let Some(Value::Dict(functions)) = lookup(&dict, "functions") else { return Ok(vec![]) };
    let mut out = vec![];
    for (name, value) in functions {
        let Value::Dict(f) = value else { continue };
        if word(f, "type") != Some("probes") {
            continue;
        }
        if let Some(Value::Tokens(t)) = lookup(f, "probeLocations") {
            out.push((name.clone(), locations_of(t, name)?));
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// CSV.

/// One time of a CSV: the time, its points, and per field its values.
type CsvFrame = (f64, Vec<[f64; 3]>, Vec<Vec<f64>>);

/// Parse a CSV of points and values; `what` names the source in errors.
pub fn csv_from_str(text: &str, what: &str) -> Result<Vec<Frame>> {
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'));
    let (_, header) = lines.next().ok_or_else(|| err!(MeshFormat, "'{what}' is empty").with_hint("the first line is the header x,y[,z],<field>...[,time]"))?;
    let names: Vec<String> = header.split(',').map(|s| s.trim().trim_matches('"').to_string()).collect();
    let col = |n: &str| names.iter().position(|c| c.eq_ignore_ascii_case(n));
    let (Some(cx), Some(cy)) = (col("x"), col("y")) else {
        return Err(
            err!(MeshFormat, "'{what}': the header '{header}' has no x and y columns").with_hint("the first line is the header x,y[,z],<field>...[,time]")
        );
    };
    let (cz, ct) = (col("z"), col("time").or_else(|| col("t")));
    // Fields: the other columns; NAME_x, NAME_y(, NAME_z) in a row form a vector NAME.
    let mut fields: Vec<(String, Vec<usize>)> = vec![];
    let mut i = 0;
    while i < names.len() {
        if [Some(cx), Some(cy), cz, ct].contains(&Some(i)) {
            i += 1;
            continue;
        }
        let n = &names[i];
        if n.is_empty() {
            return Err(err!(MeshFormat, "'{what}': column {} of the header has no name", i + 1));
        }
        if let Some(base) = n.strip_suffix("_x") {
            let mut cols = vec![i];
            for (k, axis) in ["_y", "_z"].iter().enumerate() {
                if names.get(i + 1 + k).is_some_and(|m| *m == format!("{base}{axis}")) {
                    cols.push(i + 1 + k);
                }
            }
            if cols.len() >= 2 {
                i += cols.len();
                fields.push((base.to_string(), cols));
                continue;
            }
        }
        fields.push((n.clone(), vec![i]));
        i += 1;
    }
    if fields.is_empty() {
        return Err(
            err!(MissingField, "'{what}': the header '{header}' has coordinates but no field column").with_hint("add a column per field, e.g. x,y,vorticity")
        );
    }
    if let Some(dup) = fields.iter().enumerate().find(|(k, f)| fields[..*k].iter().any(|g| g.0 == f.0)) {
        return Err(err!(MeshFormat, "'{what}': field '{}' appears twice in the header", dup.1 .0));
    }
    // time (bits) -> (time, points, values per field)
    let mut frames: Vec<CsvFrame> = vec![];
    for (n, line) in lines {
        let n = n + 1;
        let cells: Vec<&str> = line.split(',').map(str::trim).collect();
        if cells.len() != names.len() {
            return Err(err!(MeshFormat, "'{what}', line {n}: ragged row: {} values, the header has {} columns", cells.len(), names.len())
                .with_hint("every row needs one value per header column"));
        }
        let num = |c: usize| -> Result<f64> {
            let v: f64 = cells[c].parse().map_err(|_| err!(MeshFormat, "'{what}', line {n}, column '{}': '{}' is not a number", names[c], cells[c]))?;
            if !v.is_finite() {
                return Err(err!(NonFinite, "'{what}', line {n}, column '{}': {v:?}", names[c])
                    .with_hint("drop the row or the probe: reconstruction needs finite values"));
            }
            Ok(v)
        };
        let p = [num(cx)?, num(cy)?, cz.map(num).transpose()?.unwrap_or(0.0)];
        let t = ct.map(num).transpose()?.unwrap_or(0.0);
        let k = match frames.iter().position(|f| f.0 == t) {
            Some(k) => k,
            None => {
                frames.push((t, vec![], vec![vec![]; fields.len()]));
                frames.len() - 1
            }
        };
        frames[k].1.push(p);
        for (j, (_, cols)) in fields.iter().enumerate() {
            for &c in cols {
                let v = num(c)?;
                frames[k].2[j].push(v);
            }
        }
    }
    if frames.is_empty() {
        return Err(err!(MeshFormat, "'{what}' has a header but no rows").with_hint("add one row per point (and time)"));
    }
    frames.sort_by(|a, b| a.0.total_cmp(&b.0));
    let first_points = frames[0].1.clone();
    for (t, points, _) in &frames[1..] {
        if *points != first_points {
            return Err(err!(
                FieldShape,
                "'{what}': the rows at time {t} have {} points, those at time {} have {} (or the same count elsewhere)",
                points.len(),
                frames[0].0,
                first_points.len()
            )
            .with_hint("every time needs the same points in the same order"));
        }
    }
    Ok(frames
        .into_iter()
        .map(|(time, points, values)| Frame {
            time,
            mesh: Mesh {
                points,
                point_data: fields.iter().zip(values).map(|((name, cols), values)| Field { name: name.clone(), components: cols.len(), values }).collect(),
                ..Default::default()
            },
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROBE_FILE: &str = "# Probe 0 (0.5 0.25 0.05)\n# Probe 1 (1 -0.5 0.05)\n#           Probe             0             1\n#            Time\n0.5   (1 0 0) (0.5 0.1 0)\n1     (1.1 0 0) (0.6 0.2 0)\n";

    #[test]
    fn probe_file_reads_vectors_and_locations() {
        let f = probe_file(PROBE_FILE, "U").unwrap();
        assert_eq!(f.locations, vec![[0.5, 0.25, 0.05], [1.0, -0.5, 0.05]]);
        assert_eq!(f.components, 3);
        assert_eq!(f.times, vec![0.5, 1.0]);
        assert_eq!(f.rows[1], vec![1.1, 0.0, 0.0, 0.6, 0.2, 0.0]);
        let ragged = PROBE_FILE.replace("(0.6 0.2 0)", "");
        let e = probe_file(&ragged, "U").unwrap_err();
        assert!(e.message().contains("ragged row at t = 1"), "{e}");
    }

    #[test]
    fn dictionary_locations_with_comments_and_includes() {
        let t = tokens("functions { p1 { type probes; // c\n fields (p U); probeLocations ( (0 0 0) /* x */ (1 2 3) ); } }");
        let mut pos = 0;
        let d = parse_dict(&t, &mut pos, Path::new("cd"), Path::new("."), 0, false).unwrap();
        let Some(Value::Dict(f)) = lookup(&d, "functions") else { panic!() };
        let Some(Value::Dict(p)) = lookup(f, "p1") else { panic!() };
        assert_eq!(word(p, "type"), Some("probes"));
        let Some(Value::Tokens(l)) = lookup(p, "probeLocations") else { panic!() };
        assert_eq!(locations_of(l, "x").unwrap(), vec![[0.0, 0.0, 0.0], [1.0, 2.0, 3.0]]);
    }

    #[test]
    fn hostile_headers_and_nesting_are_errors_not_panics() {
        assert!(probe_file("# Probe 0 ) (1 2 3\n0 1\n", "T").is_err());
        let deep = "functions".to_string() + &" { a".repeat(10_000);
        assert!(dictionary_locations(&deep).unwrap_err().message().contains("nested deeper"));
        let f = probe_file_frames(PROBE_FILE, "U").unwrap();
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].mesh.point_data[0].components, 3);
        let d = dictionary_locations("functions { p { type probes; probeLocations ((1 2 3)); } other { type forces; } }").unwrap();
        assert_eq!(d, vec![("p".to_string(), vec![[1.0, 2.0, 3.0]])]);
    }

    #[test]
    fn csv_groups_times_and_vectors() {
        let f = csv_from_str("x,y,U_x,U_y,p,time\n0,0,1,2,3,0\n1,0,4,5,6,0\n0,0,7,8,9,0.5\n1,0,1,1,1,0.5\n", "c").unwrap();
        assert_eq!(f.len(), 2);
        assert_eq!(f[1].time, 0.5);
        assert_eq!(f[0].mesh.point_data[0].name, "U");
        assert_eq!(f[0].mesh.point_data[0].components, 2);
        assert_eq!(f[0].mesh.point_data[0].values, vec![1.0, 2.0, 4.0, 5.0]);
        assert_eq!(f[1].mesh.point_data[1].values, vec![9.0, 1.0]);
        assert!(csv_from_str("x,y,p\n0,0,1\n1,1\n", "c").unwrap_err().message().contains("ragged row"));
        assert!(csv_from_str("x,y,p\n0,0,nan\n", "c").unwrap_err().message().contains("NaN"));
    }
}
