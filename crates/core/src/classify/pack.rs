//! The classifier's rules: the catalog's constants under the name the classifier code uses.

pub use crate::catalog::rules::*;
