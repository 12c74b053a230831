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
        let mut defs = schemas
            .iter()
            .map(|(name, schema)| (name.clone(), from_openapi(schema)))
            .collect();
        resolve_discriminators(&mut defs, schemas);
        Ok(Self::closed(defs))
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

/// OpenAPI `discriminator.mapping` (e.g. DataForSEO's SERP items, whose base
/// `BaseSerpApiElementItem` also says `additionalProperties: false`): a
/// schema with a mapping becomes "its own part, and the mapped schema for
/// the discriminating value" (`if`/`then`); the mapped schemas' references
/// back to it see only its own part, without `additionalProperties: false`
/// (which would reject every subtype property). Closing still happens at use
/// sites, where `unevaluatedProperties` sees the subtype's properties.
fn resolve_discriminators(defs: &mut Map<String, Value>, originals: &Map<String, Value>) {
    for (name, original) in originals {
        let Some(discriminator) = original.get("discriminator") else {
            continue;
        };
        let (Some(property), Some(mapping)) = (
            discriminator.get("propertyName").and_then(Value::as_str),
            discriminator.get("mapping").and_then(Value::as_object),
        ) else {
            continue;
        };
        let base_name = format!("{name}__base");
        let mut base = defs.get(name).cloned().unwrap_or_else(|| json!({}));
        if let Some(base) = base.as_object_mut() {
            base.remove("discriminator");
            base.remove("additionalProperties");
        }
        let mut parts = vec![json!({ "$ref": def_ref(&base_name) })];
        for (value, target) in mapping {
            let Some(target) = target.as_str().and_then(|target| target.rsplit('/').next()) else {
                continue;
            };
            if let Some(mapped) = defs.get_mut(target) {
                repoint_refs(mapped, &def_ref(name), &def_ref(&base_name));
            }
            parts.push(json!({
                "if": { "properties": { property: { "const": value } }, "required": [property] },
                "then": { "$ref": def_ref(target) },
            }));
        }
        defs.insert(base_name, base);
        defs.insert(name.clone(), json!({ "allOf": parts }));
    }
}

