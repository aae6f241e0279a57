//! Legacy `.vtk` files (versions up to 5.1, ASCII or big-endian binary) through vtkio: UNSTRUCTURED_GRID
//! and POLYDATA datasets.

use vtkio::model::{Attribute, Attributes, DataSet, Piece, VertexNumbers};
use vtkio::{IOBuffer, Vtk};

use super::{append_cells, append_poly_cells, context};
use crate::err;
use crate::error::Result;
use crate::mesh::{Cells, Field, Mesh};

pub fn read(bytes: &[u8]) -> Result<Mesh> {
    // vtkio is third-party code fed with user data: turn a panic in it into an error, not a crash.
    let parsed = std::panic::catch_unwind(|| Vtk::parse_legacy_be(bytes))
        .map_err(|_| err!(MeshFormat, "the legacy VTK parser crashed on this file"))?;
    let vtk = parsed.map_err(|e| {
        err!(MeshFormat, "cannot parse legacy VTK file ({e})")
            .with_hint("check the header ('# vtk DataFile Version x.y', title, ASCII|BINARY, DATASET ...) and that every section has as many values as it declares")
    })?;
    match vtk.data {
        DataSet::UnstructuredGrid { pieces, .. } => {
            let piece = single(pieces)?;
            let (connectivity, offsets) = topology(piece.cells.cell_verts)?;
            let types: Vec<u8> = piece.cells.types.iter().map(|&t| t as u8).collect();
            let mut cells = Cells::default();
            append_cells(&mut cells, &connectivity, &offsets, &types).map_err(|e| context(e, "CELLS"))?;
            build(&piece.points, cells, piece.data)
        }
        DataSet::PolyData { pieces, .. } => {
            let piece = single(pieces)?;
            let mut cells = Cells::default();
            // VTK's cell order (and cell data order) for poly data.
            for (section, verts) in [("Verts", piece.verts), ("Lines", piece.lines), ("Polys", piece.polys), ("Strips", piece.strips)] {
                if let Some(verts) = verts {
                    let (connectivity, offsets) = topology(verts)?;
                    append_poly_cells(&mut cells, section, &connectivity, &offsets)?;
                }
            }
            build(&piece.points, cells, piece.data)
        }
        _ => Err(err!(MeshFormat, "legacy DATASET type is not supported (only UNSTRUCTURED_GRID and POLYDATA)")
            .with_hint("convert the file to .vtu or .vti")),
    }
}

fn single<P>(pieces: Vec<Piece<P>>) -> Result<P> {
    match pieces.into_iter().next() {
        Some(Piece::Inline(p)) => Ok(*p),
        _ => Err(err!(MeshFormat, "the dataset has no inline data")),
    }
}

/// Connectivity and offsets (leading 0) from either of vtkio's layouts.
fn topology(verts: VertexNumbers) -> Result<(Vec<usize>, Vec<usize>)> {
    match verts {
        // Versions <= 4.2: `n id_1 .. id_n` per cell.
        VertexNumbers::Legacy { num_cells, vertices } => {
            let (mut connectivity, mut offsets, mut i) = (Vec::new(), vec![0], 0usize);
            for c in 0..num_cells {
                let n = *vertices.get(i).ok_or_else(|| err!(MeshFormat, "cell list ends before cell {c} of {num_cells}"))? as usize;
                let ids = vertices.get(i + 1..i + 1 + n).ok_or_else(|| err!(MeshFormat, "cell {c} of {num_cells} is truncated"))?;
                connectivity.extend(ids.iter().map(|&p| p as usize));
                offsets.push(connectivity.len());
                i += n + 1;
            }
            Ok((connectivity, offsets))
        }
        // Version 5.1: OFFSETS (with a leading 0) and CONNECTIVITY; normalise if the 0 is missing.
        VertexNumbers::XML { connectivity, offsets } => {
            let lead = if offsets.first() == Some(&0) { None } else { Some(0) };
            Ok((connectivity.into_iter().map(|p| p as usize).collect(), lead.into_iter().chain(offsets.into_iter().map(|o| o as usize)).collect()))
        }
    }
}

fn build(points: &IOBuffer, cells: Cells, data: Attributes) -> Result<Mesh> {
    let coords: Vec<f64> = points.cast_into().ok_or_else(|| err!(MeshFormat, "POINTS have an unsupported data type"))?;
    if coords.len() % 3 != 0 {
        return Err(err!(MeshFormat, "POINTS hold {} values, not a multiple of 3", coords.len()));
    }
    Ok(Mesh {
        points: coords.chunks_exact(3).map(|c| [c[0], c[1], c[2]]).collect(),
        cells,
        point_data: fields(data.point).map_err(|e| context(e, "POINT_DATA"))?,
        cell_data: fields(data.cell).map_err(|e| context(e, "CELL_DATA"))?,
    })
}

/// SCALARS, VECTORS, NORMALS, ... and the arrays of FIELD blocks; lookup tables are not fields.
fn fields(attributes: Vec<Attribute>) -> Result<Vec<Field>> {
    let mut out = Vec::new();
    for attribute in attributes {
        let arrays = match attribute {
            Attribute::DataArray(a) if a.elem == vtkio::model::ElementType::LookupTable => continue,
            Attribute::DataArray(a) => vec![(a.name, a.elem.num_comp(), a.data)],
            Attribute::Field { data_array, .. } => data_array.into_iter().map(|a| (a.name, a.elem, a.data)).collect(),
        };
        for (name, components, data) in arrays {
            let values = data.cast_into().ok_or_else(|| err!(MeshFormat, "array '{name}' has an unsupported data type"))?;
            out.push(Field { name, components: components as usize, values });
        }
    }
    Ok(out)
}
