//! Frames on the agent WebSocket.
//!
//! Client → server: `hello`, requests and replies to events that want an answer.
//! Server → client: responses and events. Parsing never panics: anything that is not a
//! known shape becomes a [`FrameError`] that the server answers with `invalid_request`.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;

use crate::error::{ApiError, ErrorCode};

/// Arguments of the first frame, `{"op":"hello","args":{…}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HelloArgs {
    pub token: String,
    #[serde(default)]
    pub integration_key: Option<String>,
    /// Origin of the CRM page that embeds the widget (project addition, docs/protocol.md).
    #[serde(default)]
    pub host_origin: Option<String>,
    #[serde(default = "default_protocol")]
    pub protocol: u32,
}

fn default_protocol() -> u32 {
    crate::PROTOCOL_VERSION
}

/// A frame sent by an agent client.
#[derive(Debug)]
pub enum ClientFrame {
    Hello(HelloArgs),
    /// `{"id":7,"op":"blindTransfer","args":[…]}`; args stay raw so transfer data keeps its bytes.
    Request {
        id: u64,
        op: String,
        args: Vec<Box<RawValue>>,
    },
    /// `{"reply":"rid","value":…}`; `value: None` means `undefined`.
    Reply {
        rid: String,
        value: Option<Box<RawValue>>,
        error: Option<String>,
    },
}

/// Why a client frame could not be understood. The request id is kept when it was readable,
/// so the error response can name it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct FrameError {
    pub id: Option<u64>,
    pub message: String,
}

impl FrameError {
    pub fn to_api_error(&self) -> ApiError {
        ApiError::new(ErrorCode::InvalidRequest, self.message.clone())
    }
}

#[derive(Deserialize)]
struct RawFrame<'a> {
    #[serde(default, borrow)]
    id: Option<&'a RawValue>,
    #[serde(default)]
    op: Option<String>,
    #[serde(default, borrow)]
    args: Option<&'a RawValue>,
    #[serde(default)]
    reply: Option<String>,
    #[serde(default, deserialize_with = "present")]
    value: Option<Box<RawValue>>,
    #[serde(default)]
    error: Option<String>,
}

/// A present key is `Some`, even when its value is `null`: `null` is valid transfer data.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Box<RawValue>>, D::Error> {
    Box::<RawValue>::deserialize(d).map(Some)
}

impl ClientFrame {
    /// Parses one text frame.
    pub fn parse(text: &str) -> Result<Self, FrameError> {
        let raw: RawFrame = serde_json::from_str(text).map_err(|e| FrameError {
            id: None,
            message: format!("malformed frame: {e}"),
        })?;
        if let Some(rid) = raw.reply {
            return Ok(ClientFrame::Reply {
                rid,
                value: raw.value,
                error: raw.error,
            });
        }
        let id = match raw.id {
            None => None,
            Some(v) => match serde_json::from_str::<u64>(v.get()) {
                Ok(id) => Some(id),
                Err(_) if v.get() == "null" => None,
                Err(_) => {
                    return Err(FrameError {
                        id: None,
                        message: "frame id must be a non-negative integer".into(),
                    });
                }
            },
        };
        let Some(op) = raw.op else {
            return Err(FrameError {
                id,
                message: "frame has neither op nor reply".into(),
            });
        };
        if op == "hello" {
            let args = raw.args.ok_or_else(|| FrameError {
                id,
                message: "hello needs args".into(),
            })?;
            let hello = serde_json::from_str::<HelloArgs>(args.get()).map_err(|e| FrameError {
                id,
                message: format!("bad hello args: {e}"),
            })?;
            return Ok(ClientFrame::Hello(hello));
        }
        let Some(id) = id else {
            return Err(FrameError {
                id: None,
                message: "request needs an integer id".into(),
            });
        };
        let args = match raw.args {
            None => Vec::new(),
            Some(a) if a.get() == "null" => Vec::new(),
            Some(a) => {
                serde_json::from_str::<Vec<Box<RawValue>>>(a.get()).map_err(|_| FrameError {
                    id: Some(id),
                    message: "args must be an array".into(),
                })?
            }
        };
        Ok(ClientFrame::Request { id, op, args })
    }
}

