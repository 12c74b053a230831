//! The real `wrangler.toml`: no approved binding name under `[vars]` (top level or any
//! `[env.*]`), every approved name declared as a secret, and the bindings the Worker uses.

use std::path::Path;

use agency_core::binding::Binding;
use toml::{Table, Value};

fn wrangler_toml() -> Table {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../wrangler.toml");
    let text = std::fs::read_to_string(&path).expect("wrangler.toml is readable");
    toml::from_str(&text).expect("wrangler.toml parses")
}

/// Every place a config declares `[vars]`: the top level, then each environment.
fn var_tables(config: &Table) -> Vec<(String, &Table)> {
    let mut tables = Vec::new();
    if let Some(vars) = config.get("vars").and_then(Value::as_table) {
        tables.push(("[vars]".to_owned(), vars));
    }
    for (name, env) in config.get("env").and_then(Value::as_table).into_iter().flatten() {
        if let Some(vars) = env.get("vars").and_then(Value::as_table) {
            tables.push((format!("[env.{name}.vars]"), vars));
        }
    }
    tables
}

/// Approved binding names found under any `[vars]` (compared case-insensitively: wrangler's
/// variable names are case-sensitive, but a differently cased secret name is still a mistake).
fn secrets_in_vars(config: &Table) -> Vec<String> {
    let mut found = Vec::new();
    for (place, vars) in var_tables(config) {
        for key in vars.keys() {
            if Binding::ALL.iter().any(|b| b.name().eq_ignore_ascii_case(key)) {
                found.push(format!("{key} under {place}"));
            }
        }
    }
    found
}

/// Names declared as secrets in `scope` (a config or one environment): `secrets.required`, plus
/// any Secrets Store bindings.
fn declared_secrets(scope: &Table) -> Vec<String> {
    let mut names: Vec<String> = scope
        .get("secrets")
        .and_then(|s| s.get("required"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    for store in scope.get("secrets_store_secrets").and_then(Value::as_array).into_iter().flatten() {
        if let Some(binding) = store.get("binding").and_then(Value::as_str) {
            names.push(binding.to_owned());
        }
    }
    names
}

fn missing_secrets(scope: &Table) -> Vec<&'static str> {
    let declared = declared_secrets(scope);
    Binding::ALL.iter().map(|b| b.name()).filter(|name| !declared.iter().any(|d| d == name)).collect()
}

#[test]
fn no_approved_binding_is_a_plain_var_in_any_environment() {
    let config = wrangler_toml();
    assert!(config.get("vars").is_some(), "wrangler.toml declares its non-secret configuration under [vars]");
    let found = secrets_in_vars(&config);
    assert!(found.is_empty(), "secret binding names under [vars]: {found:?}");
}

#[test]
fn every_approved_binding_is_declared_as_a_secret_and_nothing_else_is() {
    let config = wrangler_toml();
    let missing = missing_secrets(&config);
    assert!(missing.is_empty(), "not declared as secrets: {missing:?}");
    let declared = declared_secrets(&config);
    let unknown: Vec<&String> = declared.iter().filter(|d| Binding::from_name(d).is_none()).collect();
    assert!(unknown.is_empty(), "declared as secrets but not approved bindings: {unknown:?}");
    // `secrets` is not inherited by environments: each must declare the full set again.
    for (name, env) in config.get("env").and_then(Value::as_table).into_iter().flatten() {
        let env = env.as_table().expect("an [env.*] is a table");
        let missing = missing_secrets(env);
        assert!(missing.is_empty(), "[env.{name}] does not declare as secrets: {missing:?}");
    }
}

#[test]
fn the_bindings_the_worker_uses_are_declared() {
    let config = wrangler_toml();
    let d1 = config["d1_databases"].as_array().unwrap().iter().find(|d| d["binding"].as_str() == Some("DB")).expect("D1 bound as DB");
    assert_eq!(d1["migrations_dir"].as_str(), Some("migrations"));
    assert!(config["r2_buckets"].as_array().unwrap().iter().any(|b| b["binding"].as_str() == Some("ARTIFACTS")), "R2 bound as ARTIFACTS");
    let producer = config["queues"]["producers"].as_array().unwrap().iter().find(|p| p["binding"].as_str() == Some("WORK_QUEUE")).expect("queue producer WORK_QUEUE");
    let queue = producer["queue"].as_str().unwrap();
    assert!(
        config["queues"]["consumers"].as_array().unwrap().iter().any(|c| c["queue"].as_str() == Some(queue)),
        "the Worker consumes the queue it produces to"
    );
    assert!(config["build"]["command"].as_str().unwrap().contains("scripts/build-worker.sh"), "[build] runs the one build script");
}

#[test]
fn the_checks_catch_a_secret_planted_in_an_environment() {
    let planted: Table = toml::from_str(
        r#"
        [vars]
        ASANA_BASE_URL = "https://app.asana.com/api/1.0"
        [secrets]
        required = ["ASANA_WEBHOOK_SECRET"]
        [env.staging.vars]
        agency_os_asana_agent_pat = "not a value anyone should see"
        "#,
    )
    .unwrap();
    assert_eq!(secrets_in_vars(&planted), vec!["agency_os_asana_agent_pat under [env.staging.vars]".to_owned()]);
    assert_eq!(missing_secrets(&planted).len(), Binding::ALL.len() - 1);
    let env = planted["env"]["staging"].as_table().unwrap();
    assert_eq!(missing_secrets(env).len(), Binding::ALL.len());
}
