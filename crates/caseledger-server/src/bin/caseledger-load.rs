//! `caseledger-load`: a load generator for the HTTP API (see ops/load/README.md).
//!
//! Setup files `cases` complaints (12345), dispatches them to a township (housing) and has
//! the township accept them. Then `connections` keep-alive connections, each on its own
//! cases, record acts (`RecordInspection`) for `seconds`, and then read cases
//! (`GET /api/v1/cases/{id}`) for `seconds`. It prints throughput and latency percentiles
//! as text and as one JSON line.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use caseledger_server::client::HttpClient;
use clap::Parser;

/// 负载测试 / Load generator for the caseledger HTTP API.
#[derive(Parser, Debug)]
#[command(name = "caseledger-load")]
struct Args {
    /// Server address.
    #[arg(long, default_value = "127.0.0.1:8080")]
    address: SocketAddr,
    /// Token of the 12345 intake (files complaints).
    #[arg(long)]
    intake_token: String,
    /// Token of the housing department (dispatches).
    #[arg(long)]
    housing_token: String,
    /// Token of township/dongping (accepts and records acts).
    #[arg(long)]
    township_token: String,
    /// Concurrent connections.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Cases per connection.
    #[arg(long, default_value_t = 8)]
    cases_per_connection: usize,
    /// Seconds of each phase.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
}

/// Latencies of one phase, in microseconds.
#[derive(Default)]
struct Samples {
    latencies_us: Vec<u64>,
    errors: u64,
}

impl Samples {
    fn percentile(sorted: &[u64], fraction: f64) -> f64 {
        if sorted.is_empty() {
            return 0.0;
        }
        let index = ((sorted.len() as f64 * fraction).ceil() as usize).clamp(1, sorted.len()) - 1;
        sorted[index] as f64 / 1000.0
    }

    fn report(mut self, name: &str, elapsed: Duration) -> serde_json::Value {
        self.latencies_us.sort_unstable();
        let count = self.latencies_us.len();
        let rate = count as f64 / elapsed.as_secs_f64();
        let p50 = Samples::percentile(&self.latencies_us, 0.50);
        let p99 = Samples::percentile(&self.latencies_us, 0.99);
        let max = self.latencies_us.last().copied().unwrap_or(0) as f64 / 1000.0;
        println!(
            "{name:>6}: {count} ok, {} errors in {:.1} s = {rate:.0}/s; latency ms p50 {p50:.2} p99 {p99:.2} max {max:.2}",
            self.errors,
            elapsed.as_secs_f64()
        );
        serde_json::json!({
            "phase": name, "ok": count, "errors": self.errors, "seconds": elapsed.as_secs_f64(),
            "per_second": rate, "p50_ms": p50, "p99_ms": p99, "max_ms": max,
        })
    }
}

async fn post(
    client: &mut HttpClient,
    path: &str,
    token: &str,
    body: &serde_json::Value,
) -> anyhow::Result<serde_json::Value> {
    let bearer = format!("Bearer {token}");
    let bytes = serde_json::to_vec(body)?;
    let response = client
        .request(
            "POST",
            path,
            &[
                ("authorization", &bearer),
                ("content-type", "application/json"),
            ],
            Some(&bytes),
        )
        .await?;
    if response.status != 201 && response.status != 200 {
        bail!("POST {path}: {} {}", response.status, response.text());
    }
    Ok(response.json()?)
}

/// Files, dispatches and accepts the cases of one connection.
async fn setup(args: Arc<Args>, connection: usize) -> anyhow::Result<Vec<String>> {
    let mut client = HttpClient::connect(args.address).await?;
    let mut cases = Vec::new();
    for index in 0..args.cases_per_connection {
        let filed = post(
            &mut client,
            "/api/v1/cases",
            &args.intake_token,
            &serde_json::json!({
                "channel": "hotline12345",
                "compound": "compound/dongping/lanting-11",
                "category": "service-quality",
                "severity": "general",
                "summary": format!("负载测试 {connection}-{index}"),
                "complainant": {"name": "测试", "phone": "17000000000"},
            }),
        )
        .await?;
        let case_id = filed["case_id"].as_str().context("case_id")?.to_owned();
        let acts = format!("/api/v1/cases/{case_id}/acts");
        post(
            &mut client,
            &acts,
            &args.housing_token,
            &serde_json::json!({"act": "DispatchCase", "to": "township/dongping"}),
        )
        .await?;
        post(
            &mut client,
            &acts,
            &args.township_token,
            &serde_json::json!({"act": "AcceptCase"}),
        )
        .await?;
        cases.push(case_id);
    }
    Ok(cases)
}

