//! The core driven through native adapters with a scripted HTTP seam: retries, virtual time,
//! atomic step batches and the idempotency claim, without any fake server.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;
use std::time::Duration;

use agency_core::binding::Binding;
use agency_core::config::Config;
use agency_core::context::RunContext;
use agency_core::error::StepError;
use agency_core::http::{HttpRequest, HttpResponse, Method};
use agency_core::platform::{HttpClient, Platform, StoreError, TraceStore, TransportError};
use agency_core::retry;
use agency_core::secrets::SecretScope;
use agency_core::trace::{self, NewRun, RunKind, RunStatus, SqlValue, Statement};
use agency_native::{CapturedLog, MapSecrets, MemoryArtifacts, MemoryQueue, SeededRandom, SqliteTraceStore, VirtualClock};
use async_trait::async_trait;
use secrecy::SecretString;

/// Answers from a script, in order; records how many requests it saw.
#[derive(Default)]
struct Scripted {
    answers: RefCell<VecDeque<Result<HttpResponse, TransportError>>>,
    seen: RefCell<Vec<String>>,
}

impl Scripted {
    fn answering(answers: Vec<Result<(u16, Option<&str>), &str>>) -> Scripted {
        let answers = answers
            .into_iter()
            .map(|a| match a {
                Ok((status, retry_after)) => Ok(HttpResponse {
                    status,
                    headers: retry_after.map(|v| vec![("Retry-After".to_owned(), v.to_owned())]).unwrap_or_default(),
                    body: br#"{"error":{"code":500,"status":"INTERNAL","message":"tok-secret-echo"}}"#.to_vec(),
                }),
                Err(detail) => Err(TransportError(detail.to_owned())),
            })
            .collect();
        Scripted { answers: RefCell::new(answers), seen: RefCell::default() }
    }
}

#[async_trait(?Send)]
impl HttpClient for Scripted {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        self.seen.borrow_mut().push(format!("{request:?}"));
        self.answers.borrow_mut().pop_front().expect("the script ran out of answers")
    }
}

struct World {
    platform: Platform,
    config: Config,
    clock: Rc<VirtualClock>,
    http: Rc<Scripted>,
    traces: Rc<SqliteTraceStore>,
    _dir: tempfile::TempDir,
}

fn world(http: Scripted) -> World {
    let dir = tempfile::tempdir().unwrap();
    let migrations = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations");
    let traces = Rc::new(SqliteTraceStore::open(&dir.path().join("t.sqlite3"), &migrations).unwrap());
    let clock = Rc::new(VirtualClock::starting_at(1_795_942_800_000));
    let http = Rc::new(http);
    let platform = Platform {
        http: http.clone(),
        traces: traces.clone(),
        artifacts: Rc::new(MemoryArtifacts::default()),
        secrets: Rc::new(MapSecrets::new([(Binding::AsanaAgentPat, SecretString::from("pat-canary-value-0001".to_owned()))])),
        queue: Rc::new(MemoryQueue::default()),
        clock: clock.clone(),
        sleeper: clock.clone(),
        random: Rc::new(SeededRandom::new(7)),
        log: Rc::new(CapturedLog::default()),
    };
    let config = Config::from_vars(|name| {
        Some(match name {
            "AGENT_USER_GID" => "1".to_owned(),
            "ALLOWED_PROJECT_GIDS" => "2".to_owned(),
            _ => "http://provider.test".to_owned(),
        })
    })
    .unwrap();
    World { platform, config, clock, http, traces, _dir: dir }
}

fn send(world: &World) -> (Result<HttpResponse, StepError>, u32) {
    let ctx = RunContext::new(&world.platform, &world.config, SecretScope::default());
    let step = ctx.begin_step("probe", Some("probe"));
    let result = futures_executor::block_on(retry::send(&ctx, &step, "probe", &|| {
        HttpRequest::new(Method::Get, "http://provider.test/v1/thing?key=do-not-trace")
    }));
    (result, step.attempt() - 1)
}

#[test]
fn retry_after_is_honoured_in_virtual_time() {
    let world = world(Scripted::answering(vec![Ok((429, Some("3"))), Ok((429, Some("1"))), Ok((200, None))]));
    let (result, attempts) = send(&world);
    assert_eq!(result.unwrap().status, 200);
    assert_eq!(attempts, 3);
    assert_eq!(world.clock.sleeps(), [Duration::from_secs(3), Duration::from_secs(1)]);
}

#[test]
fn retry_after_beyond_the_limit_fails_at_once() {
    let world = world(Scripted::answering(vec![Ok((429, Some("31")))]));
    let (result, attempts) = send(&world);
    assert!(matches!(result, Err(StepError::RetryAfterTooLong { retry_after_s: 31, .. })));
    assert_eq!(attempts, 1);
    assert!(world.clock.sleeps().is_empty());
}

