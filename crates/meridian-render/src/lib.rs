//! Maps drawn from SLD styles. [`sld`] reads an SLD 1.0 / SE 1.1 document into a style
//! (rules, filters, scale ranges, symbolizers); [`Map`] draws features through a style onto an
//! antialiased canvas (tiny-skia) in the map's CRS and pixel grid; [`encode`] writes the image.
//! Features come from any [`meridian_features::FeatureSource`], streamed once per
//! feature-type style, never held as a layer.

mod along;
mod color;
pub mod encode;
mod error;
mod expr;
mod labels;
mod legend;
mod map;
mod marks;
mod raster;
mod rasterize;
mod scale;
pub mod sld;
mod symbolize;
mod text;

pub use color::Color;
pub use error::RenderError;
pub use legend::{legend, LegendOptions};
pub use map::{Map, MapExtent, Scan};
pub use raster::RasterSource;
pub use scale::scale_denominator;