/// The result of a method: `{"status":"success","data":…}` or `{"status":"error","error":…}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum OperationResult {
    Success {
        #[serde(default)]
        data: serde_json::Value,
    },
    Error {
        error: ApiError,
    },
}

impl OperationResult {
    pub fn ok(data: impl Serialize) -> Self {
        Self::Success {
            data: serde_json::to_value(data).unwrap_or(serde_json::Value::Null),
        }
    }

    pub fn err(error: ApiError) -> Self {
        Self::Error { error }
    }

    pub fn into_result(self) -> Result<serde_json::Value, ApiError> {
        match self {
            Self::Success { data } => Ok(data),
            Self::Error { error } => Err(error),
        }
    }
}

/// A frame sent by the server.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ServerFrame {
    Response {
        id: Option<u64>,
        result: OperationResult,
    },
    Event {
        event: String,
        args: Vec<Box<RawValue>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rid: Option<String>,
    },
}

impl ServerFrame {
    pub fn response(id: Option<u64>, result: OperationResult) -> Self {
        Self::Response { id, result }
    }

    /// An event whose args are serialised from ordinary values.
    pub fn event(name: &str, args: Vec<Box<RawValue>>) -> Self {
        Self::Event {
            event: name.to_owned(),
            args,
            rid: None,
        }
    }

    pub fn to_text(&self) -> String {
        serde_json::to_string(self).expect("server frames always serialise")
    }
}

/// Serialises a value as one event argument.
pub fn arg(value: &impl Serialize) -> Box<RawValue> {
    serde_json::value::to_raw_value(value).expect("event args always serialise")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hello_request_and_reply() {
        let hello = ClientFrame::parse(
            r#"{"op":"hello","args":{"token":"t","integrationKey":null,"protocol":1}}"#,
        )
        .unwrap();
        assert!(
            matches!(hello, ClientFrame::Hello(HelloArgs { ref token, integration_key: None, .. }) if token == "t")
        );

        let req = ClientFrame::parse(
            r#"{"id":7,"op":"blindTransfer","args":["bob",{"caseId": "C1"},null]}"#,
        )
        .unwrap();
        let ClientFrame::Request { id, op, args } = req else {
            panic!()
        };
        assert_eq!((id, op.as_str(), args.len()), (7, "blindTransfer", 3));
        assert_eq!(args[1].get(), r#"{"caseId": "C1"}"#);

        let reply = ClientFrame::parse(r#"{"reply":"r1","value":null}"#).unwrap();
        assert!(
            matches!(reply, ClientFrame::Reply { value: Some(ref v), .. } if v.get() == "null")
        );
        let undefined = ClientFrame::parse(r#"{"reply":"r1"}"#).unwrap();
        assert!(matches!(
            undefined,
            ClientFrame::Reply {
                value: None,
                error: None,
                ..
            }
        ));
    }

    #[test]
    fn rejects_unknown_shapes_without_panicking() {
        for bad in [
            "",
            "{",
            "[]",
            "42",
            r#"{"id":1}"#,
            r#"{"op":"x"}"#,
            r#"{"id":-1,"op":"x"}"#,
            r#"{"id":1,"op":"x","args":{}}"#,
        ] {
            assert!(ClientFrame::parse(bad).is_err(), "{bad}");
        }
        let err = ClientFrame::parse(r#"{"id":3,"op":"x","args":5}"#).unwrap_err();
        assert_eq!(err.id, Some(3));
    }

    #[test]
    fn server_frames_have_the_contract_shape() {
        let ok = ServerFrame::response(Some(1), OperationResult::ok(serde_json::json!({"a":1})));
        assert_eq!(
            ok.to_text(),
            r#"{"id":1,"result":{"status":"success","data":{"a":1}}}"#
        );
        let err = ServerFrame::response(
            None,
            OperationResult::err(ApiError::new(ErrorCode::InvalidRequest, "m")),
        );
        assert_eq!(
            err.to_text(),
            r#"{"id":null,"result":{"status":"error","error":{"code":7,"name":"invalid_request","message":"m"}}}"#
        );
        let ev = ServerFrame::event("ON_X", vec![arg(&"i1")]);
        assert_eq!(ev.to_text(), r#"{"event":"ON_X","args":["i1"]}"#);
    }
}
