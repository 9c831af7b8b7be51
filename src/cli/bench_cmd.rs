//! `ferlab bench`: training and evaluation images/s of both backbones, ferlab's kernels
//! against candle's own operations and against PyTorch, run interleaved in one invocation,
//! with an optional per-operation profile. Prints ratio tables and writes a JSON result.

use ferlab::compute::method::REGISTRY;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, anyhow};
use clap::Args;
use serde_json::{Value, json};

use ferlab::compute::bench::{self, BenchModel, Budget, ModelBench, Pass, median};
use ferlab::compute::train::device::open_device;
use ferlab::contract::config::Kernels;
use ferlab::contract::config::device::parse_device;

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Compute threads for ferlab and PyTorch.
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
    /// Batch sizes.
    #[arg(long, value_delimiter = ',', default_value = "32,64")]
    pub batches: Vec<usize>,
    /// Models: small_cnn, resnet18, face_resnet.
    #[arg(long, value_delimiter = ',', default_value = "small_cnn,resnet18")]
    pub models: Vec<String>,
    /// Interleaved rounds (each implementation measured once per round and case).
    #[arg(long, default_value_t = 2)]
    pub rounds: usize,
    /// Timed iterations per measurement (at most).
    #[arg(long, default_value_t = 5)]
    pub iters: usize,
    /// Seconds per measurement after which it stops early (at least 2 iterations).
    #[arg(long, default_value_t = 6.0)]
    pub max_secs: f64,
    /// Skip candle's own operations (the "before" column; slow).
    #[arg(long)]
    pub no_candle: bool,
    /// Skip the PyTorch reference.
    #[arg(long)]
    pub no_torch: bool,
    /// Also time single operations (convolutions of both models, BN, pooling, AdamW).
    #[arg(long)]
    pub ops: bool,
    /// `cpu` or `cuda:N`.
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// Python interpreter with PyTorch.
    #[arg(long, default_value = "python3")]
    pub python: String,
    /// The PyTorch reference script.
    #[arg(long, default_value = "bench/torch_reference.py")]
    pub torch_script: PathBuf,
    /// Instead of the model benchmark: time the workbench's frames idle and while this
    /// preset trains beside them (against the 16.7 ms budget of 60 frames per second).
    #[arg(long, value_name = "PRESET", num_args = 0..=1, default_missing_value = "presets/quick.toml")]
    pub ui: Option<PathBuf>,
    /// Instead of the model benchmark: time t-SNE (N x D features, perplexity 30, 1,000
    /// iterations) and classical MDS (the first --mds-n of them) against scikit-learn on the
    /// same features and threads.
    #[arg(long)]
    pub embed: bool,
    /// Points and dimensions of the embedding benchmark's features.
    #[arg(long, default_value_t = 3000)]
    pub embed_n: usize,
    #[arg(long, default_value_t = 512)]
    pub embed_d: usize,
    #[arg(long, default_value_t = 2000)]
    pub mds_n: usize,
    /// scikit-learn's side of the embedding benchmark.
    #[arg(long, default_value = "bench/embed_reference.py")]
    pub embed_script: PathBuf,
    /// Instead of the model benchmark: write this many synthetic runs (30 epochs each) to a
    /// temporary folder and time the runs browser over them: reading the folder, a refresh
    /// from the cache, and the Runs pane's frames still, scrolling and grouped.
    #[arg(long, value_name = "RUNS")]
    pub runs_folder: Option<usize>,
    /// Keep the runs folder's synthetic runs (to open them in the workbench).
    #[arg(long, requires = "runs_folder")]
    pub keep: bool,
    /// Seconds of training the UI benchmark watches.
    #[arg(long, default_value_t = 30.0)]
    pub ui_secs: f64,
    /// Where to write the JSON result (default bench-results/bench-<time>.json).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// The PyTorch reference, running as a child process that answers one request per line.
struct Torch {
    child: Child,
    input: ChildStdin,
    output: BufReader<ChildStdout>,
    version: String,
    /// The instruction set PyTorch's kernels run (`torch.backends.cpu.get_cpu_capability`).
    isa: String,
}

