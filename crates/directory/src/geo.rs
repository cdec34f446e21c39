//! Coordinates, distances and the postcode table.
//!
//! careweave never asks an online service where a postcode is. A [`PostcodeTable`] is loaded from a
//! CSV in the ONS Postcode Directory layout (columns `pcds`, `lat`, `long`; other columns ignored)
//! in a real deployment, or from the synthetic postcodes in the demo. Distances are great-circle
//! distances ([`LatLon::metres_to`], the haversine formula), which is what "within 2 miles" means
//! to a person, not road distance.

use std::collections::HashMap;
use std::io::Read;

use careweave_domain::Postcode;

use crate::import::{Diagnostic, RecordRef};

/// A point on the earth in WGS84 degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LatLon {
    lat: f64,
    lon: f64,
}

/// The mean radius of the earth in metres, as the haversine formula uses it.
const EARTH_RADIUS_M: f64 = 6_371_008.8;

impl LatLon {
    /// A point, if the latitude is within ±90 and the longitude within ±180.
    #[must_use]
    pub fn new(lat: f64, lon: f64) -> Option<Self> {
        let ok = lat.is_finite()
            && lon.is_finite()
            && (-90.0..=90.0).contains(&lat)
            && (-180.0..=180.0).contains(&lon);
        ok.then_some(Self { lat, lon })
    }

    #[must_use]
    pub fn lat(self) -> f64 {
        self.lat
    }

    #[must_use]
    pub fn lon(self) -> f64 {
        self.lon
    }

    /// The great-circle distance in metres (haversine).
    #[must_use]
    pub fn metres_to(self, other: LatLon) -> f64 {
        let (p1, p2) = (self.lat.to_radians(), other.lat.to_radians());
        let dp = p2 - p1;
        let dl = (other.lon - self.lon).to_radians();
        let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
        2.0 * EARTH_RADIUS_M * a.sqrt().asin()
    }
}

/// Metres in a mile, for the pages' distance choices.
pub const METRES_PER_MILE: f64 = 1_609.344;

/// The boundary of a service area: one or more polygons, each a list of rings (the first the
/// outline, any others holes), read from and written as GeoJSON (`Polygon` or `MultiPolygon`,
/// positions `[longitude, latitude]`), which is how ORUK's `service_area.extent` carries a
/// boundary when its `extent_type` is `geojson`.
#[derive(Debug, Clone, PartialEq)]
pub struct Extent {
    polygons: Vec<Vec<Vec<LatLon>>>,
}

impl Extent {
    /// Reads a GeoJSON `Polygon` or `MultiPolygon`, saying what is wrong with anything else.
    pub fn from_geojson(text: &str) -> Result<Self, String> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("the boundary is not GeoJSON: {e}"))?;
        let kind = value["type"].as_str().unwrap_or_default();
        let coordinates = &value["coordinates"];
        let polygons = match kind {
            "Polygon" => vec![polygon(coordinates)?],
            "MultiPolygon" => coordinates
                .as_array()
                .ok_or("a MultiPolygon needs a list of polygons")?
                .iter()
                .map(polygon)
                .collect::<Result<_, _>>()?,
            other => {
                return Err(format!(
                    "the boundary must be a GeoJSON Polygon or MultiPolygon, not '{other}'"
                ))
            }
        };
        if polygons.is_empty() {
            return Err("the boundary has no polygon".to_owned());
        }
        Ok(Self { polygons })
    }

    /// The boundary as a GeoJSON `MultiPolygon` (or `Polygon` when there is one).
    #[must_use]
    pub fn to_geojson(&self) -> String {
        let rings = |p: &Vec<Vec<LatLon>>| {
            p.iter()
                .map(|ring| {
                    ring.iter()
                        .map(|at| serde_json::json!([at.lon, at.lat]))
                        .collect::<Vec<_>>()
                })
                .collect::<Vec<_>>()
        };
        let value = match self.polygons.as_slice() {
            [one] => serde_json::json!({ "type": "Polygon", "coordinates": rings(one) }),
            many => serde_json::json!({
                "type": "MultiPolygon",
                "coordinates": many.iter().map(rings).collect::<Vec<_>>(),
            }),
        };
        value.to_string()
    }

    /// Whether the point lies inside the boundary (inside an outline and not in one of its
    /// holes). Degrees are treated as a flat plane, which is exact enough for a neighbourhood.
    #[must_use]
    pub fn contains(&self, at: LatLon) -> bool {
        self.polygons.iter().any(|rings| {
            // Even-odd over every ring of the polygon: a hole's crossings cancel the outline's.
            rings.iter().filter(|ring| crosses_odd(ring, at)).count() % 2 == 1
        })
    }
}

