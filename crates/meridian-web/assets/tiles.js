// Tile preview: an OpenLayers map of one layer's cached tiles, raster (TMS in XYZ order, the
// EPSG:900913 gridset) and, when the tile layer caches them, vector tiles (Mapbox vector
// tiles, drawn by OpenLayers with its default style), fitted to the layer's box.
(function () {
  var el = document.getElementById("map");
  if (!el || !window.ol) { return; }
  var box = el.dataset.bbox.split(",").map(Number);
  var loaded = { raster: 0, vector: 0, errors: 0 };
  function done(kind) {
    return function () {
      loaded[kind] += 1;
      el.dataset.raster = String(loaded.raster);
      el.dataset.vector = String(loaded.vector);
    };
  }
  function failed() { loaded.errors += 1; el.dataset.errors = String(loaded.errors); }
  var layers = [];
  if (el.dataset.rasterUrl) {
    var raster = new ol.source.XYZ({ url: el.dataset.rasterUrl, crossOrigin: null });
    raster.on("tileloadend", done("raster"));
    raster.on("tileloaderror", failed);
    layers.push(new ol.layer.Tile({ source: raster }));
  }
  if (el.dataset.vectorUrl) {
    var vector = new ol.source.VectorTile({
      format: new ol.format.MVT(),
      url: el.dataset.vectorUrl,
    });
    vector.on("tileloadend", done("vector"));
    vector.on("tileloaderror", failed);
    layers.push(new ol.layer.VectorTile({
      source: vector,
      style: new ol.style.Style({
        stroke: new ol.style.Stroke({ color: "#d03030", width: 1.5 }),
        fill: new ol.style.Fill({ color: "rgba(0,0,0,0)" }),
      }),
    }));
  }
  var map = new ol.Map({ target: el, layers: layers, view: new ol.View({ projection: "EPSG:3857" }) });
  map.getView().fit(ol.proj.transformExtent(box, "EPSG:4326", "EPSG:3857"), { padding: [10, 10, 10, 10] });
  map.once("rendercomplete", function () { el.dataset.drawn = "true"; });
})();
