//! The tables a database holds, read from its own catalog (so a table added by a later migration
//! is backed up and restored with no change here), and the order that satisfies their foreign keys.

use std::collections::{BTreeMap, BTreeSet};

use super::value::ColumnKind;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    pub kind: ColumnKind,
}

#[derive(Debug, Clone)]
pub struct Table {
    pub name: String,
    /// In the table's own column order.
    pub columns: Vec<Column>,
    /// Primary-key columns in key order; rows are written in this order.
    pub primary_key: Vec<String>,
    /// Tables this one's foreign keys point at.
    pub references: BTreeSet<String>,
}

impl Table {
    pub fn column_names(&self) -> Vec<String> {
        self.columns.iter().map(|c| c.name.clone()).collect()
    }

    /// What rows are sorted by: the primary key, or every column for a table without one.
    pub fn order_columns(&self) -> Vec<String> {
        if self.primary_key.is_empty() {
            self.column_names()
        } else {
            self.primary_key.clone()
        }
    }
}

/// `tables` with every table after the ones it references (self-references aside), ties by name.
pub fn foreign_key_order(tables: Vec<Table>) -> Result<Vec<Table>, String> {
    let mut pending: BTreeMap<String, Table> =
        tables.into_iter().map(|t| (t.name.clone(), t)).collect();
    let mut ordered: Vec<Table> = Vec::with_capacity(pending.len());
    while !pending.is_empty() {
        let ready = pending
            .values()
            .find(|t| {
                t.references
                    .iter()
                    .all(|r| *r == t.name || !pending.contains_key(r))
            })
            .map(|t| t.name.clone());
        match ready {
            Some(name) => ordered.extend(pending.remove(&name)),
            None => {
                let names: Vec<&String> = pending.keys().collect();
                return Err(format!("foreign keys form a cycle among {names:?}"));
            }
        }
    }
    Ok(ordered)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(name: &str, refs: &[&str]) -> Table {
        Table {
            name: name.into(),
            columns: Vec::new(),
            primary_key: Vec::new(),
            references: refs.iter().map(|r| r.to_string()).collect(),
        }
    }

    #[test]
    fn referenced_tables_come_first_and_cycles_are_refused() {
        let order = foreign_key_order(vec![
            table("a_members", &["pads", "users"]),
            table("pads", &["users"]),
            table("tree", &["tree"]),
            table("users", &[]),
        ])
        .unwrap();
        let names: Vec<&str> = order.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["tree", "users", "pads", "a_members"]);
        assert!(foreign_key_order(vec![table("a", &["b"]), table("b", &["a"])]).is_err());
    }
}
