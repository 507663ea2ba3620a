//! The organisation: a tree of departments (a hospital → sites → departments → units) and the
//! people directory (providers, staff, clients).

pub mod contact;
pub mod model;
pub mod repo;
pub mod service;