impl Torch {
    fn start(args: &BenchArgs) -> Result<Self> {
        if !args.torch_script.is_file() {
            return Err(anyhow!(
                "{} not found (run from the repository root)",
                args.torch_script.display()
            ));
        }
        let mut child = Command::new(&args.python)
            .arg(&args.torch_script)
            .args([
                "--threads",
                &args.threads.to_string(),
                "--device",
                &args.device,
            ])
            .env("OMP_NUM_THREADS", args.threads.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot run {}", args.python))?;
        let input = child.stdin.take().expect("piped stdin");
        let mut output = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut first = String::new();
        output.read_line(&mut first)?;
        let ready: Value = match serde_json::from_str(&first) {
            Ok(v) => v,
            Err(_) => {
                let mut err = String::new();
                if let Some(mut e) = child.stderr.take() {
                    use std::io::Read;
                    let _ = e.read_to_string(&mut err);
                }
                let last = err.lines().last().unwrap_or("no output").to_string();
                let _ = child.kill();
                return Err(anyhow!(
                    "PyTorch is not usable with {}: {last}",
                    args.python
                ));
            }
        };
        Ok(Self {
            child,
            input,
            output,
            version: ready["torch"].as_str().unwrap_or("?").to_string(),
            isa: ready["isa"].as_str().unwrap_or("unknown").to_string(),
        })
    }

    fn ask(&mut self, request: Value) -> Result<Value> {
        writeln!(self.input, "{request}")?;
        self.input.flush()?;
        let mut line = String::new();
        self.output.read_line(&mut line)?;
        let reply: Value =
            serde_json::from_str(&line).context("PyTorch reference stopped answering")?;
        if let Some(e) = reply.get("error") {
            return Err(anyhow!("PyTorch reference: {e}"));
        }
        Ok(reply)
    }
}

impl Drop for Torch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn times(v: &Value, key: &str) -> Vec<f64> {
    v[key]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_f64).collect())
        .unwrap_or_default()
}

#[derive(Default, Clone)]
struct Row {
    model: &'static str,
    pass: &'static str,
    batch: usize,
    candle: Vec<f64>,
    ferlab: Vec<f64>,
    torch: Vec<f64>,
}

fn ips(batch: usize, t: &[f64]) -> Option<f64> {
    (!t.is_empty()).then(|| batch as f64 / median(t))
}

fn fmt(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.1}")).unwrap_or_else(|| "-".into())
}

fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) => format!("{:.2}", a / b),
        _ => "-".into(),
    }
}

/// The instruction set ferlab's kernels run: gemm dispatches to its AVX-512 kernels where
/// the CPU has them (it is built with `x86-v4`), the element-wise kernels through
/// `pulp::Arch::dispatch` to its AVX-512 level (x86-64-v4) where the CPU has it, else both
/// to AVX2 + FMA.
fn ferlab_isa() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    {
        let gemm_v4 = std::arch::is_x86_feature_detected!("avx512f");
        let pulp_v4 = pulp::x86::V4::try_new().is_some();
        match (gemm_v4, pulp_v4) {
            (true, true) => return "AVX-512 (gemm and element-wise)",
            (true, false) => return "gemm AVX-512, element-wise AVX2 + FMA",
            _ if ferlab::compute::ops::simd::has_avx2_fma() => return "AVX2 + FMA",
            _ => {}
        }
    }
    "baseline"
}

/// This process's peak resident memory so far, in KiB (Linux; None elsewhere).
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn cpu_name() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}

