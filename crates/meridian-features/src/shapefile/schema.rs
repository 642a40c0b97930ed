//! Shapefile schemas: `.shp` header, `.dbf` fields, `.prj`.

use meridian_sources::{epsg_from_wkt, Attribute, Bounds, Schema, SourceError};
use std::path::Path;

/// Read the schema of one shapefile.
pub(crate) fn describe(shp: &Path) -> Result<Schema, SourceError> {
    let name = shp
        .file_stem()
        .and_then(|s| s.to_str())
        .ok_or_else(|| SourceError::Io(format!("{}: bad file name", shp.display())))?
        .to_string();
    let reader = shapefile::ShapeReader::from_path(shp)
        .map_err(|e| SourceError::Io(format!("{}: {e}", shp.display())))?;
    let h = reader.header();
    let geom = match h.shape_type {
        shapefile::ShapeType::Point
        | shapefile::ShapeType::PointZ
        | shapefile::ShapeType::PointM => "Point",
        shapefile::ShapeType::Multipoint
        | shapefile::ShapeType::MultipointZ
        | shapefile::ShapeType::MultipointM => "MultiPoint",
        shapefile::ShapeType::Polyline
        | shapefile::ShapeType::PolylineZ
        | shapefile::ShapeType::PolylineM => "MultiLineString",
        shapefile::ShapeType::Polygon
        | shapefile::ShapeType::PolygonZ
        | shapefile::ShapeType::PolygonM
        | shapefile::ShapeType::Multipatch => "MultiPolygon",
        shapefile::ShapeType::NullShape => "Geometry",
    };
    let bounds = Some(Bounds {
        minx: h.bbox.min.x,
        miny: h.bbox.min.y,
        maxx: h.bbox.max.x,
        maxy: h.bbox.max.y,
    });
    let mut attributes = vec![Attribute {
        name: "the_geom".into(),
        binding: format!("org.locationtech.jts.geom.{geom}"),
        nillable: true,
        length: None,
    }];
    let dbf = shp.with_extension("dbf");
    attributes.extend(dbf_fields(&dbf)?);
    let prj = shp.with_extension("prj");
    let native_wkt = std::fs::read_to_string(&prj).ok();
    let srs = native_wkt
        .as_deref()
        .and_then(epsg_from_wkt)
        .map(|c| format!("EPSG:{c}"));
    Ok(Schema {
        name,
        attributes,
        srs,
        native_wkt,
        bounds,
    })
}

/// Type names in a directory store: the `.shp` files in it.
pub(crate) fn list_dir(dir: &Path) -> Result<Vec<String>, SourceError> {
    let rd =
        std::fs::read_dir(dir).map_err(|e| SourceError::Io(format!("{}: {e}", dir.display())))?;
    let mut v: Vec<String> = rd
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("shp")))
        .filter_map(|p| p.file_stem().and_then(|s| s.to_str()).map(str::to_string))
        .collect();
    v.sort();
    Ok(v)
}

/// The `.shp` file of a type in a directory store (case-insensitive extension).
pub(crate) fn find_in_dir(dir: &Path, name: &str) -> Option<std::path::PathBuf> {
    ["shp", "SHP"]
        .iter()
        .map(|e| dir.join(format!("{name}.{e}")))
        .find(|p| p.is_file())
}

/// Read the field descriptors of a `.dbf` header: 32-byte records after the 32-byte file
/// header (name, type, length, decimal count), ended by 0x0D.
pub fn dbf_fields(dbf: &Path) -> Result<Vec<Attribute>, SourceError> {
    use std::io::Read;
    let err = |e: String| SourceError::Io(format!("{}: {e}", dbf.display()));
    let mut f = std::fs::File::open(dbf).map_err(|e| err(e.to_string()))?;
    let mut head = [0u8; 32];
    f.read_exact(&mut head).map_err(|e| err(e.to_string()))?;
    let header_len = u16::from_le_bytes([head[8], head[9]]) as usize;
    if header_len < 33 {
        return Err(err("bad dBASE header".into()));
    }
    let mut rest = vec![0u8; header_len - 32];
    f.read_exact(&mut rest).map_err(|e| err(e.to_string()))?;
    let mut out = Vec::new();
    for d in rest.chunks_exact(32) {
        if d[0] == 0x0d {
            break;
        }
        let name_end = d[..11].iter().position(|b| *b == 0).unwrap_or(11);
        let name = String::from_utf8_lossy(&d[..name_end]).trim().to_string();
        let (len, dec) = (d[16], d[17]);
        let (binding, length) = match d[11] {
            b'C' | b'M' => ("java.lang.String", Some(u32::from(len))),
            b'N' if dec == 0 && len < 10 => ("java.lang.Integer", None),
            b'N' if dec == 0 && len < 19 => ("java.lang.Long", None),
            b'N' if dec == 0 => ("java.math.BigDecimal", None),
            b'N' | b'F' | b'O' | b'Y' => ("java.lang.Double", None),
            b'I' | b'+' => ("java.lang.Integer", None),
            b'L' => ("java.lang.Boolean", None),
            b'D' => ("java.util.Date", None),
            b'T' | b'@' => ("java.sql.Timestamp", None),
            _ => ("java.lang.String", None),
        };
        out.push(Attribute {
            name,
            binding: binding.into(),
            nillable: true,
            length,
        });
    }
    Ok(out)
}
