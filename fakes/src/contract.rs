//! The providers' official contracts as JSON Schema (draft 2020-12), so a
//! fake's answers can be held to the real spec.
//!
//! Two sources convert into one set of `$defs`:
//! - Google discovery documents (`schemas`: `type`, `properties`, `items`,
//!   `additionalProperties`, `enum`, `format`, bare-name `$ref`);
//! - OpenAPI 3.0 documents (`components.schemas`: JSON Schema plus
//!   `nullable` and `#/components/schemas/…` refs).
//!
//! Validation is *closed*: an object property a schema does not declare is a
//! violation, so a fake cannot grow fields the real API never sends. (Specs
//! leave objects open; closing them is what makes the check worth having.)

use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};

/// Where the shared contract files live: `$AGENCY_CONTRACTS_DIR`, else
/// `shared/contracts` beside the repository.
pub fn contracts_dir() -> PathBuf {
    std::env::var_os("AGENCY_CONTRACTS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/contracts"))
}

#[derive(Debug, thiserror::Error)]
pub enum ContractError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot parse {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("the document has no {0}")]
    NoSchemas(&'static str),
    #[error("no schema named {0:?}")]
    UnknownSchema(String),
    #[error("schema {schema} does not compile: {message}")]
    Uncompilable { schema: String, message: String },
    #[error("instance violates {schema}:\n{}", errors.join("\n"))]
    Violations { schema: String, errors: Vec<String> },
}

/// Named schemas from one contract document.
pub struct ContractSchemas {
    defs: Map<String, Value>,
}

impl ContractSchemas {
    /// From a Google discovery document (its `schemas`).
    pub fn from_discovery(document: &Value) -> Result<Self, ContractError> {
        let schemas = document
            .get("schemas")
            .and_then(Value::as_object)
            .ok_or(ContractError::NoSchemas("schemas"))?;
        Ok(Self::closed(
            schemas
                .iter()
                .map(|(name, schema)| (name.clone(), from_discovery(schema)))
                .collect(),
        ))
    }

    /// From an OpenAPI 3.0 document (its `components.schemas`).
    pub fn from_openapi(document: &Value) -> Result<Self, ContractError> {
        let schemas = document
            .pointer("/components/schemas")
            .and_then(Value::as_object)
            .ok_or(ContractError::NoSchemas("components.schemas"))?;
        Ok(Self::closed(
            schemas
                .iter()
                .map(|(name, schema)| (name.clone(), from_openapi(schema)))
                .collect(),
        ))
    }

    /// A discovery document (JSON) from disk.
    pub fn load_discovery(path: &Path) -> Result<Self, ContractError> {
        let document =
            serde_json::from_str(&read(path)?).map_err(|error| parse_error(path, error))?;
        Self::from_discovery(&document)
    }

    /// An OpenAPI document, YAML or JSON, from disk.
    pub fn load_openapi(path: &Path) -> Result<Self, ContractError> {
        let document =
            serde_yaml::from_str(&read(path)?).map_err(|error| parse_error(path, error))?;
        Self::from_openapi(&document)
    }

    /// Checks `instance` against the schema named `schema`, closed.
    pub fn validate(&self, schema: &str, instance: &Value) -> Result<(), ContractError> {
        if !self.defs.contains_key(schema) {
            return Err(ContractError::UnknownSchema(schema.into()));
        }
        let mut root = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$ref": def_ref(schema),
        });
        close_use_site(&mut root, &self.defs);
        root["$defs"] = Value::Object(self.defs.clone());
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .should_validate_formats(true)
            .build(&root)
            .map_err(|error| ContractError::Uncompilable {
                schema: schema.into(),
                message: error.to_string(),
            })?;
        let errors: Vec<String> = validator
            .iter_errors(instance)
            .map(|error| format!("at {:?}: {error}", error.instance_path().as_str()))
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ContractError::Violations {
                schema: schema.into(),
                errors,
            })
        }
    }

    fn closed(mut defs: Map<String, Value>) -> Self {
        // Closing only adds `unevaluatedProperties`, which `declares_properties` never reads.
        let open = defs.clone();
        for schema in defs.values_mut() {
            close_inside(schema, &open);
        }
        ContractSchemas { defs }
    }
}

fn read(path: &Path) -> Result<String, ContractError> {
    std::fs::read_to_string(path).map_err(|source| ContractError::Read {
        path: path.into(),
        source,
    })
}

fn parse_error(path: &Path, error: impl std::fmt::Display) -> ContractError {
    ContractError::Parse {
        path: path.into(),
        message: error.to_string(),
    }
}

fn def_ref(name: &str) -> String {
    format!("#/$defs/{name}")
}