pub fn run(args: BenchArgs) -> Result<()> {
    if let Some(preset) = &args.ui {
        return ui_bench(preset, args.ui_secs);
    }
    if let Some(count) = args.runs_folder {
        return runs_folder_bench(count, args.keep);
    }
    if args.embed {
        return embed_bench(&args);
    }
    let device = open_device(parse_device(&args.device)?)?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads)
        .build()?;
    let mut torch = if args.no_torch {
        None
    } else {
        match Torch::start(&args) {
            Ok(t) => Some(t),
            Err(e) => {
                eprintln!("PyTorch reference skipped: {e:#}");
                None
            }
        }
    };
    let models: Vec<BenchModel> = args
        .models
        .iter()
        .map(|m| BenchModel::parse(m).map_err(|e| anyhow!(e)))
        .collect::<Result<_>>()?;
    let budget = Budget {
        warmup: 2,
        iters: args.iters,
        max_secs: args.max_secs,
    };
    let slow = Budget {
        warmup: 1,
        iters: args.iters,
        max_secs: args.max_secs,
    };
    let mut cases = Vec::new();
    for &m in &models {
        for pass in [Pass::Train, Pass::Eval] {
            for &b in &args.batches {
                cases.push(Row {
                    model: m.key(),
                    pass: pass.key(),
                    batch: b,
                    ..Row::default()
                });
            }
        }
    }
    let mut runner = ModelBench::new(device.clone());
    eprintln!(
        "ferlab bench: {} threads on {}; {} rounds of {} cases",
        args.threads,
        cpu_name(),
        args.rounds,
        cases.len()
    );
    for round in 0..args.rounds {
        for row in cases.iter_mut() {
            let m = BenchModel::parse(row.model).map_err(|e| anyhow!(e))?;
            let pass = if row.pass == "train" {
                Pass::Train
            } else {
                Pass::Eval
            };
            eprint!(
                "round {} {} {} batch {}:",
                round + 1,
                row.model,
                row.pass,
                row.batch
            );
            let t = pool.install(|| runner.time(m, pass, row.batch, Kernels::Auto, budget))?;
            eprint!(" ferlab {:.1} img/s", row.batch as f64 / median(&t));
            row.ferlab.extend(t);
            if !args.no_candle {
                let t = pool.install(|| runner.time(m, pass, row.batch, Kernels::Candle, slow))?;
                eprint!(", candle {:.1}", row.batch as f64 / median(&t));
                row.candle.extend(t);
            }
            if let Some(tp) = torch.as_mut() {
                let (c, s) = m.input();
                let reply = tp.ask(json!({
                    "kind": "model", "model": row.model, "mode": row.pass, "batch": row.batch,
                    "size": s, "channels": c, "warmup": budget.warmup, "iters": budget.iters,
                    "max_secs": budget.max_secs,
                }))?;
                let t = times(&reply, "times");
                eprint!(", PyTorch {:.1}", row.batch as f64 / median(&t));
                row.torch.extend(t);
            }
            eprintln!();
        }
    }
    let ops = if args.ops {
        Some(profile_ops(&args, &pool, &device, torch.as_mut())?)
    } else {
        None
    };
    let peak = if args.ops {
        pool.install(bench::peak::fma_peak)
    } else {
        None
    };
    print_rows(&cases, &args, torch.as_ref().map(|t| t.version.as_str()));
    // Peak memory of each process over the whole command: run one model and batch size per
    // command to read a step's.
    let ferlab_rss = peak_rss_kib();
    let torch_rss = match torch.as_mut() {
        Some(t) => t.ask(json!({"kind": "memory"}))?["peak_rss_kib"].as_u64(),
        None => None,
    };
    let mib = |k: Option<u64>| k.map_or("-".into(), |k| format!("{:.0} MiB", k as f64 / 1024.0));
    println!(
        "\ninstruction sets: ferlab {}; PyTorch {}",
        ferlab_isa(),
        torch.as_ref().map_or("not run", |t| t.isa.as_str())
    );
    println!(
        "peak resident memory of the whole command: ferlab {}, PyTorch {}",
        mib(ferlab_rss),
        mib(torch_rss)
    );
    if let Some(ops) = &ops {
        print_ops(ops, peak, args.threads);
    }
    let result = json!({
        "machine": {"cpu": cpu_name(), "threads": args.threads, "device": args.device},
        "torch": torch.as_ref().map(|t| t.version.clone()),
        "ferlab_isa": ferlab_isa(),
        "torch_isa": torch.as_ref().map(|t| t.isa.clone()),
        "ferlab_peak_rss_kib": ferlab_rss,
        "torch_peak_rss_kib": torch_rss,
        "fma_peak_gflops": peak.map(|(g, _)| g),
        "fma_peak_isa": peak.map(|(_, isa)| isa),
        "rows": cases.iter().map(|r| json!({
            "model": r.model, "pass": r.pass, "batch": r.batch,
            "candle_images_per_sec": ips(r.batch, &r.candle),
            "ferlab_images_per_sec": ips(r.batch, &r.ferlab),
            "torch_images_per_sec": ips(r.batch, &r.torch),
            "ferlab_times": r.ferlab, "candle_times": r.candle, "torch_times": r.torch,
        })).collect::<Vec<_>>(),
        "ops": ops.map(|o| o.into_iter().map(|op| json!({
            "name": op.name, "gflop": op.gflop,
            "candle_ms": op.candle.map(|t| t * 1e3), "ferlab_ms": op.ferlab.map(|t| t * 1e3), "torch_ms": op.torch.map(|t| t * 1e3),
        })).collect::<Vec<_>>()),
    });
    let out = args.out.clone().unwrap_or_else(|| {
        PathBuf::from("bench-results").join(format!(
            "bench-{}.json",
            ferlab::contract::run::dir::utc_stamp(std::time::SystemTime::now())
        ))
    });
    if let Some(parent) = out.parent() {
        std::fs::create_dir_all(parent)?;
    }
    ferlab::contract::run::atomic::write(&out, serde_json::to_string_pretty(&result)?.as_bytes())?;
    println!("\nwrote {}", out.display());
    Ok(())
}

