//! This server's node id (`NODE_ID`): the label on every sandbox container it creates, so that
//! servers sharing one Docker daemon each sweep only their own leftovers. Unset, it is generated
//! once into `DATA_DIR/node_id`, so a restarted server recognises what its predecessor left.

use std::path::Path;

use super::settings::ExecSettings;

/// File under `DATA_DIR` holding the generated node id.
pub const NODE_ID_FILE: &str = "node_id";

pub fn node_id(settings: &ExecSettings, data_dir: &Path) -> std::io::Result<String> {
    if let Some(id) = &settings.node_id {
        return Ok(id.clone());
    }
    let path = data_dir.join(NODE_ID_FILE);
    if let Ok(existing) = std::fs::read_to_string(&path) {
        let existing = existing.trim();
        if !existing.is_empty() {
            return Ok(existing.to_string());
        }
    }
    let id = format!("node-{}", &uuid::Uuid::new_v4().simple().to_string()[..16]);
    std::fs::write(&path, format!("{id}\n"))?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let settings = ExecSettings::from_vars(&Default::default()).unwrap();
        let first = node_id(&settings, dir.path()).unwrap();
        assert!(first.starts_with("node-") && first.len() == 21, "{first}");
        assert_eq!(node_id(&settings, dir.path()).unwrap(), first);
        let named = ExecSettings {
            node_id: Some("eu-1".into()),
            ..settings
        };
        assert_eq!(node_id(&named, dir.path()).unwrap(), "eu-1");
    }
}
