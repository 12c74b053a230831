//! Requests per second of a typical JSON endpoint (fake Asana's
//! `GET /tasks/{gid}`, a ~1 KB body, Bearer PAT checked, journaled) over
//! loopback with keep-alive, against a bare hyper server answering the same
//! bytes, measured in the same run. Both servers run on one current-thread
//! runtime of their own (as wiremock does); the client is one reqwest client
//! (one pooled connection), requests sent one after another.
//!
//! A third figure, for information: the same fake behind the wire-fault
//! proxy (which a fake gets only when one of its faults cuts on the wire).
//!
//! `cargo bench -p agency-fakes --bench throughput`

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use agency_fakes::{Fakes, FakesConfig, FakesError, FaultSpec, TaskFixture};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response};

const TASK_GID: &str = "1205000000000042";
const PAT: &str = "canary-bench-pat-7f3a9c2e5b1d4f8a";

fn task() -> TaskFixture {
    TaskFixture {
        gid: TASK_GID.into(),
        name: "Monthly GA4 traffic report".into(),
        assignee_gid: Some("1201000000000077".into()),
        completed: false,
        project_gids: vec!["1204000000000007".into()],
        tags: vec!["skill:ga4-report".into()],
        custom_fields: BTreeMap::from([
            ("Client".into(), "Acme".into()),
            ("GA4 property".into(), "properties/1".into()),
        ]),
    }
}

/// Starts the fakes with a canary for every binding they ask for.
async fn start_fakes(faults: Vec<FaultSpec>) -> Fakes {
    let mut credentials =
        BTreeMap::from([("AGENCY_OS_ASANA_AGENT_PAT".to_owned(), PAT.to_owned())]);
    loop {
        let mut config = FakesConfig::new(credentials.clone()).task(task());
        for fault in &faults {
            config = config.fault(fault.clone());
        }
        match Fakes::start(config).await {
            Ok(fakes) => return fakes,
            Err(FakesError::MissingCredential(binding)) => {
                credentials.insert(
                    binding.to_owned(),
                    format!("canary-bench-{}", binding.to_ascii_lowercase()),
                );
            }
            Err(error) => panic!("the fakes start: {error}"),
        }
    }
}

/// A bare hyper HTTP/1.1 server answering `body` as JSON to every request.
fn start_bare_hyper(body: &'static [u8]) -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                let _ = stream.set_nodelay(true);
                tokio::spawn(async move {
                    let service =
                        hyper::service::service_fn(move |_request: Request<Incoming>| async move {
                            Ok::<_, Infallible>(
                                Response::builder()
                                    .header("content-type", "application/json")
                                    .body(Full::new(body))
                                    .unwrap(),
                            )
                        });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
    });
    address
}

async fn get(client: &reqwest::Client, url: &str) -> usize {
    let response = client
        .get(url)
        .bearer_auth(PAT)
        .send()
        .await
        .expect("answered");
    assert!(response.status() == 200 || url.ends_with("/no-such-route"));
    response.bytes().await.expect("a body").len()
}

/// Requests per second over `count` sequential requests.
fn rate(runtime: &tokio::runtime::Runtime, client: &reqwest::Client, url: &str, count: u32) -> f64 {
    let started = Instant::now();
    runtime.block_on(async {
        for _ in 0..count {
            get(client, url).await;
        }
    });
    f64::from(count) / started.elapsed().as_secs_f64()
}

fn throughput(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = reqwest::Client::builder()
        .tcp_nodelay(true)
        .build()
        .unwrap();
    let fakes = runtime.block_on(start_fakes(Vec::new()));
    let fake_url = format!("{}/tasks/{TASK_GID}", fakes.base_urls().asana);
    let body: &'static [u8] = runtime.block_on(async {
        let response = client.get(&fake_url).bearer_auth(PAT).send().await.unwrap();
        Box::leak(response.bytes().await.unwrap().to_vec().into_boxed_slice())
    });
    let bare_url = format!("http://{}/api/1.0/tasks/{TASK_GID}", start_bare_hyper(body));
    let wire_fault: FaultSpec = serde_json::from_value(serde_json::json!({
        "fake": "asana", "endpoint": "create_story", "statuses": [503], "short_body": true,
    }))
    .unwrap();
    let proxied = runtime.block_on(start_fakes(vec![wire_fault]));
    let proxied_url = format!("{}/tasks/{TASK_GID}", proxied.base_urls().asana);

    let mut group = c.benchmark_group("json_endpoint");
    group.throughput(Throughput::Elements(1));
    for (name, url) in [
        ("fake_asana_get_task", &fake_url),
        ("bare_hyper_same_body", &bare_url),
        ("fake_behind_wire_proxy", &proxied_url),
    ] {
        group.bench_function(name, |bencher| {
            bencher.iter(|| runtime.block_on(get(&client, url)))
        });
    }
    group.finish();

    // Plain figures in one place, interleaved so drift hits both alike.
    // The fake's cheapest path (wiremock, the journal, a tiny error body), to split the cost.
    let unrouted_url = format!("{}/no-such-route", fakes.base_urls().asana);
    let (mut fake, mut bare, mut proxy, mut unrouted) = (0.0, 0.0, 0.0, 0.0);
    const ROUNDS: u32 = 3;
    for _ in 0..ROUNDS {
        fake += rate(&runtime, &client, &fake_url, 2_000);
        bare += rate(&runtime, &client, &bare_url, 2_000);
        proxy += rate(&runtime, &client, &proxied_url, 2_000);
        unrouted += rate(&runtime, &client, &unrouted_url, 2_000);
    }
    let rounds = f64::from(ROUNDS);
    let (fake, bare, proxy, unrouted) = (
        fake / rounds,
        bare / rounds,
        proxy / rounds,
        unrouted / rounds,
    );
    println!(
        "\nthroughput (sequential, keep-alive, {} B body): fake {fake:.0} req/s, bare hyper {bare:.0} req/s, ratio {:.2} (target >= 0.50); behind wire proxy {proxy:.0} req/s; fake's unrouted 404 {unrouted:.0} req/s",
        body.len(),
        fake / bare
    );
    drop((fakes, proxied));
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = throughput
}
criterion_main!(benches);