fn print_rows(rows: &[Row], args: &BenchArgs, torch: Option<&str>) {
    println!(
        "\n{} threads, {}; PyTorch {}; medians of timed iterations after warm-up\n",
        args.threads,
        cpu_name(),
        torch.unwrap_or("not run")
    );
    println!(
        "| model | pass | batch | candle img/s | ferlab img/s | PyTorch img/s | ferlab / PyTorch | ferlab / candle |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for r in rows {
        let (c, f, t) = (
            ips(r.batch, &r.candle),
            ips(r.batch, &r.ferlab),
            ips(r.batch, &r.torch),
        );
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            r.model,
            r.pass,
            r.batch,
            fmt(c),
            fmt(f),
            fmt(t),
            ratio(f, t),
            ratio(f, c)
        );
    }
}

struct OpRow {
    name: String,
    gflop: Option<f64>,
    candle: Option<f64>,
    ferlab: Option<f64>,
    torch: Option<f64>,
}

fn profile_ops(
    args: &BenchArgs,
    pool: &rayon::ThreadPool,
    device: &candle_core::Device,
    mut torch: Option<&mut Torch>,
) -> Result<Vec<OpRow>> {
    let budget = Budget {
        warmup: 1,
        iters: args.iters,
        max_secs: 3.0,
    };
    let mut rows = Vec::new();
    for shape in bench::profile_shapes() {
        eprintln!("profiling {}", shape.name);
        let ours = pool.install(|| bench::time_conv(shape, Kernels::Auto, budget, device))?;
        let (ff, fb, fw) = (ours.forward, ours.backward, ours.weight_grad);
        let (cf, cb) = if args.no_candle {
            (vec![], vec![])
        } else {
            let c = pool.install(|| bench::time_conv(shape, Kernels::Candle, budget, device))?;
            (c.forward, c.backward)
        };
        let (tf, tb, tw) = match torch.as_deref_mut() {
            Some(t) => {
                let r = t.ask(json!({
                    "kind": "conv", "n": shape.n, "c": shape.c, "h": shape.h, "w": shape.w,
                    "oc": shape.oc, "k": shape.k, "stride": shape.stride, "pad": shape.pad,
                    "warmup": budget.warmup, "iters": budget.iters,
                }))?;
                (
                    times(&r, "times_fwd"),
                    times(&r, "times_bwd"),
                    times(&r, "times_bwd_w"),
                )
            }
            None => (vec![], vec![], vec![]),
        };
        let m = |v: &[f64]| (!v.is_empty()).then(|| median(v));
        let gflop = shape.flops() / 1e9;
        rows.push(OpRow {
            name: format!("{} conv forward", shape.name),
            gflop: Some(gflop),
            candle: m(&cf),
            ferlab: m(&ff),
            torch: m(&tf),
        });
        rows.push(OpRow {
            name: format!("{} conv backward (dx + dw)", shape.name),
            gflop: Some(2.0 * gflop),
            candle: m(&cb),
            ferlab: m(&fb),
            torch: m(&tb),
        });
        // Each gradient is one product of the forward's size: dw timed alone, dx the rest
        // (not shown where dw alone took as long as both). PyTorch's dw is autograd with
        // respect to the weights less the forward: noisy, see bench/RESULTS.md.
        let (fw, tw) = (fw.as_deref().and_then(m), m(&tw));
        let rest = |both: Option<f64>, w: Option<f64>| {
            let dx = both? - w?;
            (dx > 0.0).then_some(dx)
        };
        rows.push(OpRow {
            name: format!("{} conv weight gradient (dw)", shape.name),
            gflop: Some(gflop),
            candle: None,
            ferlab: fw,
            torch: tw,
        });
        rows.push(OpRow {
            name: format!("{} conv input gradient (dx = backward - dw)", shape.name),
            gflop: Some(gflop),
            candle: None,
            ferlab: rest(m(&fb), fw),
            torch: rest(m(&tb), tw),
        });
    }
    let both = |f: &(dyn Fn(Kernels) -> candle_core::Result<Vec<f64>> + Sync)| -> Result<(Option<f64>, Option<f64>)> {
        let fast = median(&pool.install(|| f(Kernels::Auto))?);
        let slow = if args.no_candle { None } else { Some(median(&pool.install(|| f(Kernels::Candle))?)) };
        Ok((Some(fast), slow))
    };
    let (f, c) = both(&|k| bench::time_batch_norm(&[64, 32, 48, 48], k, budget, device))?;
    rows.push(OpRow {
        name: "batch norm + ReLU fwd+bwd 64x32x48x48".into(),
        gflop: None,
        candle: c,
        ferlab: f,
        torch: None,
    });
    let (f, c) = both(&|k| bench::time_max_pool(&[32, 64, 56, 56], 3, 2, 1, k, budget, device))?;
    rows.push(OpRow {
        name: "max pool 3x3/2 fwd+bwd 32x64x56x56".into(),
        gflop: None,
        candle: c,
        ferlab: f,
        torch: None,
    });
    let (f, c) = both(&|k| bench::time_optimizer(k, budget, device))?;
    rows.push(OpRow {
        name: "AdamW step, ResNet-18 (11.2M parameters)".into(),
        gflop: None,
        candle: c,
        ferlab: f,
        torch: None,
    });
    Ok(rows)
}