/// A discovery schema as JSON Schema. Discovery's own keys (`id`,
/// `description`, `enumDescriptions`, boolean `required`, …) are dropped.
fn from_discovery(schema: &Value) -> Value {
    let mut converted = Map::new();
    if let Some(name) = schema.get("$ref").and_then(Value::as_str) {
        converted.insert("$ref".into(), json!(def_ref(name)));
        return Value::Object(converted);
    }
    for (key, value) in schema.as_object().into_iter().flatten() {
        match key.as_str() {
            // Discovery's "any" is JSON Schema's absence of `type`.
            "type" if value != "any" => {
                converted.insert(key.clone(), value.clone());
            }
            "enum" | "format" => {
                converted.insert(key.clone(), value.clone());
            }
            "properties" => {
                converted.insert(key.clone(), map_values(value, from_discovery));
            }
            "items" => {
                converted.insert(key.clone(), from_discovery(value));
            }
            "additionalProperties" if value.is_object() => {
                converted.insert(key.clone(), from_discovery(value));
            }
            _ => {}
        }
    }
    Value::Object(converted)
}

/// An OpenAPI 3.0 schema as JSON Schema: refs repointed to `$defs`, and
/// `nullable` (on the schema or on any of its `allOf` parts, Asana's idiom)
/// turned into "null, or the schema".
fn from_openapi(schema: &Value) -> Value {
    let Some(object) = schema.as_object() else {
        return schema.clone();
    };
    if let Some(reference) = object.get("$ref").and_then(Value::as_str) {
        let name = reference.rsplit('/').next().unwrap_or(reference);
        return json!({ "$ref": def_ref(name) });
    }
    let mut converted = Map::new();
    for (key, value) in object {
        let value = match key.as_str() {
            "nullable" => continue,
            "properties" => map_values(value, from_openapi),
            "items" | "not" => from_openapi(value),
            "additionalProperties" if value.is_object() => from_openapi(value),
            "allOf" | "anyOf" | "oneOf" => Value::Array(
                value
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(from_openapi)
                    .collect(),
            ),
            _ => value.clone(),
        };
        converted.insert(key.clone(), value);
    }
    let is_nullable = |schema: &Value| schema.get("nullable") == Some(&Value::Bool(true));
    let nullable = is_nullable(schema)
        || object
            .get("allOf")
            .and_then(Value::as_array)
            .is_some_and(|parts| parts.iter().any(is_nullable));
    if nullable {
        json!({ "anyOf": [{ "type": "null" }, converted] })
    } else {
        Value::Object(converted)
    }
}

fn map_values(map: &Value, convert: fn(&Value) -> Value) -> Value {
    Value::Object(
        map.as_object()
            .into_iter()
            .flatten()
            .map(|(key, value)| (key.clone(), convert(value)))
            .collect(),
    )
}

/// Closes `schema` where it is *used* (a property's value, array items, map
/// values, a validation root): `unevaluatedProperties: false` there sees every
/// property its `$ref`s and `allOf` parts declare. The parts of a composition
/// stay open, since each sees only its own properties.
fn close_use_site(schema: &mut Value, defs: &Map<String, Value>) {
    if declares_properties(schema, defs, 0) && schema.get("unevaluatedProperties").is_none() {
        schema["unevaluatedProperties"] = Value::Bool(false);
    }
    close_inside(schema, defs);
}

fn close_inside(schema: &mut Value, defs: &Map<String, Value>) {
    let Some(object) = schema.as_object_mut() else {
        return;
    };
    for (key, value) in object.iter_mut() {
        match key.as_str() {
            "properties" => value
                .as_object_mut()
                .into_iter()
                .flatten()
                .for_each(|(_, property)| close_use_site(property, defs)),
            "items" => close_use_site(value, defs),
            "additionalProperties" if value.is_object() => close_use_site(value, defs),
            "allOf" | "anyOf" | "oneOf" => value
                .as_array_mut()
                .into_iter()
                .flatten()
                .for_each(|part| close_inside(part, defs)),
            _ => {}
        }
    }
}

/// Whether an instance of `schema` has declared properties, through refs and compositions.
fn declares_properties(schema: &Value, defs: &Map<String, Value>, depth: usize) -> bool {
    // Deep enough for any real spec's ref chains; stops self-referencing schemas.
    const MAX_DEPTH: usize = 32;
    if depth > MAX_DEPTH {
        return false;
    }
    if schema
        .get("properties")
        .and_then(Value::as_object)
        .is_some_and(|properties| !properties.is_empty())
    {
        return true;
    }
    if let Some(target) = schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|reference| reference.strip_prefix("#/$defs/"))
    {
        return defs
            .get(target)
            .is_some_and(|def| declares_properties(def, defs, depth + 1));
    }
    ["allOf", "anyOf", "oneOf"].iter().any(|keyword| {
        schema
            .get(keyword)
            .and_then(Value::as_array)
            .is_some_and(|parts| {
                parts
                    .iter()
                    .any(|part| declares_properties(part, defs, depth + 1))
            })
    })
}
