//! Meridian's configuration catalog: GeoServer's object model, held as XML trees, and the one
//! apply path through which every change (REST, replication, reload) passes.
//!
//! * [`Object`]: one catalog object (workspace, store, layer, style, settings, ...), its full XML.
//! * [`Catalog`]: the in-memory state, indexed by id and by (workspace, name).
//! * [`Change`]: a self-contained, serializable mutation.
//! * [`CatalogService::apply`]: validates a batch of changes, persists them, then swaps the state in.

mod apply;
mod cascade;
mod catalog;
mod change;
mod dense;
mod group;
pub mod gwc_files;
mod ids;
mod kind;
mod names;
mod object;
mod referrers;
pub mod secrets;
pub mod security_files;
pub mod sync;
pub mod tile_layers;
mod validate;

pub use apply::{
    diff, ApplyError, Batch, CatalogService, Effect, Listener, NoPersist, Persist, PersistError,
    Provenance, Source,
};
pub use cascade::{cascade_remove, remove_layer_everywhere, remove_style_everywhere};
pub use catalog::{Catalog, ObjectDiff};
pub use change::{Applied, Change};
pub use ids::new_id;
pub use kind::{Kind, SERVICE_ROOTS};
pub use names::{check_name, NameError};
pub use object::{connection_parameters, node_ref, ref_of, reference, Id, Object, Published};
pub use validate::{check_catalog, ValidationError};

#[cfg(test)]
mod tests;
