//! The configuration `wrangler dev` runs with: the repository's real `wrangler.toml`, with only
//! what a harness run must change.
//!
//! Kept as is: the Worker's name, compatibility date, every binding (D1, R2, the queue producer
//! and consumer with their settings), `secrets.required` and the `[vars]` the run does not set.
//! Changed:
//! - `[build]` is dropped and `main` points at this suite's copy of the build, so wrangler neither
//!   rebuilds at start-up (it runs `[build]` twice) nor reloads when someone rebuilds the tree;
//! - `migrations_dir` becomes absolute (the derived file lives outside the repository);
//! - the D1 `database_id`, the R2 `bucket_name` and the queue's name are fresh per scenario, so
//!   each scenario starts on an empty database, bucket and queue inside one persist directory;
//! - `[vars]` point every provider at its fake (`runner::runtime_vars`).

use std::path::Path;

use anyhow::{anyhow, bail, Context};
use toml::{Table, Value};

pub const D1_BINDING: &str = "DB";
pub const R2_BINDING: &str = "ARTIFACTS";
pub const QUEUE_BINDING: &str = "WORK_QUEUE";

/// One scenario's fresh resource names.
#[derive(Clone, Debug)]
pub struct Resources {
    pub database_id: String,
    pub bucket: String,
    pub queue: String,
}

impl Resources {
    /// Names unique within a suite (`generation` counts scenarios) and across suites (`salt`).
    pub fn fresh(generation: u32, salt: &str) -> Resources {
        Resources {
            database_id: format!("00000000-0000-4000-8000-{salt}{generation:04x}"),
            bucket: format!("agency-os-artifacts-{salt}-{generation:04}"),
            queue: format!("agency-os-work-{salt}-{generation:04}"),
        }
    }
}

pub struct DerivedConfig {
    base: Table,
}

impl DerivedConfig {
    pub fn load(wrangler_toml: &Path) -> anyhow::Result<DerivedConfig> {
        let text = std::fs::read_to_string(wrangler_toml).with_context(|| format!("reading {}", wrangler_toml.display()))?;
        let base: Table = toml::from_str(&text).with_context(|| format!("parsing {}", wrangler_toml.display()))?;
        let config = DerivedConfig { base };
        // Fail at start-up, not at the first scenario, if the layout is not the expected one.
        config.render(Path::new("/bundle/index.js"), Path::new("/repo"), &[], &Resources::fresh(0, "000000"))?;
        Ok(config)
    }

    /// The TOML text for one scenario.
    pub fn render(
        &self,
        main: &Path,
        repo_root: &Path,
        vars: &[(&str, String)],
        resources: &Resources,
    ) -> anyhow::Result<String> {
        let mut config = self.base.clone();
        config.remove("build");
        config.insert("main".into(), path_value(main)?);

        let databases = array_of_tables(&mut config, "d1_databases")?;
        let database = find_binding(databases, D1_BINDING)?;
        let migrations = database.get("migrations_dir").and_then(Value::as_str).unwrap_or("migrations").to_owned();
        database.insert("migrations_dir".into(), path_value(&repo_root.join(migrations))?);
        database.insert("database_id".into(), Value::String(resources.database_id.clone()));
        database.remove("preview_database_id");

        let buckets = array_of_tables(&mut config, "r2_buckets")?;
        let bucket = find_binding(buckets, R2_BINDING)?;
        bucket.insert("bucket_name".into(), Value::String(resources.bucket.clone()));
        bucket.remove("preview_bucket_name");

        let queues = config.get_mut("queues").and_then(Value::as_table_mut).ok_or_else(|| anyhow!("wrangler.toml declares no [queues]"))?;
        let producers = queues.get_mut("producers").and_then(Value::as_array_mut).ok_or_else(|| anyhow!("wrangler.toml declares no [[queues.producers]]"))?;
        let producer = producers
            .iter_mut()
            .filter_map(Value::as_table_mut)
            .find(|t| t.get("binding").and_then(Value::as_str) == Some(QUEUE_BINDING))
            .ok_or_else(|| anyhow!("wrangler.toml has no queue producer bound as {QUEUE_BINDING}"))?;
        let queue_name = producer.get("queue").and_then(Value::as_str).ok_or_else(|| anyhow!("the {QUEUE_BINDING} producer names no queue"))?.to_owned();
        producer.insert("queue".into(), Value::String(resources.queue.clone()));
        let consumers = queues.get_mut("consumers").and_then(Value::as_array_mut).ok_or_else(|| anyhow!("wrangler.toml declares no [[queues.consumers]]"))?;
        let mut consuming = 0;
        for consumer in consumers.iter_mut().filter_map(Value::as_table_mut) {
            if consumer.get("queue").and_then(Value::as_str) == Some(queue_name.as_str()) {
                consumer.insert("queue".into(), Value::String(resources.queue.clone()));
                consuming += 1;
            }
        }
        if consuming != 1 {
            bail!("wrangler.toml must declare exactly one consumer of {queue_name:?} (found {consuming})");
        }

        let mut merged = config.get("vars").and_then(Value::as_table).cloned().unwrap_or_default();
        for (name, value) in vars {
            merged.insert((*name).to_owned(), Value::String(value.clone()));
        }
        config.insert("vars".into(), Value::Table(merged));

        let body = toml::to_string(&config).context("writing the derived wrangler config")?;
        Ok(format!(
            "# Generated by agency-harness (--target workerd) from the repository's wrangler.toml\n# for one scenario: fresh D1/R2/queue names, [vars] pointing at the fakes, no [build].\n{body}"
        ))
    }
}