async fn act_phase(args: Arc<Args>, cases: Vec<String>, until: Instant) -> anyhow::Result<Samples> {
    let mut client = HttpClient::connect(args.address).await?;
    let bearer = format!("Bearer {}", args.township_token);
    let mut samples = Samples::default();
    let mut round = 0usize;
    while Instant::now() < until {
        let case_id = &cases[round % cases.len()];
        let path = format!("/api/v1/cases/{case_id}/acts");
        let body = serde_json::to_vec(&serde_json::json!({
            "act": "RecordInspection",
            "findings": format!("巡查记录 {round}"),
            "substantiated": false,
        }))?;
        let started = Instant::now();
        let response = client
            .request(
                "POST",
                &path,
                &[
                    ("authorization", &bearer),
                    ("content-type", "application/json"),
                ],
                Some(&body),
            )
            .await?;
        if response.status == 201 {
            samples
                .latencies_us
                .push(started.elapsed().as_micros() as u64);
        } else {
            samples.errors += 1;
        }
        round += 1;
    }
    Ok(samples)
}

async fn read_phase(
    args: Arc<Args>,
    cases: Vec<String>,
    until: Instant,
) -> anyhow::Result<Samples> {
    let mut client = HttpClient::connect(args.address).await?;
    let bearer = format!("Bearer {}", args.township_token);
    let mut samples = Samples::default();
    let mut round = 0usize;
    while Instant::now() < until {
        let path = format!("/api/v1/cases/{}", cases[round % cases.len()]);
        let started = Instant::now();
        let response = client
            .request("GET", &path, &[("authorization", &bearer)], None)
            .await?;
        if response.status == 200 {
            samples
                .latencies_us
                .push(started.elapsed().as_micros() as u64);
        } else {
            samples.errors += 1;
        }
        round += 1;
    }
    Ok(samples)
}

async fn phase<F, Fut>(
    args: &Arc<Args>,
    cases: &[Vec<String>],
    run: F,
) -> anyhow::Result<(Samples, Duration)>
where
    F: Fn(Arc<Args>, Vec<String>, Instant) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<Samples>> + Send + 'static,
{
    let started = Instant::now();
    let until = started + Duration::from_secs(args.seconds);
    let tasks: Vec<_> = cases
        .iter()
        .map(|cases| tokio::spawn(run(args.clone(), cases.clone(), until)))
        .collect();
    let mut all = Samples::default();
    for task in tasks {
        let samples = task.await??;
        all.latencies_us.extend(samples.latencies_us);
        all.errors += samples.errors;
    }
    Ok((all, started.elapsed()))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Arc::new(Args::parse());
    println!(
        "setup: {} connections x {} cases (file, dispatch, accept)",
        args.connections, args.cases_per_connection
    );
    let setups: Vec<_> = (0..args.connections)
        .map(|connection| tokio::spawn(setup(args.clone(), connection)))
        .collect();
    let mut cases = Vec::new();
    for task in setups {
        cases.push(task.await??);
    }
    let (acts, acts_elapsed) = phase(&args, &cases, act_phase).await?;
    let acts = acts.report("acts", acts_elapsed);
    let (reads, reads_elapsed) = phase(&args, &cases, read_phase).await?;
    let reads = reads.report("reads", reads_elapsed);
    println!(
        "{}",
        serde_json::json!({"connections": args.connections, "acts": acts, "reads": reads})
    );
    Ok(())
}
