//! The JSON body extractor: size limit, media type, and errors that name the field.
//!
//! axum's own `Json` rejects with plain text; this one answers with problems: 413 over the
//! body limit, 415 without `application/json`, 400 for text that is not JSON, 422 for JSON
//! that does not fit the request type (unknown fields included: every request body type is
//! `#[serde(deny_unknown_fields)]`), naming the field by its path.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header;
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::AppState;

/// A request body parsed as JSON into `T`.
#[derive(Debug, Clone)]
pub struct ApiJson<T>(pub T);

impl<T> FromRequest<AppState> for ApiJson<T>
where
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let limit_bytes = state.limits().body_bytes_max;
        check_content_type(&request)?;
        if let Some(length) = request
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<u64>().ok())
        {
            if length > limit_bytes as u64 {
                return Err(ApiError::PayloadTooLarge { limit_bytes });
            }
        }
        let bytes = axum::body::to_bytes(request.into_body(), limit_bytes)
            .await
            .map_err(|_| ApiError::PayloadTooLarge { limit_bytes })?;
        parse_body(&bytes).map(ApiJson)
    }
}

fn check_content_type(request: &Request) -> Result<(), ApiError> {
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
    {
        Ok(())
    } else {
        Err(ApiError::UnsupportedMediaType)
    }
}

/// Parses a body: 400 for malformed JSON, 422 naming the field for JSON of the wrong shape.
///
/// Every body is a JSON object. serde would also fill a struct from an array of its fields in
/// order (`["walk-in", …]`), a form no schema describes and an easy way to put a value in
/// the wrong field: an array is refused (422).
pub fn parse_body<T: DeserializeOwned>(bytes: &Bytes) -> Result<T, ApiError> {
    if bytes.iter().find(|byte| !byte.is_ascii_whitespace()) == Some(&b'[') {
        return Err(ApiError::Unprocessable {
            zh: "请求体必须是 JSON 对象，不能是数组".into(),
            en: "The body must be a JSON object, not an array".into(),
            field: None,
        });
    }
    let deserializer = &mut serde_json::Deserializer::from_slice(bytes);
    let result: Result<T, _> = serde_path_to_error::deserialize(deserializer);
    let value = result.map_err(|error| {
        let path = error.path().to_string();
        let inner = error.inner();
        match inner.classify() {
            serde_json::error::Category::Data => shape_error(&path, inner),
            // serde_json reports a value that no variant of an enum takes (`"channel": 5`)
            // as a syntax error at that value; the body itself is JSON, of the wrong shape.
            serde_json::error::Category::Syntax
                if serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_ok() =>
            {
                let field = (path != ".").then(|| path.clone());
                let name = field.as_deref().unwrap_or(".");
                ApiError::Unprocessable {
                    zh: format!("字段 `{name}` 的值类型不对"),
                    en: format!("Field `{name}` has a value of the wrong type"),
                    field,
                }
            }
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                ApiError::bad_request(
                    &format!(
                        "请求体不是合法的 JSON（第 {} 行第 {} 列）",
                        inner.line(),
                        inner.column()
                    ),
                    &format!(
                        "The body is not valid JSON (line {}, column {})",
                        inner.line(),
                        inner.column()
                    ),
                    None,
                )
            }
            serde_json::error::Category::Io => {
                ApiError::bad_request("无法读取请求体", "The body could not be read", None)
            }
        }
    })?;
    Ok(value)
}