fn path_value(path: &Path) -> anyhow::Result<Value> {
    path.to_str().map(|p| Value::String(p.to_owned())).ok_or_else(|| anyhow!("{} is not valid UTF-8", path.display()))
}

fn array_of_tables<'a>(config: &'a mut Table, key: &str) -> anyhow::Result<&'a mut Vec<Value>> {
    config.get_mut(key).and_then(Value::as_array_mut).ok_or_else(|| anyhow!("wrangler.toml declares no [[{key}]]"))
}

fn find_binding<'a>(entries: &'a mut [Value], binding: &str) -> anyhow::Result<&'a mut Table> {
    entries
        .iter_mut()
        .filter_map(Value::as_table_mut)
        .find(|t| t.get("binding").and_then(Value::as_str) == Some(binding))
        .ok_or_else(|| anyhow!("wrangler.toml has no binding {binding}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_derived_config_keeps_bindings_and_secrets_and_drops_the_build() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let derived = DerivedConfig::load(&root.join("wrangler.toml")).unwrap();
        let resources = Resources::fresh(7, "abcdef");
        let text = derived
            .render(Path::new("/tmp/x/bundle/index.js"), &root, &[("ASANA_BASE_URL", "http://127.0.0.1:9/api/1.0".into())], &resources)
            .unwrap();
        let table: Table = toml::from_str(&text).unwrap();
        assert!(table.get("build").is_none());
        assert_eq!(table["main"].as_str(), Some("/tmp/x/bundle/index.js"));
        let db = &table["d1_databases"][0];
        assert_eq!(db["database_id"].as_str(), Some(resources.database_id.as_str()));
        assert!(db["migrations_dir"].as_str().unwrap().ends_with("/migrations"));
        assert_eq!(table["r2_buckets"][0]["bucket_name"].as_str(), Some(resources.bucket.as_str()));
        assert_eq!(table["queues"]["producers"][0]["queue"].as_str(), Some(resources.queue.as_str()));
        assert_eq!(table["queues"]["consumers"][0]["queue"].as_str(), Some(resources.queue.as_str()));
        assert_eq!(table["vars"]["ASANA_BASE_URL"].as_str(), Some("http://127.0.0.1:9/api/1.0"));
        // Vars the run does not set keep their wrangler.toml values.
        assert!(table["vars"].get("INTERNAL_IP_ALLOWLIST").is_some());
        let required = table["secrets"]["required"].as_array().unwrap();
        assert_eq!(required.len(), agency_core::binding::Binding::ALL.len());
    }
}
