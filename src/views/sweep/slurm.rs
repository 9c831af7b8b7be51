//! A Slurm job array for a sweep: one array task per point, each running
//! `ferlab sweep task <SWEEP_DIR> $SLURM_ARRAY_TASK_ID`, which resumes a point that was
//! started before and skips one that finished.

use std::path::Path;

/// Resources each array task asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlurmResources {
    pub partition: Option<String>,
    pub account: Option<String>,
    /// `HH:MM:SS` or Slurm's other time formats.
    pub time: String,
    pub cpus: usize,
    pub mem: String,
    pub gpus: usize,
    /// At most this many tasks at once (`--array=0-N%K`); None for no limit.
    pub max_running: Option<usize>,
}

impl Default for SlurmResources {
    fn default() -> Self {
        Self {
            partition: None,
            account: None,
            time: "04:00:00".into(),
            cpus: 4,
            mem: "16G".into(),
            gpus: 0,
            max_running: None,
        }
    }
}

/// The job script. `ferlab` is the binary the tasks call (overridable with `$FERLAB` when
/// the cluster's path differs); `sweep_dir` must be visible to the compute nodes.
pub fn script(
    name: &str,
    points: usize,
    sweep_dir: &Path,
    ferlab: &Path,
    res: &SlurmResources,
) -> String {
    let quote = |p: &Path| format!("'{}'", p.display().to_string().replace('\'', "'\\''"));
    let mut array = format!("0-{}", points.saturating_sub(1));
    if let Some(k) = res.max_running {
        array += &format!("%{k}");
    }
    let mut s = String::from("#!/bin/bash\n");
    s += &format!("#SBATCH --job-name={name}\n");
    s += &format!("#SBATCH --array={array}\n");
    s += &format!("#SBATCH --cpus-per-task={}\n", res.cpus);
    s += &format!("#SBATCH --mem={}\n", res.mem);
    s += &format!("#SBATCH --time={}\n", res.time);
    if let Some(p) = &res.partition {
        s += &format!("#SBATCH --partition={p}\n");
    }
    if let Some(a) = &res.account {
        s += &format!("#SBATCH --account={a}\n");
    }
    if res.gpus > 0 {
        s += &format!("#SBATCH --gres=gpu:{}\n", res.gpus);
    }
    s += &format!(
        "#SBATCH --output={}/logs/slurm-%A_%a.out\n",
        sweep_dir.display()
    );
    s += "#\n";
    s += &format!(
        "# {points} runs of sweep {name}; submit with: sbatch {}/sweep.sbatch\n",
        sweep_dir.display()
    );
    s += "# Each task runs one point; a rerun task resumes its point or skips it when finished.\n";
    s += "set -euo pipefail\n";
    s += &format!("FERLAB=\"${{FERLAB:-{}}}\"\n", ferlab.display());
    s += &format!(
        "exec \"$FERLAB\" sweep task {} \"$SLURM_ARRAY_TASK_ID\" --threads \"${{SLURM_CPUS_PER_TASK:-{}}}\"\n",
        quote(sweep_dir),
        res.cpus
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_asks_for_the_resources_and_runs_one_point_per_task() {
        let res = SlurmResources {
            partition: Some("gpu".into()),
            gpus: 1,
            max_running: Some(4),
            ..SlurmResources::default()
        };
        let s = script(
            "cb-beta",
            12,
            Path::new("/scratch/runs/cb-beta-sweep"),
            Path::new("/opt/ferlab/bin/ferlab"),
            &res,
        );
        let lines: Vec<&str> = s.lines().collect();
        assert_eq!(lines[0], "#!/bin/bash");
        for expected in [
            "#SBATCH --job-name=cb-beta",
            "#SBATCH --array=0-11%4",
            "#SBATCH --cpus-per-task=4",
            "#SBATCH --mem=16G",
            "#SBATCH --time=04:00:00",
            "#SBATCH --partition=gpu",
            "#SBATCH --gres=gpu:1",
            "#SBATCH --output=/scratch/runs/cb-beta-sweep/logs/slurm-%A_%a.out",
            "FERLAB=\"${FERLAB:-/opt/ferlab/bin/ferlab}\"",
            "exec \"$FERLAB\" sweep task '/scratch/runs/cb-beta-sweep' \"$SLURM_ARRAY_TASK_ID\" --threads \"${SLURM_CPUS_PER_TASK:-4}\"",
        ] {
            assert!(lines.contains(&expected), "missing {expected}\n{s}");
        }
        assert!(!s.contains("--account"));
    }
}