fn repoint_refs(schema: &mut Value, from: &str, to: &str) {
    match schema {
        Value::Object(object) => {
            for (key, value) in object.iter_mut() {
                if key == "$ref" && value == from {
                    *value = json!(to);
                } else {
                    repoint_refs(value, from, to);
                }
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|item| repoint_refs(item, from, to)),
        _ => {}
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

/// Node specs in the `{"fields":[{"name","type"}]}` format of Meta's SDK
/// codegen (SOURCES.md "Meta spec format"): one JSON file per node, plus
/// `enum_types.json` (`[{name, node, field_or_param, values}]`).
///
/// Types are `string`, `int`, `unsigned int`, `float`, `bool`, `datetime`,
/// `Object` (any object), `list<T>`, `map<K, V>`, a node name, or an enum
/// name. Validation is closed like [`ContractSchemas`]': a field the node
/// does not declare is a violation.
pub struct FieldListSpecs {
    nodes: std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>>,
    enums: std::collections::BTreeMap<String, Vec<String>>,
}

impl FieldListSpecs {
    /// Every `*.json` in `dir`: `enum_types.json` as the enums, the rest as
    /// nodes named by their file stem.
    pub fn load_dir(dir: &Path) -> Result<Self, ContractError> {
        let entries = std::fs::read_dir(dir).map_err(|source| ContractError::Read {
            path: dir.into(),
            source,
        })?;
        let mut nodes = Vec::new();
        let mut enums = None;
        for entry in entries {
            let path = entry
                .map_err(|source| ContractError::Read {
                    path: dir.into(),
                    source,
                })?
                .path();
            if path.extension().and_then(|ext| ext.to_str()) != Some("json") {
                continue;
            }
            let document: Value =
                serde_json::from_str(&read(&path)?).map_err(|error| parse_error(&path, error))?;
            let stem = path
                .file_stem()
                .and_then(|stem| stem.to_str())
                .unwrap_or_default()
                .to_owned();
            if stem == "enum_types" {
                enums = Some(document);
            } else {
                nodes.push((stem, document));
            }
        }
        Self::from_documents(nodes, enums.as_ref())
    }

    /// From (node name, document) pairs and an optional enum document.
    pub fn from_documents(
        nodes: impl IntoIterator<Item = (String, Value)>,
        enums: Option<&Value>,
    ) -> Result<Self, ContractError> {
        let mut parsed = std::collections::BTreeMap::new();
        for (name, document) in nodes {
            let fields = document
                .get("fields")
                .and_then(Value::as_array)
                .ok_or(ContractError::NoSchemas("fields"))?;
            let fields = fields
                .iter()
                .filter_map(|field| {
                    Some((
                        field.get("name")?.as_str()?.to_owned(),
                        field.get("type")?.as_str()?.to_owned(),
                    ))
                })
                .collect();
            parsed.insert(name, fields);
        }
        let enums = enums
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|entry| {
                let values = entry
                    .get("values")?
                    .as_array()?
                    .iter()
                    .filter_map(|value| value.as_str().map(str::to_owned))
                    .collect();
                Some((entry.get("name")?.as_str()?.to_owned(), values))
            })
            .collect();
        Ok(FieldListSpecs {
            nodes: parsed,
            enums,
        })
    }

    /// Checks `instance` (an object) against node `node`'s fields, closed.
    pub fn validate(&self, node: &str, instance: &Value) -> Result<(), ContractError> {
        if !self.nodes.contains_key(node) {
            return Err(ContractError::UnknownSchema(node.into()));
        }
        let mut errors = Vec::new();
        self.check(node, instance, "", &mut errors);
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ContractError::Violations {
                schema: node.into(),
                errors,
            })
        }
    }

    fn check(&self, type_name: &str, value: &Value, at: &str, errors: &mut Vec<String>) {
        let type_name = type_name.trim();
        let mut wrong = |expected: &str| {
            errors.push(format!(
                "at {at:?}: {value} is not {expected} ({type_name})"
            ));
        };
        if let Some(inner) = type_name
            .strip_prefix("list<")
            .and_then(|rest| rest.strip_suffix('>'))
        {
            match value.as_array() {
                Some(items) => {
                    for (index, item) in items.iter().enumerate() {
                        self.check(inner, item, &format!("{at}/{index}"), errors);
                    }
                }
                None => wrong("an array"),
            }
            return;
        }
        if let Some(inner) = type_name
            .strip_prefix("map<")
            .and_then(|rest| rest.strip_suffix('>'))
        {
            let value_type = split_top_level(inner).map_or(inner, |(_, value_type)| value_type);
            match value.as_object() {
                Some(map) => {
                    for (key, item) in map {
                        self.check(value_type, item, &format!("{at}/{key}"), errors);
                    }
                }
                None => wrong("an object"),
            }
            return;
        }
        let fits = match type_name {
            "string" | "datetime" => value.is_string(),
            "int" => value.is_i64() || value.is_u64(),
            "unsigned int" => value.is_u64(),
            "float" => value.is_number(),
            "bool" => value.is_boolean(),
            "Object" | "map" => value.is_object(),
            "list" => value.is_array(),
            _ => {
                if let Some(fields) = self.nodes.get(type_name) {
                    match value.as_object() {
                        Some(object) => {
                            for (key, item) in object {
                                match fields.get(key) {
                                    Some(field_type) => {
                                        self.check(field_type, item, &format!("{at}/{key}"), errors)
                                    }
                                    None => errors.push(format!(
                                        "at {at:?}: {type_name} declares no field {key:?}"
                                    )),
                                }
                            }
                        }
                        None => wrong("an object"),
                    }
                    return;
                }
                match self.enums.get(type_name) {
                    Some(values) => value
                        .as_str()
                        .is_some_and(|text| values.iter().any(|allowed| allowed == text)),
                    None => {
                        errors.push(format!("at {at:?}: unknown type {type_name:?}"));
                        return;
                    }
                }
            }
        };
        if !fits {
            wrong("of the declared type");
        }
    }
}

/// `"string, list<map<string, int>>"` → (`"string"`, `"list<map<string, int>>"`):
/// the first comma outside angle brackets.
fn split_top_level(types: &str) -> Option<(&str, &str)> {
    let mut depth = 0usize;
    for (at, character) in types.char_indices() {
        match character {
            '<' => depth += 1,
            '>' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => return Some((types[..at].trim(), types[at + 1..].trim())),
            _ => {}
        }
    }
    None
}
