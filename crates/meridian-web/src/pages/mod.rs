//! One module per page.

pub mod cluster;
pub mod cluster_status;
pub mod groups;
pub mod layer_edit;
pub mod layers;
pub mod login;
pub mod services;
pub mod status;
pub mod stores;
pub mod styles;
pub mod workspaces;
