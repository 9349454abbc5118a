//! opencoder's own messages (type 100): a JSON object tagged by a string
//! `type` field, carried as a lib0 varString.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::error::{AppEncodeError, DecodeError};
use crate::lib0;
use crate::message::MSG_APP;

/// A parsed app message.
///
/// The fields are private so that every `AppMessage` is known to be an object
/// with a string `type`: encoding one always yields a frame that decodes.
#[derive(Debug, Clone, PartialEq)]
pub struct AppMessage {
    msg_type: String,
    value: Value,
}

enum ShapeError {
    NotAnObject,
    MissingType,
}

fn type_of(value: &Value) -> Result<&str, ShapeError> {
    let object = value.as_object().ok_or(ShapeError::NotAnObject)?;
    object
        .get("type")
        .and_then(Value::as_str)
        .ok_or(ShapeError::MissingType)
}

impl AppMessage {
    /// Wraps a JSON value, checking that it is an object with a string `type`.
    pub fn new(value: Value) -> Result<Self, AppEncodeError> {
        let msg_type = type_of(&value)
            .map_err(|e| match e {
                ShapeError::NotAnObject => AppEncodeError::NotAnObject,
                ShapeError::MissingType => AppEncodeError::MissingType,
            })?
            .to_owned();
        Ok(AppMessage { msg_type, value })
    }

    /// Serializes any value (typically a `#[derive(Serialize)]` struct or
    /// `#[serde(tag = "type")]` enum) into an app message.
    pub fn from_serialize<T: Serialize + ?Sized>(msg: &T) -> Result<Self, AppEncodeError> {
        AppMessage::new(serde_json::to_value(msg)?)
    }

    pub(crate) fn parse(json: &str) -> Result<Self, DecodeError> {
        let value: Value =
            serde_json::from_str(json).map_err(|e| DecodeError::InvalidJson(e.to_string()))?;
        let msg_type = type_of(&value)
            .map_err(|e| match e {
                ShapeError::NotAnObject => DecodeError::AppNotObject,
                ShapeError::MissingType => DecodeError::MissingAppType,
            })?
            .to_owned();
        Ok(AppMessage { msg_type, value })
    }

    /// The `type` field, e.g. `"chat"`.
    pub fn msg_type(&self) -> &str {
        &self.msg_type
    }

    /// The whole object, including `type`.
    pub fn value(&self) -> &Value {
        &self.value
    }

    /// Gives up the object, including `type`.
    pub fn into_value(self) -> Value {
        self.value
    }

    /// Deserializes the object into a typed message without cloning it.
    pub fn deserialize<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        T::deserialize(&self.value)
    }

    /// The JSON text as sent on the wire.
    pub(crate) fn to_json(&self) -> Vec<u8> {
        json_bytes(&self.value)
    }

    /// Encodes a complete type-100 frame.
    pub fn encode(&self) -> Vec<u8> {
        app_frame(&self.to_json())
    }
}

/// Serializes a `Value`. This cannot fail: a `Value` has only string keys
/// and finite numbers, and writing to a `Vec` does no I/O.
pub(crate) fn json_bytes(value: &Value) -> Vec<u8> {
    match serde_json::to_vec(value) {
        Ok(bytes) => bytes,
        // Unreachable in practice (see above); `null` keeps this path
        // panic-free should serde_json ever change.
        Err(_) => b"null".to_vec(),
    }
}

pub(crate) fn app_frame(json: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(lib0::var_uint_len(MSG_APP) + lib0::var_bytes_len(json.len()));
    lib0::write_var_uint(&mut out, MSG_APP);
    lib0::write_var_bytes(&mut out, json);
    out
}

/// Encodes a type-100 frame from any serializable value that turns into a
/// JSON object with a string `type` field.
pub fn encode_app<T: Serialize + ?Sized>(msg: &T) -> Result<Vec<u8>, AppEncodeError> {
    Ok(AppMessage::from_serialize(msg)?.encode())
}
