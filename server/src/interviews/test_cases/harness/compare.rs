//! How a function case's returned value is judged against its expected value: structurally.
//! Objects are equal when they hold the same keys with equal values (order irrelevant), arrays
//! element by element, integers exactly, and any other pair of numbers when they differ by at
//! most `FLOAT_TOLERANCE` relative to the larger (or absolutely, below 1): `0.1 + 0.2` passes for
//! `0.3`, `1.0` for `1`. Strings, booleans and `null` are equal only to themselves.

use serde_json::{Number, Value};

/// Relative tolerance for numbers that are not both integers.
pub const FLOAT_TOLERANCE: f64 = 1e-9;

pub fn json_equal(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::Number(a), Value::Number(b)) => numbers_equal(a, b),
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| json_equal(x, y))
        }
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len()
                && a.iter()
                    .all(|(key, x)| b.get(key).is_some_and(|y| json_equal(x, y)))
        }
        _ => expected == actual,
    }
}

fn numbers_equal(a: &Number, b: &Number) -> bool {
    if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64()) {
        return x == y;
    }
    if let (Some(x), Some(y)) = (a.as_u64(), b.as_u64()) {
        return x == y;
    }
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => (x - y).abs() <= FLOAT_TOLERANCE * x.abs().max(y.abs()).max(1.0),
        _ => false,
    }
}

/// How deep `value` nests (a scalar is 0).
pub fn depth(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Value::Object(fields) => 1 + fields.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_compare_structurally() {
        assert!(json_equal(
            &json!({"a": 1, "b": [1, {"c": null}]}),
            &json!({"b": [1, {"c": null}], "a": 1})
        ));
        assert!(!json_equal(&json!({"a": 1}), &json!({"a": 1, "b": 2})));
        assert!(!json_equal(&json!([1, 2]), &json!([2, 1])));
        assert!(json_equal(&json!(0.3), &json!(0.1 + 0.2)));
        assert!(json_equal(&json!(1), &json!(1.0)));
        assert!(json_equal(&json!(1e20), &json!(1e20 + 1e5)));
        assert!(!json_equal(&json!(0.3), &json!(0.31)));
        assert!(!json_equal(
            &json!(9007199254740993_i64),
            &json!(9007199254740992_i64)
        ));
        assert!(!json_equal(&json!("1"), &json!(1)));
        assert!(!json_equal(&json!(null), &json!(false)));
        assert!(!json_equal(&json!([]), &json!({})));
    }

    #[test]
    fn depth_counts_nesting() {
        assert_eq!(depth(&json!(1)), 0);
        assert_eq!(depth(&json!([[1], {"a": [2]}])), 3);
    }
}