fn print_ops(rows: &[OpRow], peak: Option<(f64, &str)>, threads: usize) {
    match peak {
        Some((gflops, isa)) => println!(
            "\nper operation (milliseconds; GFLOP/s and % of the FMA peak in brackets). \
             FMA peak measured here: {gflops:.0} GFLOP/s on {threads} threads ({isa})\n"
        ),
        None => println!("\nper operation (milliseconds; GFLOP/s in brackets)\n"),
    }
    println!("| operation | candle | ferlab | PyTorch | ferlab / PyTorch |");
    println!("|---|---|---|---|---|");
    for r in rows {
        let cell = |t: Option<f64>| match (t, r.gflop, peak) {
            (Some(t), Some(g), Some((p, _))) => {
                format!("{:.2} ({:.0}, {:.0}%)", t * 1e3, g / t, 100.0 * g / t / p)
            }
            (Some(t), Some(g), None) => format!("{:.2} ({:.0})", t * 1e3, g / t),
            (Some(t), None, _) => format!("{:.2}", t * 1e3),
            (None, ..) => "-".into(),
        };
        let speed = match (r.ferlab, r.torch) {
            (Some(f), Some(t)) => format!("{:.2}", t / f),
            _ => "-".into(),
        };
        println!(
            "| {} | {} | {} | {} | {} |",
            r.name,
            cell(r.candle),
            cell(r.ferlab),
            cell(r.torch),
            speed
        );
    }
}

