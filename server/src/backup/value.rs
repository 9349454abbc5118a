//! Backend-neutral cell values: what a row of any table is in the archive, and how a value is
//! bound into a column of either backend.
//!
//! A row is one JSON array per line, cells in the manifest's column order: `null`, integers,
//! floats, `true`/`false`, strings, and bytes as `{"base64": "…"}`. Flags are integers on SQLite
//! and booleans on PostgreSQL; each side converts at the column it writes into, so an archive
//! from either backend restores into the other.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::Value as Json;

/// One cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Real(f64),
    Bool(bool),
    Text(String),
    Bytes(Vec<u8>),
}

/// What a target column accepts. SQLite columns take any value (its typing is per value), so a
/// SQLite target binds each value as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    Any,
    Int,
    Real,
    Bool,
    Text,
    Bytes,
}

/// A value ready to bind: typed even when NULL (PostgreSQL types every parameter).
#[derive(Debug, Clone, PartialEq)]
pub enum Bound {
    Int(Option<i64>),
    Real(Option<f64>),
    Bool(Option<bool>),
    Text(Option<String>),
    Bytes(Option<Vec<u8>>),
}

const BYTES_KEY: &str = "base64";

impl Value {
    pub fn to_json(&self) -> Json {
        match self {
            Value::Null => Json::Null,
            Value::Int(n) => Json::from(*n),
            // Non-finite floats have no JSON form; a database column never holds one here.
            Value::Real(x) => serde_json::Number::from_f64(*x).map_or(Json::Null, Json::Number),
            Value::Bool(b) => Json::Bool(*b),
            Value::Text(s) => Json::String(s.clone()),
            Value::Bytes(b) => serde_json::json!({ BYTES_KEY: STANDARD.encode(b) }),
        }
    }

    pub fn from_json(json: Json) -> Result<Value, String> {
        Ok(match json {
            Json::Null => Value::Null,
            Json::Bool(b) => Value::Bool(b),
            Json::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => Value::Real(
                    n.as_f64()
                        .ok_or_else(|| format!("number {n} is out of range"))?,
                ),
            },
            Json::String(s) => Value::Text(s),
            Json::Object(mut map) if map.len() == 1 => match map.remove(BYTES_KEY) {
                Some(Json::String(encoded)) => Value::Bytes(
                    STANDARD
                        .decode(encoded)
                        .map_err(|e| format!("bad base64 bytes: {e}"))?,
                ),
                _ => return Err("an object cell must be {\"base64\": \"…\"}".into()),
            },
            other => return Err(format!("unexpected cell {other}")),
        })
    }

    /// The value as `kind` takes it; `Err` names what did not fit.
    pub fn bind_as(self, kind: ColumnKind) -> Result<Bound, String> {
        Ok(match (kind, self) {
            (ColumnKind::Any, Value::Null) => Bound::Int(None),
            (ColumnKind::Any | ColumnKind::Int, Value::Int(n)) => Bound::Int(Some(n)),
            (ColumnKind::Any | ColumnKind::Int, Value::Bool(b)) => Bound::Int(Some(i64::from(b))),
            (ColumnKind::Any | ColumnKind::Real, Value::Real(x)) => Bound::Real(Some(x)),
            (ColumnKind::Real, Value::Int(n)) => Bound::Real(Some(n as f64)),
            (ColumnKind::Any | ColumnKind::Text, Value::Text(s)) => Bound::Text(Some(s)),
            (ColumnKind::Any | ColumnKind::Bytes, Value::Bytes(b)) => Bound::Bytes(Some(b)),
            (ColumnKind::Bool, Value::Bool(b)) => Bound::Bool(Some(b)),
            (ColumnKind::Bool, Value::Int(n @ (0 | 1))) => Bound::Bool(Some(n == 1)),
            (ColumnKind::Int, Value::Null) => Bound::Int(None),
            (ColumnKind::Real, Value::Null) => Bound::Real(None),
            (ColumnKind::Bool, Value::Null) => Bound::Bool(None),
            (ColumnKind::Text, Value::Null) => Bound::Text(None),
            (ColumnKind::Bytes, Value::Null) => Bound::Bytes(None),
            (kind, value) => return Err(format!("{value:?} does not fit a {kind:?} column")),
        })
    }

    /// Bytes this value takes in memory, for bounding a batch.
    pub fn weight(&self) -> usize {
        match self {
            Value::Text(s) => s.len(),
            Value::Bytes(b) => b.len(),
            _ => 8,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_survives_json() {
        for value in [
            Value::Null,
            Value::Int(i64::MIN),
            Value::Int(42),
            Value::Real(1.0),
            Value::Real(-0.25),
            Value::Bool(true),
            Value::Text("é\n\"x\"".into()),
            Value::Bytes(vec![0, 255, 10]),
        ] {
            let line = serde_json::to_string(&value.to_json()).unwrap();
            assert_eq!(
                Value::from_json(serde_json::from_str(&line).unwrap()).unwrap(),
                value,
                "{line}"
            );
        }
        assert!(Value::from_json(serde_json::json!({"other": 1})).is_err());
        assert!(Value::from_json(serde_json::json!([1])).is_err());
    }

    #[test]
    fn flags_cross_between_integers_and_booleans_and_nothing_else_converts() {
        assert_eq!(
            Value::Int(1).bind_as(ColumnKind::Bool),
            Ok(Bound::Bool(Some(true)))
        );
        assert_eq!(
            Value::Bool(false).bind_as(ColumnKind::Any),
            Ok(Bound::Int(Some(0)))
        );
        assert_eq!(
            Value::Null.bind_as(ColumnKind::Bytes),
            Ok(Bound::Bytes(None))
        );
        assert!(Value::Int(2).bind_as(ColumnKind::Bool).is_err());
        assert!(Value::Text("1".into()).bind_as(ColumnKind::Int).is_err());
        assert!(Value::Bytes(vec![1]).bind_as(ColumnKind::Text).is_err());
    }
}