/// A 422 for JSON of the wrong shape. serde's message is in English and names only what the
/// client sent (field names and expected types), never stored data, so it is safe to return.
fn shape_error(path: &str, error: &serde_json::Error) -> ApiError {
    let message = error.to_string();
    // serde_json appends " at line L column C"; the path says more.
    let message = message
        .split(" at line ")
        .next()
        .unwrap_or(&message)
        .to_owned();
    let field = field_of(path, &message);
    let (zh, en) = if let Some(name) = message
        .strip_prefix("unknown field `")
        .and_then(|rest| rest.split('`').next())
    {
        (
            format!("未知字段 `{name}`"),
            format!("Unknown field `{name}`"),
        )
    } else if let Some(name) = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next())
    {
        (
            format!("缺少必填字段 `{name}`"),
            format!("Missing field `{name}`"),
        )
    } else {
        (
            format!(
                "字段 `{}` 的值不符合要求：{message}",
                field.as_deref().unwrap_or(".")
            ),
            format!(
                "Field `{}` does not fit: {message}",
                field.as_deref().unwrap_or(".")
            ),
        )
    };
    ApiError::Unprocessable { zh, en, field }
}

/// The offending field: the path, extended by the name serde names for unknown and missing
/// fields (which the path does not include, since they are not inside the value yet).
fn field_of(path: &str, message: &str) -> Option<String> {
    let named = ["unknown field `", "missing field `"]
        .iter()
        .find_map(|prefix| message.strip_prefix(prefix))
        .and_then(|rest| rest.split('`').next());
    let base = if path == "." { "" } else { path };
    // serde_path_to_error already ends the path with an unknown field's name.
    let named = named.filter(|name| base != *name && !base.ends_with(&format!(".{name}")));
    match (base.is_empty(), named) {
        (true, Some(name)) => Some(name.to_owned()),
        (false, Some(name)) => Some(format!("{base}.{name}")),
        (false, None) => Some(base.to_owned()),
        (true, None) => None,
    }
}

/// Bytes a JSON answer's buffer starts with: a case's status or a write's answer fits, so the
/// buffer is not grown and copied several times while serializing (axum's `Json` starts at
/// 128 bytes; profiled under load, the regrowth was about 5% of a case read).
const ANSWER_BYTES_INITIAL: usize = 4096;

/// `value` as an `application/json` answer with `status`, serialized straight into one buffer.
pub fn json_answer(
    status: axum::http::StatusCode,
    value: &impl serde::Serialize,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let mut buffer = Vec::with_capacity(ANSWER_BYTES_INITIAL);
    match serde_json::to_writer(&mut buffer, value) {
        Ok(()) => (
            status,
            [(
                header::CONTENT_TYPE,
                axum::http::HeaderValue::from_static("application/json"),
            )],
            buffer,
        )
            .into_response(),
        Err(error) => ApiError::internal(format!("serialize answer: {error}")).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)] // Fields exist to be parsed.
    struct Body {
        name: String,
        inner: Option<Inner>,
        #[serde(default)]
        kind: Option<Kind>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "kebab-case")]
    #[allow(dead_code)]
    enum Kind {
        WalkIn,
        Hotline,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        count: u32,
    }

    fn check(text: &str, status: u16, field: Option<&str>) {
        let result = parse_body::<Body>(&Bytes::from(text.to_owned()));
        match result {
            Ok(_) => assert_eq!(status, 200, "{text} parsed"),
            Err(error) => {
                let problem = error.to_problem(None);
                assert_eq!(problem.status, status, "{text}: {problem:?}");
                assert_eq!(problem.field.as_deref(), field, "{text}: {problem:?}");
            }
        }
    }

    #[test]
    fn errors_name_the_field() {
        check(r#"{"name":"a"}"#, 200, None);
        check(r#"{"name":"a","extra":1}"#, 422, Some("extra"));
        check(r#"{}"#, 422, Some("name"));
        check(
            r#"{"name":"a","inner":{"count":"x"}}"#,
            422,
            Some("inner.count"),
        );
        check(
            r#"{"name":"a","inner":{"count":1,"z":2}}"#,
            422,
            Some("inner.z"),
        );
        // A value of the wrong type for an enum field: the body is JSON, of the wrong shape.
        check(r#"{"name":"a","kind":5}"#, 422, Some("kind"));
        // The fields in order, as an array: refused, though serde would take it.
        check(r#"["a", null]"#, 422, None);
        check(r#" ["a"]"#, 422, None);
        check(r#"{"name":"a""#, 400, None);
        check("not json", 400, None);
    }
}