/// Whether a ray from `at` towards increasing longitude crosses the ring's edges an odd number of
/// times.
fn crosses_odd(ring: &[LatLon], at: LatLon) -> bool {
    let mut inside = false;
    let n = ring.len();
    for i in 0..n {
        let (a, b) = (ring[i], ring[(i + n - 1) % n]);
        if (a.lat > at.lat) != (b.lat > at.lat) {
            let lon_at = (b.lon - a.lon) * (at.lat - a.lat) / (b.lat - a.lat) + a.lon;
            if at.lon < lon_at {
                inside = !inside;
            }
        }
    }
    inside
}

/// One GeoJSON polygon: rings of `[longitude, latitude]` positions, each closed or not.
fn polygon(value: &serde_json::Value) -> Result<Vec<Vec<LatLon>>, String> {
    let rings = value
        .as_array()
        .filter(|r| !r.is_empty())
        .ok_or("a polygon needs at least one ring of positions")?;
    rings
        .iter()
        .map(|ring| {
            let positions = ring
                .as_array()
                .ok_or("a ring must be a list of positions")?;
            let points = positions
                .iter()
                .map(|p| {
                    let lon = p.get(0).and_then(serde_json::Value::as_f64);
                    let lat = p.get(1).and_then(serde_json::Value::as_f64);
                    lon.zip(lat)
                        .and_then(|(lon, lat)| LatLon::new(lat, lon))
                        .ok_or_else(|| format!("{p} is not a [longitude, latitude] position"))
                })
                .collect::<Result<Vec<_>, _>>()?;
            if points.len() < 3 {
                return Err("a ring needs at least three positions".to_owned());
            }
            Ok(points)
        })
        .collect()
}

/// Postcodes and their centroids.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PostcodeTable {
    points: HashMap<Postcode, LatLon>,
}

/// Why a postcode file could not be read at all.
#[derive(Debug, thiserror::Error)]
pub enum PostcodeFileError {
    #[error("the postcode file is not readable CSV: {0}")]
    Csv(#[from] csv::Error),
    #[error("the postcode file has no '{0}' column: it must have the ONS Postcode Directory columns pcds, lat and long")]
    MissingColumn(&'static str),
}

/// A loaded table and the rows it refused.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PostcodeLoad {
    pub table: PostcodeTable,
    pub read: usize,
    pub rejected: Vec<Diagnostic>,
}

impl PostcodeTable {
    /// An empty table.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces one postcode.
    pub fn insert(&mut self, postcode: Postcode, at: LatLon) {
        self.points.insert(postcode, at);
    }

    /// Where a postcode is, if the table knows it.
    #[must_use]
    pub fn get(&self, postcode: &Postcode) -> Option<LatLon> {
        self.points.get(postcode).copied()
    }