fn ui_bench(preset: &std::path::Path, secs: f64) -> Result<()> {
    use ferlab::views::ui::frame_bench::{FRAME_BUDGET_MS, measure};
    let mut exp = ferlab::contract::config::Experiment::load(preset, &[], &REGISTRY)?;
    let runs = tempfile_dir("ferlab-ui-bench")?;
    exp.output.dir = runs.clone();
    println!(
        "workbench frames at 1280x800 on the UI thread (layout + tessellation), paced at 60 Hz"
    );
    let result = measure(exp, secs).map_err(|e| anyhow!(e));
    let _ = std::fs::remove_dir_all(&runs);
    println!(
        "{:<24} {:>7} {:>10} {:>9} {:>9} {:>8} {:>14}",
        "phase", "frames", "median ms", "p95 ms", "max ms", "events", "p95 / 16.7 ms"
    );
    for s in result? {
        println!(
            "{:<24} {:>7} {:>10.2} {:>9.2} {:>9.2} {:>8} {:>14.2}",
            s.phase,
            s.frames,
            s.median_ms,
            s.p95_ms,
            s.max_ms,
            s.events,
            s.p95_ms / FRAME_BUDGET_MS
        );
    }
    window_bench(preset)
}

fn runs_folder_bench(count: usize, keep: bool) -> Result<()> {
    use ferlab::views::runs_table::synthetic;
    use ferlab::views::ui::frame_bench::{FRAME_BUDGET_MS, measure_runs_pane};
    let root = tempfile_dir("ferlab-runs-bench")?;
    let start = Instant::now();
    synthetic::write(&root, &synthetic::plan(count, 30)).map_err(|e| anyhow!(e))?;
    let bytes: u64 = std::fs::read_dir(&root)?
        .filter_map(|e| e.ok())
        .filter_map(|e| std::fs::metadata(e.path().join("events.jsonl")).ok())
        .map(|m| m.len())
        .sum();
    println!(
        "{count} synthetic runs of 30 epochs ({:.1} MB of events) written in {:.1} s to {}",
        bytes as f64 / 1e6,
        start.elapsed().as_secs_f64(),
        root.display()
    );
    let (refreshes, frames) = measure_runs_pane(&root);
    if keep {
        println!("kept: ferlab gui with output.dir = {}", root.display());
    } else {
        let _ = std::fs::remove_dir_all(&root);
    }
    println!("{:<32} {:>10}", "step", "ms");
    for (step, ms) in refreshes {
        println!("{step:<32} {ms:>10.1}");
    }
    println!(
        "\n{:<24} {:>7} {:>10} {:>9} {:>9} {:>14}",
        "phase", "frames", "median ms", "p95 ms", "max ms", "p95 / 16.7 ms"
    );
    for s in frames {
        println!(
            "{:<24} {:>7} {:>10.2} {:>9.2} {:>9.2} {:>14.2}",
            s.phase,
            s.frames,
            s.median_ms,
            s.p95_ms,
            s.max_ms,
            s.p95_ms / FRAME_BUDGET_MS
        );
    }
    Ok(())
}