#[test]
fn server_errors_back_off_with_jitter_and_stop_at_four_attempts() {
    let world = world(Scripted::answering(vec![Ok((500, None)), Err("connection failed"), Ok((503, None)), Ok((502, None))]));
    let (result, attempts) = send(&world);
    let error = result.err().expect("four failures fail the call");
    assert_eq!(attempts, 4);
    assert_eq!(error.to_string(), "probe /v1/thing answered HTTP 502 (INTERNAL) after 4 attempt(s)");
    let sleeps = world.clock.sleeps();
    assert_eq!(sleeps.len(), 3);
    // Full jitter within each attempt's ceiling (500 ms, 1 s, 2 s), never below half of it.
    for (sleep, ceiling) in sleeps.iter().zip([500u64, 1000, 2000]) {
        let ms = sleep.as_millis() as u64;
        assert!(ms >= ceiling / 2 && ms <= ceiling, "{ms} ms outside [{}, {ceiling}]", ceiling / 2);
    }
    // The query string never reaches the trace or logs; the request's Debug drops it too.
    assert!(world.http.seen.borrow().iter().all(|r| r == "GET /v1/thing"));
}

#[test]
fn client_errors_are_not_retried() {
    let world = world(Scripted::answering(vec![Ok((403, None))]));
    let (result, attempts) = send(&world);
    assert!(matches!(result, Err(StepError::Http { status: 403, attempts: 1, .. })));
    assert_eq!(attempts, 1);
}

fn count(traces: &SqliteTraceStore, sql: &'static str) -> i64 {
    let rows = futures_executor::block_on(traces.query(Statement { sql, params: vec![] })).unwrap();
    match rows[0].values().next() {
        Some(SqlValue::Integer(n)) => *n,
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn a_failing_batch_leaves_nothing_half_written() {
    let world = world(Scripted::default());
    let run = |id: &'static str| {
        trace::insert_run(&NewRun {
            id,
            kind: RunKind::Task,
            delivery_id: Some("d"),
            task_gid: Some("42"),
            status: RunStatus::Checking,
            reason: None,
            at: "2026-11-30T09:00:00.000Z",
            finished: false,
        })
    };
    futures_executor::block_on(world.traces.batch(vec![run("a"), trace::claim_run("a", "ga4-traffic-report")])).unwrap();
    // A second claim on the same task and skill conflicts, and its run row is rolled back with it.
    let second = futures_executor::block_on(world.traces.batch(vec![run("b"), trace::claim_run("b", "ga4-traffic-report")]));
    assert!(matches!(second, Err(StoreError::Conflict)));
    assert_eq!(count(&world.traces, "SELECT COUNT(*) FROM runs"), 1);
    // A failed run releases the claim, so a later delivery may retry.
    let failed = trace::finish_run("a", RunStatus::Failed, None, "2026-11-30T09:01:00.000Z");
    futures_executor::block_on(world.traces.batch(vec![failed])).unwrap();
    futures_executor::block_on(world.traces.batch(vec![run("c"), trace::claim_run("c", "ga4-traffic-report")])).unwrap();
    assert_eq!(count(&world.traces, "SELECT COUNT(*) FROM runs WHERE status = 'running'"), 1);
}

#[test]
fn migrations_are_booked_like_wrangler_and_applied_once() {
    let dir = tempfile::tempdir().unwrap();
    let migrations = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations");
    let mut connection = rusqlite::Connection::open(dir.path().join("m.sqlite3")).unwrap();
    let first = agency_native::apply_migrations(&mut connection, &migrations).unwrap();
    assert_eq!(first, ["0000_init.sql"]);
    assert!(agency_native::apply_migrations(&mut connection, &migrations).unwrap().is_empty());
    let booked: String = connection.query_row("SELECT name FROM d1_migrations", [], |r| r.get(0)).unwrap();
    assert_eq!(booked, "0000_init.sql");
}

#[test]
fn reads_outside_the_scope_are_denied_and_recorded() {
    let world = world(Scripted::default());
    let ctx = RunContext::new(&world.platform, &world.config, SecretScope::of([Binding::AsanaAgentPat]));
    let step = ctx.begin_step("eligibility", Some("asana"));
    let granted = futures_executor::block_on(ctx.read_secret(&step, Binding::AsanaAgentPat));
    assert!(granted.is_ok());
    let denied = futures_executor::block_on(ctx.read_secret(&step, Binding::GoogleClientSecret));
    assert!(matches!(denied, Err(StepError::PolicyViolation(Binding::GoogleClientSecret))));
    let new_run = trace::insert_run(&NewRun {
        id: &ctx.run_id,
        kind: RunKind::Task,
        delivery_id: None,
        task_gid: Some("1"),
        status: RunStatus::Checking,
        reason: None,
        at: "2026-11-30T09:00:00.000Z",
        finished: false,
    });
    futures_executor::block_on(ctx.commit_first_step(&step, &Ok(None), new_run, vec![])).unwrap();
    assert_eq!(count(&world.traces, "SELECT COUNT(*) FROM secret_reads WHERE decision = 'granted'"), 1);
    assert_eq!(
        count(&world.traces, "SELECT COUNT(*) FROM secret_reads WHERE decision = 'denied' AND binding = 'AGENCY_OS_GOOGLE_CLIENT_SECRET'"),
        1
    );
}
