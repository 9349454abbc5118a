//! `opencoder audit` (being written).