/// The real window's CPU time beside a run, and the run's throughput with and without it.
fn window_bench(preset: &std::path::Path) -> Result<()> {
    use ferlab::views::ui::window_bench::measure_window;
    if std::env::var_os("DISPLAY").is_none() && std::env::var_os("WAYLAND_DISPLAY").is_none() {
        println!(
            "\nno display: the window's CPU use was not measured (run under `xvfb-run -a -s \"-screen 0 1280x800x24\"`)"
        );
        return Ok(());
    }
    let mut exp = ferlab::contract::config::Experiment::load(preset, &[], &REGISTRY)?;
    let runs = tempfile_dir("ferlab-window-bench")?;
    exp.output.dir = runs.clone();
    println!(
        "\nthe real window at 1280x800 beside `{}` ({} epochs; the headless run first)",
        preset.display(),
        exp.train.epochs
    );
    let result = measure_window(exp, PathBuf::from("presets")).map_err(|e| anyhow!(e));
    let _ = std::fs::remove_dir_all(&runs);
    let report = result?;
    println!(
        "{:<20} {:>8} {:>8} {:>14} {:>16}",
        "phase", "seconds", "frames/s", "window cores", "training cores"
    );
    for p in &report.phases {
        println!(
            "{:<20} {:>8.1} {:>8.1} {:>14.3} {:>16.3}",
            p.phase,
            p.wall_secs,
            p.frames_per_sec(),
            p.window_cores,
            p.training_cores
        );
    }
    println!(
        "training images/s: headless {:.0}, beside the window {:.0} ({:.0}% of headless)",
        report.headless_images_per_sec,
        report.window_images_per_sec,
        100.0 * report.window_images_per_sec / report.headless_images_per_sec
    );
    Ok(())
}

fn tempfile_dir(prefix: &str) -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("{prefix}-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// t-SNE and classical MDS here and in scikit-learn, on the same clustered features.
fn embed_bench(args: &BenchArgs) -> Result<()> {
    use ferlab::compute::analysis::embed::{TsneParams, gaussian_clusters, mds_features, tsne};
    let (n, d) = (args.embed_n, args.embed_d);
    let mds_n = args.mds_n.min(n);
    // Seven overlapping clusters, like the features of seven expressions.
    let (x, _) = gaussian_clusters(n, d, 7, 6.0, 1);
    let params = TsneParams::default();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads)
        .build()?;
    println!(
        "embedding benchmark: {n} x {d} features, perplexity {}, {} iterations, theta {}; MDS of {mds_n}; {} threads",
        params.perplexity, params.iterations, params.theta, args.threads
    );
    let t0 = Instant::now();
    pool.install(|| tsne(&x, params))?;
    let tsne_secs = t0.elapsed().as_secs_f64();
    let sub =
        ferlab::compute::analysis::embed::Features::new(x.data[..mds_n * d].to_vec(), mds_n, d)?;
    let t0 = Instant::now();
    pool.install(|| mds_features(&sub, 1));
    let mds_secs = t0.elapsed().as_secs_f64();

    let file = std::env::temp_dir().join(format!("ferlab-embed-{}.f32", std::process::id()));
    let bytes: Vec<u8> = x.data.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(&file, bytes)?;
    let out = Command::new(&args.python)
        .arg(&args.embed_script)
        .arg(&file)
        .args([
            n.to_string(),
            d.to_string(),
            mds_n.to_string(),
            params.perplexity.to_string(),
            params.iterations.to_string(),
            args.threads.to_string(),
        ])
        .output();
    let _ = std::fs::remove_file(&file);
    let reference: Option<serde_json::Value> = match out {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout)
            .lines()
            .last()
            .and_then(|l| serde_json::from_str(l).ok()),
        Ok(o) => {
            eprintln!(
                "scikit-learn reference failed: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            None
        }
        Err(e) => {
            eprintln!("scikit-learn reference skipped: {e}");
            None
        }
    };
    let secs = |key: &str| reference.as_ref().and_then(|r| r[key].as_f64());
    println!(
        "{:<28} {:>10} {:>14} {:>8}",
        "", "ferlab s", "scikit-learn s", "ratio"
    );
    for (name, ours, key) in [
        ("t-SNE (Barnes-Hut)", tsne_secs, "tsne_secs"),
        ("classical MDS", mds_secs, "mds_secs"),
    ] {
        match secs(key) {
            Some(theirs) => println!(
                "{name:<28} {ours:>10.2} {theirs:>14.2} {:>7.2}x",
                theirs / ours
            ),
            None => println!("{name:<28} {ours:>10.2} {:>14} {:>8}", "-", "-"),
        }
    }
    if let Some(r) = &reference {
        println!(
            "(ratio = scikit-learn time / ferlab time; scikit-learn {}, MDS as {})",
            r["sklearn"].as_str().unwrap_or("?"),
            r["mds_kind"].as_str().unwrap_or("?")
        );
    }
    Ok(())
}
