//! REST handlers, one module per resource family.

pub mod about;
pub mod coverage_upload;
pub mod groups;
pub mod gwc;
pub mod layers;
pub mod resources;
pub mod security;
mod security_services;
pub mod settings;
pub mod stores;
pub mod styles;
pub mod upload;
pub mod workspaces;
