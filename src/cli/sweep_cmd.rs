//! `ferlab sweep PRESET`: expand a preset's `[sweep]` into runs and run them here, a few at
//! a time (each in its own `ferlab sweep task` process), or with `--slurm` write a job
//! array for a cluster; `ferlab sweep collect DIR` summarises what has finished. Rerunning
//! a sweep skips finished points and resumes started ones from their checkpoints.

use ferlab::compute::method::REGISTRY;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow};
use clap::{Args, Subcommand};
use ferlab::compute::train::Launch;
use ferlab::contract::config::Experiment;
use ferlab::contract::run::atomic;
use ferlab::contract::run::results::read_run;
use ferlab::views::sweep::slurm::{self, SlurmResources};
use ferlab::views::sweep::spec::varying_keys;
use ferlab::views::sweep::{Manifest, PointStatus, SweepFolder, SweepPreset, summary};

use super::Overrides;
use super::train_cmd::drive;

#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct SweepArgs {
    #[command(subcommand)]
    pub command: Option<SweepCommand>,
    /// Preset with a [sweep] section.
    pub preset: Option<PathBuf>,
    #[command(flatten)]
    pub overrides: Overrides,
    /// Put the sweep folder (<name>-sweep) under this folder instead of the preset's
    /// output.dir.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Runs at once on this machine (default: the preset's sweep.parallel); the cores are
    /// shared out among them.
    #[arg(long)]
    pub parallel: Option<usize>,
    /// Write a Slurm job-array script and the manifest instead of running.
    #[arg(long)]
    pub slurm: bool,
    #[command(flatten)]
    pub resources: SlurmArgs,
}

#[derive(Args, Debug)]
pub struct SlurmArgs {
    /// Slurm partition.
    #[arg(long, requires = "slurm")]
    pub partition: Option<String>,
    /// Slurm account.
    #[arg(long, requires = "slurm")]
    pub account: Option<String>,
    /// Time limit of each task.
    #[arg(long, default_value = "04:00:00")]
    pub time: String,
    /// CPU cores per task.
    #[arg(long, default_value_t = 4)]
    pub cpus: usize,
    /// Memory per task.
    #[arg(long, default_value = "16G")]
    pub mem: String,
    /// GPUs per task.
    #[arg(long, default_value_t = 0)]
    pub gpus: usize,
    /// At most this many array tasks at once.
    #[arg(long)]
    pub max_running: Option<usize>,
}

#[derive(Subcommand, Debug)]
pub enum SweepCommand {
    /// Summarise a sweep folder: every point's status and results, and the grid.
    Collect { dir: PathBuf },
    /// Run one point of a sweep (what Slurm array tasks and local workers call).
    Task {
        dir: PathBuf,
        index: usize,
        /// CPU threads for this run (default: the point's config).
        #[arg(long)]
        threads: Option<usize>,
    },
}

pub fn run(args: SweepArgs) -> Result<()> {
    match args.command {
        Some(SweepCommand::Collect { dir }) => collect(&dir),
        Some(SweepCommand::Task {
            dir,
            index,
            threads,
        }) => task(&dir, index, threads),
        None => {
            let preset = args
                .preset
                .clone()
                .ok_or_else(|| anyhow!("give a preset with a [sweep] section"))?;
            launch(&preset, &args)
        }
    }
}

/// Expands the preset and writes (or checks) the manifest.
fn prepare(preset: &Path, args: &SweepArgs) -> Result<(SweepFolder, Manifest)> {
    let text = ferlab::contract::config::read_text(preset)?;
    let origin = preset.display().to_string();
    let sweep = SweepPreset::parse(&text, &origin)?;
    let points = sweep.expand(&args.overrides.set)?;
    let base_dir = match &args.out {
        Some(out) => out.clone(),
        None => {
            Experiment::load(preset, &args.overrides.set, &REGISTRY)?
                .output
                .dir
        }
    };
    let folder = SweepFolder::new(base_dir.join(format!("{}-sweep", sweep.name)));
    let settings: Vec<_> = points.iter().map(|p| p.settings.clone()).collect();
    let manifest = Manifest {
        name: sweep.name.clone(),
        preset: origin,
        keys: varying_keys(&settings),
        parallel: args.parallel.unwrap_or(sweep.spec.parallel).max(1),
        points,
    };
    folder.write_manifest(&manifest)?;
    Ok((folder, manifest))
}