    #[must_use]
    pub fn len(&self) -> usize {
        self.points.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// Every postcode with its centroid, in postcode order.
    #[must_use]
    pub fn entries(&self) -> Vec<(Postcode, LatLon)> {
        let mut v: Vec<(Postcode, LatLon)> =
            self.points.iter().map(|(p, l)| (p.clone(), *l)).collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    /// Reads the ONS Postcode Directory layout. Rows with an unreadable postcode or no grid
    /// reference (ONSPD writes latitude 99.999999 for those) are reported, not silently dropped.
    pub fn from_csv(input: impl Read) -> Result<PostcodeLoad, PostcodeFileError> {
        let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(input);
        let headers = reader.headers()?.clone();
        let column = |name: &'static str| {
            headers
                .iter()
                .position(|h| h.trim().eq_ignore_ascii_case(name))
                .ok_or(PostcodeFileError::MissingColumn(name))
        };
        let (pc, lat, long) = (column("pcds")?, column("lat")?, column("long")?);
        let mut load = PostcodeLoad::default();
        for (i, row) in reader.records().enumerate() {
            // Line 1 is the header.
            let line = i + 2;
            load.read += 1;
            let row = row?;
            let reject = |field: &str, reason: String| Diagnostic {
                record: RecordRef::Line(line),
                id: None,
                field: field.to_owned(),
                reason,
            };
            let postcode = match row.get(pc).unwrap_or("").parse::<Postcode>() {
                Ok(p) => p,
                Err(e) => {
                    load.rejected.push(reject("pcds", e.to_string()));
                    continue;
                }
            };
            let number = |i: usize| row.get(i).and_then(|s| s.trim().parse::<f64>().ok());
            match (number(lat), number(long)) {
                (Some(a), _) if a > 90.0 => load.rejected.push(reject(
                    "lat",
                    format!("{postcode} has no grid reference in the file"),
                )),
                (Some(a), Some(o)) => match LatLon::new(a, o) {
                    Some(at) => load.table.insert(postcode, at),
                    None => load.rejected.push(reject(
                        "lat",
                        format!("{postcode} has coordinates out of range"),
                    )),
                },
                _ => load.rejected.push(reject(
                    "lat",
                    format!("{postcode} needs a numeric lat and long"),
                )),
            }
        }
        Ok(load)
    }

    /// Writes the table in the same layout [`PostcodeTable::from_csv`] reads.
    pub fn to_csv(&self) -> Result<String, csv::Error> {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(["pcds", "lat", "long"])?;
        for (p, at) in self.entries() {
            w.write_record([
                p.as_str().to_owned(),
                format!("{:.6}", at.lat),
                format!("{:.6}", at.lon),
            ])?;
        }
        let bytes = w
            .into_inner()
            .map_err(|e| csv::Error::from(e.into_error()))?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_boundary_holds_the_points_inside_it_and_not_those_in_its_holes() {
        // A square of about 2 km around a Leeds point, with a small square hole in its middle.
        let text = r#"{"type":"Polygon","coordinates":[
            [[-1.57,53.79],[-1.54,53.79],[-1.54,53.81],[-1.57,53.81],[-1.57,53.79]],
            [[-1.556,53.799],[-1.554,53.799],[-1.554,53.801],[-1.556,53.801],[-1.556,53.799]]]}"#;
        let e = Extent::from_geojson(text).unwrap();
        let at = |lat, lon| LatLon::new(lat, lon).unwrap();
        assert!(e.contains(at(53.795, -1.56)));
        assert!(!e.contains(at(53.800, -1.555)), "in the hole");
        assert!(!e.contains(at(53.82, -1.56)), "north of it");
        assert!(!e.contains(at(53.80, -1.50)), "east of it");
        // Written and read again, it is the same boundary.
        assert_eq!(Extent::from_geojson(&e.to_geojson()).unwrap(), e);
        let two = format!(
            r#"{{"type":"MultiPolygon","coordinates":[{},[[[0,51],[0.1,51],[0.1,51.1],[0,51]]]]}}"#,
            serde_json::to_string(
                &serde_json::from_str::<serde_json::Value>(text).unwrap()["coordinates"]
            )
            .unwrap()
        );
        let m = Extent::from_geojson(&two).unwrap();
        assert!(m.contains(at(53.795, -1.56)) && m.contains(at(51.02, 0.05)));
        assert_eq!(Extent::from_geojson(&m.to_geojson()).unwrap(), m);
        for bad in [
            "not json",
            r#"{"type":"Point","coordinates":[0,51]}"#,
            r#"{"type":"Polygon","coordinates":[[[0,51],[0,52]]]}"#,
            r#"{"type":"Polygon","coordinates":[[[0,95],[1,51],[1,52]]]}"#,
        ] {
            assert!(Extent::from_geojson(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn haversine_matches_known_distances() {
        // Leeds station to York station is about 35 km in a straight line.
        let leeds = LatLon::new(53.7950, -1.5474).unwrap();
        let york = LatLon::new(53.9579, -1.0933).unwrap();
        let d = leeds.metres_to(york);
        assert!((d - 34_900.0).abs() < 1_500.0, "{d}");
        assert!(leeds.metres_to(leeds).abs() < 1e-6);
        // One degree of latitude is about 111.2 km everywhere.
        let a = LatLon::new(52.0, 0.0).unwrap();
        let b = LatLon::new(53.0, 0.0).unwrap();
        assert!((a.metres_to(b) - 111_195.0).abs() < 10.0);
        assert!(LatLon::new(91.0, 0.0).is_none());
    }

    #[test]
    fn the_onspd_layout_loads_and_bad_rows_are_reported() {
        let csv = "pcd,pcds,dointr,lat,long\n\
                   LS1 4AP,LS1 4AP,199801,53.796,-1.548\n\
                   XX,not a postcode,199801,53.0,-1.0\n\
                   ZZ99 9ZZ,ZZ9 9ZZ,199801,99.999999,0.000000\n\
                   LS2 7HY,ls27hy,199801,53.80,abc\n";
        let load = PostcodeTable::from_csv(csv.as_bytes()).unwrap();
        assert_eq!(load.read, 4);
        assert_eq!(load.table.len(), 1);
        assert_eq!(load.rejected.len(), 3);
        assert_eq!(load.rejected[0].record, RecordRef::Line(3));
        assert!(load.rejected[1].reason.contains("no grid reference"));
        let leeds: Postcode = "LS1 4AP".parse().unwrap();
        assert!(load.table.get(&leeds).is_some());
        let again = PostcodeTable::from_csv(load.table.to_csv().unwrap().as_bytes()).unwrap();
        assert_eq!(again.table.len(), 1);
        assert!(matches!(
            PostcodeTable::from_csv("postcode,x,y\n".as_bytes()),
            Err(PostcodeFileError::MissingColumn("pcds"))
        ));
    }
}
