//! Maps in a cluster: a style changed on the primary changes the replica's next map.

use super::*;

/// The colour of one pixel of a PNG map (its RGB).
fn pixel(png_bytes: &[u8], x: u32, y: u32) -> [u8; 3] {
    let mut d = png::Decoder::new(std::io::Cursor::new(png_bytes));
    d.set_transformations(png::Transformations::EXPAND);
    let mut r = d.read_info().unwrap();
    let mut buf = vec![0; r.output_buffer_size().unwrap()];
    let f = r.next_frame(&mut buf).unwrap();
    let bpp = f.color_type.samples();
    let i = ((y * f.width + x) as usize) * bpp;
    [buf[i], buf[i + 1], buf[i + 2]]
}

fn texas(n: &Node) -> [u8; 3] {
    let r = n
        .anon()
        .get(format!(
            "http://127.0.0.1:{}/geoserver/wms?service=WMS&version=1.1.1&request=GetMap&layers=topp:states&styles=&srs=EPSG:4326&bbox=-125,24,-66,50&width=590&height=260&format=image/png",
            n.port
        ))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    // West Texas at (-102, 31), off its label.
    pixel(&r.bytes().unwrap(), 230, 190)
}

#[test]
fn a_style_changed_on_the_primary_changes_the_replicas_next_map() {
    let c = Cluster::new("maps");
    // Both hold the release data directory: data files never travel through the cluster.
    let (_ta, da) = release_copy();
    let (_tb, db) = release_copy();
    let a = c.start(&da, "node-a", true, true);
    let b = c.start(&db, "node-b", false, false);
    wait_connected("replica connected", &[&a, &b], &b);
    let before = texas(&b);
    assert_ne!(before, [255, 0, 0]);
    paint_population_red(&a);
    wait_for(
        "the replica draws with the new style",
        &[&a, &b],
        Duration::from_secs(10),
        || texas(&b) == [255, 0, 0],
    );
}
