//! CRS identification (WKT / .prj → EPSG) and bounds reprojection to WGS84.

use crate::Bounds;

/// Find the EPSG code a WKT describes: its last (outermost) AUTHORITY, or well-known ESRI names.
pub fn epsg_from_wkt(wkt: &str) -> Option<u32> {
    let compact: String = wkt.chars().filter(|c| !c.is_whitespace()).collect();
    if let Some(pos) = compact.rfind("AUTHORITY[\"EPSG\",") {
        let rest = &compact[pos + 18..];
        let code: String = rest
            .trim_start_matches('"')
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        // The outermost AUTHORITY closes the whole WKT.
        let tail = &rest[rest.find(']').map(|i| i + 1).unwrap_or(rest.len())..];
        if tail.chars().all(|c| c == ']') {
            return code.parse().ok();
        }
    }
    let upper = compact.to_uppercase();
    if upper.starts_with("GEOGCS") && (upper.contains("WGS_1984") || upper.contains("WGS84")) {
        return Some(4326);
    }
    if upper.contains("WEB_MERCATOR") || upper.contains("PSEUDO-MERCATOR") {
        return Some(3857);
    }
    for (prefix, base_n, base_s) in [
        ("NAD_1927_UTM_ZONE_", 26700, 0),
        ("NAD_1983_UTM_ZONE_", 26900, 0),
        ("WGS_1984_UTM_ZONE_", 32600, 32700),
    ] {
        if let Some(p) = upper.find(prefix) {
            let rest = &upper[p + prefix.len()..];
            let zone: String = rest.chars().take_while(char::is_ascii_digit).collect();
            let south = rest[zone.len()..].starts_with('S');
            let z: u32 = zone.parse().ok()?;
            return Some(if south && base_s > 0 {
                base_s + z
            } else {
                base_n + z
            });
        }
    }
    if upper.starts_with("GEOGCS") && upper.contains("NAD_1983") {
        return Some(4269);
    }
    None
}

/// Whether an EPSG code is a geographic (longitude/latitude) CRS.
pub fn is_geographic(code: u32) -> bool {
    u16::try_from(code)
        .ok()
        .and_then(crs_definitions::from_code)
        .is_some_and(|d| d.proj4.contains("+proj=longlat"))
}

/// The WKT of an EPSG code, when Meridian knows it.
pub fn wkt_for_epsg(code: u32) -> Option<&'static str> {
    crs_definitions::from_code(u16::try_from(code).ok()?).map(|d| d.wkt)
}

/// Reproject bounds in EPSG:`code` to WGS84 longitude/latitude, sampling the edges.
pub fn lat_lon_bounds(code: u32, b: Bounds) -> Option<Bounds> {
    if code == 4326 || code == 4269 || code == 4267 || code == 4258 {
        return Some(b);
    }
    let def = crs_definitions::from_code(u16::try_from(code).ok()?)?;
    // Datum grids are not shipped; NAD27 falls back to its mean shift (a few metres off,
    // enough for a lat/lon envelope).
    let src = proj4rs::Proj::from_proj_string(def.proj4)
        .or_else(|_| {
            proj4rs::Proj::from_proj_string(
                &def.proj4
                    .replace("+datum=NAD27", "+ellps=clrk66 +towgs84=-8,160,176,0,0,0,0"),
            )
        })
        .ok()?;
    let dst = proj4rs::Proj::from_proj_string("+proj=longlat +datum=WGS84 +no_defs").ok()?;
    let geographic = def.proj4.contains("+proj=longlat");
    let mut out = Bounds {
        minx: f64::INFINITY,
        miny: f64::INFINITY,
        maxx: f64::NEG_INFINITY,
        maxy: f64::NEG_INFINITY,
    };
    const N: usize = 10;
    for i in 0..=N {
        let t = i as f64 / N as f64;
        let x = b.minx + (b.maxx - b.minx) * t;
        let y = b.miny + (b.maxy - b.miny) * t;
        for (px, py) in [(x, b.miny), (x, b.maxy), (b.minx, y), (b.maxx, y)] {
            let mut p = if geographic {
                (px.to_radians(), py.to_radians(), 0.0)
            } else {
                (px, py, 0.0)
            };
            if proj4rs::transform::transform(&src, &dst, &mut p).is_ok() {
                let (lon, lat) = (p.0.to_degrees(), p.1.to_degrees());
                if lon.is_finite() && lat.is_finite() {
                    out.minx = out.minx.min(lon);
                    out.maxx = out.maxx.max(lon);
                    out.miny = out.miny.min(lat);
                    out.maxy = out.maxy.max(lat);
                }
            }
        }
    }
    out.minx.is_finite().then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prj_files_map_to_epsg() {
        let nad27 = "PROJCS[\"NAD27 / UTM zone 13N\", GEOGCS[\"NAD27\", AUTHORITY[\"EPSG\",\"4267\"]], UNIT[\"m\", 1.0], AUTHORITY[\"EPSG\",\"26713\"]]";
        assert_eq!(epsg_from_wkt(nad27), Some(26713));
        let esri = "GEOGCS[\"GCS_WGS_1984\",DATUM[\"WGS_1984\",SPHEROID[\"WGS_1984\",6378137,298.257223563]],PRIMEM[\"Greenwich\",0],UNIT[\"Degree\",0.017453292519943295]]";
        assert_eq!(epsg_from_wkt(esri), Some(4326));
        assert_eq!(
            epsg_from_wkt("PROJCS[\"WGS_1984_UTM_Zone_33S\",GEOGCS[]]"),
            Some(32733)
        );
        assert_eq!(epsg_from_wkt("nonsense"), None);
    }

    #[test]
    fn utm_bounds_reproject_near_spearfish() {
        let b = Bounds {
            minx: 589851.4,
            miny: 4914490.9,
            maxx: 608346.5,
            maxy: 4926501.9,
        };
        let ll = lat_lon_bounds(26713, b).unwrap();
        assert!((ll.minx - -103.87).abs() < 0.02, "{ll:?}");
        assert!((ll.maxy - 44.488).abs() < 0.02, "{ll:?}");
    }
}