fn launch(preset: &Path, args: &SweepArgs) -> Result<()> {
    let (folder, manifest) = prepare(preset, args)?;
    let exe = std::env::current_exe()?;
    if args.slurm {
        let r = &args.resources;
        let resources = SlurmResources {
            partition: r.partition.clone(),
            account: r.account.clone(),
            time: r.time.clone(),
            cpus: r.cpus,
            mem: r.mem.clone(),
            gpus: r.gpus,
            max_running: r.max_running,
        };
        let root = std::path::absolute(&folder.root)?;
        let script = slurm::script(
            &manifest.name,
            manifest.points.len(),
            &root,
            &exe,
            &resources,
        );
        let path = folder.root.join("sweep.sbatch");
        atomic::write(&path, script.as_bytes())?;
        println!(
            "wrote {} ({} array tasks) and {}",
            path.display(),
            manifest.points.len(),
            folder.manifest_path().display()
        );
        println!("submit: sbatch {}", path.display());
        println!("then:   ferlab sweep collect {}", folder.root.display());
        return Ok(());
    }
    run_locally(&folder, &manifest, &exe)
}

/// Runs every unfinished point, `manifest.parallel` at once, each in a child process.
fn run_locally(folder: &SweepFolder, manifest: &Manifest, exe: &Path) -> Result<()> {
    let statuses: Vec<PointStatus> = manifest.points.iter().map(|p| folder.status(p)).collect();
    let mut queue: Vec<usize> = (0..manifest.points.len())
        .filter(|&i| statuses[i] != PointStatus::Finished)
        .collect();
    let done = manifest.points.len() - queue.len();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let parallel = manifest.parallel.min(queue.len().max(1));
    let threads = (cores / parallel).max(1);
    println!(
        "sweep {}: {} points ({} finished already), running {} with {} at once ({} threads each) in {}",
        manifest.name,
        manifest.points.len(),
        done,
        queue.len(),
        parallel,
        threads,
        folder.root.display()
    );
    queue.reverse();
    let mut running: Vec<(usize, Child, Instant)> = Vec::new();
    let mut failed = Vec::new();
    let mut finished = done;
    let mut elsewhere: Vec<usize> = Vec::new();
    while !queue.is_empty() || !running.is_empty() || !elsewhere.is_empty() {
        // Points an earlier sweep's task still runs (its sweep was killed): waited for, not
        // started twice; if that task dies unfinished, the point goes back in the queue.
        elsewhere.retain(|&i| {
            let point = &manifest.points[i];
            if folder.holder(point).is_some() {
                return true;
            }
            if folder.status(point) == PointStatus::Finished {
                finished += 1;
                println!(
                    "[{finished}/{}] {} finished (by the earlier task)",
                    manifest.points.len(),
                    point.name
                );
            } else {
                queue.push(i);
            }
            false
        });
        while running.len() < parallel {
            let Some(i) = queue.pop() else { break };
            let point = &manifest.points[i];
            if let Some(pid) = folder.holder(point) {
                println!(
                    "{} is still being run by process {pid} (an earlier sweep's task): waiting \
                     for it",
                    point.name
                );
                elsewhere.push(i);
                continue;
            }
            let log_path = folder.log_path(point);
            let log = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&log_path)
                .map_err(|e| anyhow!("{}: {e}", log_path.display()))?;
            let child = Command::new(exe)
                .args(["sweep", "task"])
                .arg(&folder.root)
                .arg(i.to_string())
                .args(["--threads", &threads.to_string()])
                .stdin(Stdio::null())
                .stdout(log.try_clone()?)
                .stderr(log)
                .spawn()
                .map_err(|e| anyhow!("cannot start {}: {e}", exe.display()))?;
            let verb = if statuses[i] == PointStatus::Partial {
                "resuming"
            } else {
                "starting"
            };
            println!("{verb} {} (log {})", point.name, log_path.display());
            running.push((i, child, Instant::now()));
        }
        std::thread::sleep(Duration::from_millis(200));
        let mut still = Vec::new();
        for (i, mut child, started) in running {
            match child.try_wait()? {
                None => still.push((i, child, started)),
                Some(status) => {
                    let point = &manifest.points[i];
                    let secs = started.elapsed().as_secs_f64();
                    if status.success() {
                        finished += 1;
                        let best = read_run(&folder.point_dir(point), &REGISTRY)
                            .map(|r| format!("best overall {:.2}%", 100.0 * r.best_overall))
                            .unwrap_or_default();
                        println!(
                            "[{finished}/{}] {} finished in {secs:.1} s, {best}",
                            manifest.points.len(),
                            point.name
                        );
                    } else {
                        println!(
                            "{} failed ({status}) after {secs:.1} s: see {}",
                            point.name,
                            folder.log_path(point).display()
                        );
                        failed.push(point.name.clone());
                    }
                }
            }
        }
        running = still;
    }
    let results = summary::collect(folder, manifest);
    let text = summary::write(folder, manifest, &results)?;
    println!("\n{text}");
    println!(
        "summary written to {}/summary.{{md,csv,tex}}",
        folder.root.display()
    );
    if failed.is_empty() {
        Ok(())
    } else {
        Err(anyhow!(
            "{} point(s) failed: {}; rerun the sweep to retry them",
            failed.len(),
            failed.join(", ")
        ))
    }
}

