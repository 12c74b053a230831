//! The Worker: a thin translation between Cloudflare's bindings and the core's seams.
//! `fetch` is intake; `queue` is the consumer. Every decision is the core's.
#![cfg(target_arch = "wasm32")]

use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;

use agency_core::binding::Binding;
use agency_core::config::Config;
use agency_core::http::{HttpRequest, HttpResponse, InboundRequest, Method};
use agency_core::job::TaskJob;
use agency_core::platform::{
    Artifact, ArtifactStore, Clock, HttpClient, LogLevel, LogSink, Platform, RandomSource, SecretSource, Sleeper,
    StoreError, TraceStore, TransportError, WorkQueue,
};
use agency_core::redact::Sanitized;
use agency_core::trace::{Row, SqlValue, Statement};
use async_trait::async_trait;
use secrecy::SecretString;
use worker::wasm_bindgen::JsValue;
use worker::{event, Context, Env, MessageBatch, MessageExt, Request, Response};

const D1_BINDING: &str = "DB";
const R2_BINDING: &str = "ARTIFACTS";
const QUEUE_BINDING: &str = "WORK_QUEUE";

#[event(fetch)]
async fn fetch(mut request: Request, env: Env, _ctx: Context) -> worker::Result<Response> {
    let config = match config(&env) {
        Ok(config) => config,
        Err(error) => return Response::error(format!("configuration: {error}"), 500),
    };
    let platform = platform(&env)?;
    let inbound = InboundRequest {
        method: request.method().to_string(),
        path: request.path(),
        headers: request.headers().entries().collect(),
        body: request.bytes().await.unwrap_or_default(),
    };
    let (status, headers, body) = agency_core::intake::handle(&platform, &config, inbound).await.into_wire();
    let response_headers = worker::Headers::new();
    for (name, value) in &headers {
        response_headers.set(name, value)?;
    }
    Ok(Response::from_bytes(body.into_bytes())?.with_status(status).with_headers(response_headers))
}

#[event(queue)]
async fn queue(batch: MessageBatch<TaskJob>, env: Env, _ctx: Context) -> worker::Result<()> {
    let config = config(&env).map_err(|e| worker::Error::RustError(e.to_string()))?;
    let platform = platform(&env)?;
    for message in batch.messages()? {
        match agency_core::consume::process(&platform, &config, message.body()).await {
            Ok(_) => message.ack(),
            // Only a trace-store failure lands here: let the queue deliver the job again.
            Err(_) => message.retry(),
        }
    }
    Ok(())
}

fn config(env: &Env) -> Result<Config, agency_core::config::ConfigError> {
    Config::from_vars(|name| env.var(name).ok().map(|v| v.to_string()))
}

fn platform(env: &Env) -> worker::Result<Platform> {
    let clock = Rc::new(WorkerClock);
    Ok(Platform {
        http: Rc::new(WorkerFetch),
        traces: Rc::new(D1Traces(env.d1(D1_BINDING)?)),
        artifacts: Rc::new(R2Artifacts(env.bucket(R2_BINDING)?)),
        secrets: Rc::new(WorkerSecrets(env.clone())),
        queue: Rc::new(WorkerQueue(env.queue(QUEUE_BINDING)?)),
        clock: clock.clone(),
        sleeper: clock,
        random: Rc::new(CryptoRandom),
        log: Rc::new(ConsoleLog),
    })
}

struct WorkerFetch;

#[async_trait(?Send)]
impl HttpClient for WorkerFetch {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        // Transport errors keep only their kind: the JS error text can quote the URL.
        let failed = |_| TransportError("request failed".to_owned());
        let headers = worker::Headers::new();
        for (name, value) in &request.headers {
            headers.set(name, value).map_err(failed)?;
        }
        let mut init = worker::RequestInit::new();
        init.with_method(match request.method {
            Method::Get => worker::Method::Get,
            Method::Post => worker::Method::Post,
        })
        .with_headers(headers)
        .with_redirect(worker::RequestRedirect::Manual);
        if !request.body.is_empty() {
            init.with_body(Some(js_sys::Uint8Array::from(request.body.as_slice()).into()));
        }
        let outbound = Request::new_with_init(&request.url, &init).map_err(failed)?;
        let mut response = worker::Fetch::Request(outbound).send().await.map_err(failed)?;
        let status = response.status_code();
        let headers = response.headers().entries().collect();
        let body = response.bytes().await.map_err(|_| TransportError("response body interrupted".to_owned()))?;
        Ok(HttpResponse { status, headers, body })
    }
}

