// Layer preview: an OpenLayers map of one layer through this node's WMS, fitted to the box the
// page gives in the map element's data attributes (EPSG:4326 lon/lat, drawn in EPSG:3857).
(function () {
  var el = document.getElementById("map");
  if (!el || !window.ol) { return; }
  var layer = el.dataset.layer;
  var box = el.dataset.bbox.split(",").map(Number);
  var source = new ol.source.ImageWMS({
    url: el.dataset.wms,
    params: { LAYERS: layer, VERSION: "1.1.1", FORMAT: "image/png", TRANSPARENT: true },
    ratio: 1,
  });
  source.on("imageloadend", function () { el.dataset.drawn = "true"; });
  source.on("imageloaderror", function () { el.dataset.drawn = "error"; });
  var map = new ol.Map({
    target: el,
    layers: [new ol.layer.Image({ source: source })],
    view: new ol.View({ projection: "EPSG:3857" }),
  });
  var extent = ol.proj.transformExtent(box, "EPSG:4326", "EPSG:3857");
  map.getView().fit(extent, { padding: [10, 10, 10, 10] });
})();