fn task(dir: &Path, index: usize, threads: Option<usize>) -> Result<()> {
    let folder = SweepFolder::new(dir);
    let manifest = folder.read_manifest()?;
    let point = manifest.points.get(index).ok_or_else(|| {
        anyhow!(
            "{}: no point {index} (the sweep has points 0..{})",
            folder.manifest_path().display(),
            manifest.points.len()
        )
    })?;
    let _lock = folder.lock(point)?;
    let run_dir = folder.point_dir(point);
    let launch = match folder.status(point) {
        PointStatus::Finished => {
            println!(
                "{} has finished already ({})",
                point.name,
                run_dir.display()
            );
            return Ok(());
        }
        PointStatus::Partial => Launch::Resume {
            dir: run_dir.clone(),
            overrides: threads
                .map(|t| vec![format!("train.threads={t}")])
                .unwrap_or_default(),
        },
        PointStatus::Pending => {
            let origin = format!("{} point {}", folder.manifest_path().display(), point.name);
            let mut exp = Experiment::from_toml(&point.config, &origin, &[], &REGISTRY)?;
            if let Some(t) = threads {
                exp.train.threads = t;
            }
            Launch::NewAt {
                experiment: Box::new(exp),
                dir: run_dir.clone(),
            }
        }
    };
    println!(
        "sweep {} point {index}: {} in {}",
        manifest.name,
        point.name,
        run_dir.display()
    );
    drive(launch, true)
}

fn collect(dir: &Path) -> Result<()> {
    let folder = SweepFolder::new(dir);
    let (manifest, results) = summary::read_sweep(&folder)?;
    let text = summary::write(&folder, &manifest, &results)?;
    print!("{text}");
    let finished = results
        .iter()
        .filter(|r| r.status == PointStatus::Finished)
        .count();
    println!(
        "\n{finished} of {} points finished; summary written to {}/summary.{{md,csv,tex}}",
        manifest.points.len(),
        folder.root.display()
    );
    Ok(())
}