struct D1Traces(worker::D1Database);

fn bind(statement: &Statement, db: &worker::D1Database) -> Result<worker::D1PreparedStatement, StoreError> {
    let params: Vec<JsValue> = statement
        .params
        .iter()
        .map(|p| match p {
            SqlValue::Null => JsValue::NULL,
            SqlValue::Integer(i) => JsValue::from_f64(*i as f64),
            SqlValue::Text(t) => JsValue::from_str(t),
        })
        .collect();
    db.prepare(statement.sql).bind(&params).map_err(store_error)
}

/// D1 reports a refused unique claim as a SQLite constraint message.
fn store_error(error: worker::Error) -> StoreError {
    let text = error.to_string();
    if text.contains("UNIQUE constraint failed") {
        StoreError::Conflict
    } else {
        StoreError::Other(text)
    }
}

#[async_trait(?Send)]
impl TraceStore for D1Traces {
    async fn batch(&self, statements: Vec<Statement>) -> Result<(), StoreError> {
        let prepared = statements.iter().map(|s| bind(s, &self.0)).collect::<Result<Vec<_>, _>>()?;
        // D1 runs a batch as one transaction: all statements apply or none does.
        self.0.batch(prepared).await.map_err(store_error)?;
        Ok(())
    }

    async fn query(&self, statement: Statement) -> Result<Vec<Row>, StoreError> {
        let result = bind(&statement, &self.0)?.all().await.map_err(store_error)?;
        let rows: Vec<serde_json::Map<String, serde_json::Value>> = result.results().map_err(store_error)?;
        Ok(rows
            .into_iter()
            .map(|row| {
                row.into_iter()
                    .map(|(column, value)| {
                        let value = match value {
                            serde_json::Value::Null => SqlValue::Null,
                            serde_json::Value::Number(n) if n.is_i64() => SqlValue::Integer(n.as_i64().unwrap_or_default()),
                            serde_json::Value::String(s) => SqlValue::Text(s),
                            other => SqlValue::Text(other.to_string()),
                        };
                        (column, value)
                    })
                    .collect()
            })
            .collect())
    }
}

struct R2Artifacts(worker::Bucket);

#[async_trait(?Send)]
impl ArtifactStore for R2Artifacts {
    async fn put(&self, object: Artifact) -> Result<(), StoreError> {
        let metadata: HashMap<String, String> = object.metadata.into_iter().map(|(k, v)| (k, v.into_string())).collect();
        self.0
            .put(object.key.as_str(), object.body.into_string().into_bytes())
            .http_metadata(worker::HttpMetadata { content_type: Some(object.content_type.to_owned()), ..Default::default() })
            .custom_metadata(metadata)
            .execute()
            .await
            .map_err(store_error)?;
        Ok(())
    }
}

struct WorkerSecrets(Env);

#[async_trait(?Send)]
impl SecretSource for WorkerSecrets {
    async fn get(&self, binding: Binding) -> Result<Option<SecretString>, StoreError> {
        Ok(self.0.secret(binding.name()).ok().map(|secret| SecretString::from(secret.to_string())))
    }
}

struct WorkerQueue(worker::Queue);

#[async_trait(?Send)]
impl WorkQueue for WorkerQueue {
    async fn send(&self, job: TaskJob) -> Result<(), StoreError> {
        self.0.send(job).await.map_err(store_error)
    }
}

struct WorkerClock;

impl Clock for WorkerClock {
    fn now_ms(&self) -> i64 {
        worker::Date::now().as_millis() as i64
    }
}

#[async_trait(?Send)]
impl Sleeper for WorkerClock {
    async fn sleep(&self, duration: Duration) {
        worker::Delay::from(duration).await;
    }
}

struct CryptoRandom;

impl RandomSource for CryptoRandom {
    fn next_u64(&self) -> u64 {
        let mut bytes = [0u8; 8];
        getrandom::getrandom(&mut bytes).expect("crypto.getRandomValues is available in Workers");
        u64::from_le_bytes(bytes)
    }
}

struct ConsoleLog;

impl LogSink for ConsoleLog {
    fn write(&self, level: LogLevel, line: &Sanitized) {
        match level {
            LogLevel::Info => worker::console_log!("{line}"),
            LogLevel::Warn => worker::console_warn!("{line}"),
            LogLevel::Error => worker::console_error!("{line}"),
        }
    }
}
