//! Two groups of runs — two methods, or two settings, each over several seeds — compared
//! accuracy by accuracy, so a researcher gets the verdict without a spreadsheet.
//!
//! For each accuracy (best / last epoch, overall / mean per class): each group's mean ± sd
//! (sample standard deviation), the difference of the means (B − A), and a two-sided paired
//! t-test over the seeds both groups ran (`seed` of each run's config; the difference per
//! seed, n − 1 degrees of freedom). Two criteria decide a win, and the table says which held:
//! - **spread**: the difference of the means exceeds both groups' standard deviations;
//! - **paired**: the paired test's p < 0.05 (needs at least two shared seeds).
//!
//! Neither holding is "within noise". A group of one run has no spread, so the spread
//! criterion needs two runs a side.

use std::collections::BTreeMap;

use crate::contract::run::results::RunResult;
use crate::views::tables::{Table, mean_sd, mean_sd_cell};

/// The significance level of the paired test.
pub const ALPHA: f64 = 0.05;

/// Which of a run's accuracies a row compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accuracy {
    BestOverall,
    BestMean,
    LastOverall,
    LastMean,
}

impl Accuracy {
    pub const ALL: [Accuracy; 4] = [
        Self::BestOverall,
        Self::BestMean,
        Self::LastOverall,
        Self::LastMean,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Self::BestOverall => "best overall %",
            Self::BestMean => "best mean per class %",
            Self::LastOverall => "last overall %",
            Self::LastMean => "last mean per class %",
        }
    }

    fn of(self, r: &RunResult) -> f32 {
        match self {
            Self::BestOverall => r.best_overall,
            Self::BestMean => r.best_mean,
            Self::LastOverall => r.last_overall,
            Self::LastMean => r.last_mean,
        }
    }
}

/// A paired t-test of `b − a` over matched pairs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PairedTest {
    pub pairs: usize,
    pub mean_difference: f64,
    pub t: f64,
    /// Two-sided p-value; 0 when every pair differs by the same non-zero amount, 1 when
    /// every pair is equal.
    pub p: f64,
}

pub fn paired_t_test(pairs: &[(f64, f64)]) -> Option<PairedTest> {
    if pairs.len() < 2 {
        return None;
    }
    let d: Vec<f64> = pairs.iter().map(|(a, b)| b - a).collect();
    let (mean, sd) = mean_sd(&d);
    let sd = sd?;
    let n = d.len() as f64;
    let (t, p) = if sd == 0.0 {
        if mean == 0.0 {
            (0.0, 1.0)
        } else {
            (mean.signum() * f64::INFINITY, 0.0)
        }
    } else {
        let t = mean / (sd / n.sqrt());
        (t, student_t_two_sided_p(t, n - 1.0))
    };
    Some(PairedTest {
        pairs: d.len(),
        mean_difference: mean,
        t,
        p,
    })
}

/// P(|T| ≥ |t|) for Student's t with `df` degrees of freedom:
/// I_{df/(df+t²)}(df/2, 1/2), the regularised incomplete beta function.
pub fn student_t_two_sided_p(t: f64, df: f64) -> f64 {
    if !t.is_finite() {
        return 0.0;
    }
    regularized_incomplete_beta(df / (df + t * t), df / 2.0, 0.5)
}

/// I_x(a, b) by its continued fraction (modified Lentz), using the symmetry
/// I_x(a, b) = 1 − I_{1−x}(b, a) where the fraction converges slowly.
fn regularized_incomplete_beta(x: f64, a: f64, b: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let ln_front = ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln();
    if x < (a + 1.0) / (a + b + 2.0) {
        ln_front.exp() * beta_fraction(x, a, b) / a
    } else {
        1.0 - ln_front.exp() * beta_fraction(1.0 - x, b, a) / b
    }
}

fn beta_fraction(x: f64, a: f64, b: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let mut c = 1.0;
    let mut d = 1.0 - (a + b) * x / (a + 1.0);
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..=300 {
        let m = m as f64;
        // The even and the odd step of the fraction.
        for num in [
            m * (b - m) * x / ((a + 2.0 * m - 1.0) * (a + 2.0 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2.0 * m) * (a + 2.0 * m + 1.0)),
        ] {
            d = 1.0 + num * d;
            if d.abs() < TINY {
                d = TINY;
            }
            c = 1.0 + num / c;
            if c.abs() < TINY {
                c = TINY;
            }
            d = 1.0 / d;
            h *= d * c;
        }
        if (d * c - 1.0).abs() < 1e-15 {
            break;
        }
    }
    h
}

/// ln Γ(x) for x > 0 (Lanczos, g = 7, 9 terms; relative error below 1e-13).
fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection: Γ(x)Γ(1 − x) = π / sin(πx).
        return (std::f64::consts::PI / (std::f64::consts::PI * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut sum = C[0];
    for (i, c) in C.iter().enumerate().skip(1) {
        sum += c / (x + i as f64);
    }
    let t = x + G + 0.5;
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + sum.ln()
}

/// What decided a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Group A is better by the criteria that held.
    A {
        spread: bool,
        paired: bool,
    },
    /// Group B is better by the criteria that held.
    B {
        spread: bool,
        paired: bool,
    },
    WithinNoise,
}

/// One accuracy compared.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub accuracy: Accuracy,
    /// Percent.
    pub a: (f64, Option<f64>),
    pub b: (f64, Option<f64>),
    pub paired: Option<PairedTest>,
    pub verdict: Verdict,
}

/// Two groups compared; `a` and `b` are non-empty.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub a_name: String,
    pub b_name: String,
    pub a_runs: usize,
    pub b_runs: usize,
    /// Seeds both groups ran (the pairs of the paired test).
    pub shared_seeds: Vec<i64>,
    pub rows: Vec<Row>,
}

fn seed_of(r: &RunResult) -> Option<i64> {
    r.settings.get("seed").and_then(|v| v.as_integer())
}

/// A group's name: its runs' methods, as the tables name them.
pub fn group_name(runs: &[RunResult]) -> String {
    let mut names: Vec<&str> = runs.iter().map(|r| r.method.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    names.join(" / ")
}

impl Comparison {
    pub fn new(a_name: &str, a: &[RunResult], b_name: &str, b: &[RunResult]) -> Self {
        // One run per seed a side: a seed run twice in a group counts once (the later run).
        let by_seed = |g: &[RunResult]| -> BTreeMap<i64, usize> {
            g.iter()
                .enumerate()
                .filter_map(|(i, r)| Some((seed_of(r)?, i)))
                .collect()
        };
        let (sa, sb) = (by_seed(a), by_seed(b));
        let shared: Vec<i64> = sa.keys().filter(|s| sb.contains_key(s)).copied().collect();
        let rows = Accuracy::ALL
            .iter()
            .map(|&acc| {
                let pct = |r: &RunResult| 100.0 * f64::from(acc.of(r));
                let xa: Vec<f64> = a.iter().map(pct).collect();
                let xb: Vec<f64> = b.iter().map(pct).collect();
                let (ma, sda) = mean_sd(&xa);
                let (mb, sdb) = mean_sd(&xb);
                let pairs: Vec<(f64, f64)> = shared
                    .iter()
                    .map(|s| (pct(&a[sa[s]]), pct(&b[sb[s]])))
                    .collect();
                let paired = paired_t_test(&pairs);
                let diff = mb - ma;
                let spread = matches!((sda, sdb), (Some(x), Some(y)) if diff.abs() > x.max(y));
                let by_test = paired.is_some_and(|t| t.p < ALPHA);
                let verdict = match (spread || by_test, diff > 0.0) {
                    (false, _) => Verdict::WithinNoise,
                    (true, true) => Verdict::B {
                        spread,
                        paired: by_test,
                    },
                    (true, false) => Verdict::A {
                        spread,
                        paired: by_test,
                    },
                };
                Row {
                    accuracy: acc,
                    a: (ma, sda),
                    b: (mb, sdb),
                    paired,
                    verdict,
                }
            })
            .collect();
        Self {
            a_name: a_name.to_string(),
            b_name: b_name.to_string(),
            a_runs: a.len(),
            b_runs: b.len(),
            shared_seeds: shared,
            rows,
        }
    }

    /// The comparison as a table: accuracy, A, B, B − A, the paired test, the verdict.
    pub fn table(&self) -> Table {
        let header = vec![
            "accuracy".to_string(),
            format!("A: {}", self.a_name),
            format!("B: {}", self.b_name),
            "B − A".to_string(),
            format!("paired t-test ({} seeds)", self.shared_seeds.len()),
            "verdict".to_string(),
        ];
        let rows: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|r| {
                let test = match &r.paired {
                    Some(t) => format!("t = {:.2}, p = {:.3}", t.t, t.p),
                    None => "– (needs 2 shared seeds)".to_string(),
                };
                let by = |spread: bool, paired: bool| match (spread, paired) {
                    (true, true) => "beyond both spreads; paired p < 0.05",
                    (true, false) => "beyond both spreads",
                    _ => "paired p < 0.05",
                };
                let verdict = match r.verdict {
                    Verdict::A { spread, paired } => format!("A better ({})", by(spread, paired)),
                    Verdict::B { spread, paired } => format!("B better ({})", by(spread, paired)),
                    Verdict::WithinNoise => "within noise".to_string(),
                };
                vec![
                    r.accuracy.label().to_string(),
                    mean_sd_cell(r.a, self.a_runs),
                    mean_sd_cell(r.b, self.b_runs),
                    format!("{:+.2}", r.b.0 - r.a.0),
                    test,
                    verdict,
                ]
            })
            .collect();
        let values = vec![vec![None; header.len()]; rows.len()];
        Table {
            header,
            rows,
            values,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn student_t_matches_its_tables_and_closed_forms() {
        // Two degrees of freedom: p = 1 − t / sqrt(2 + t²).
        for t in [0.3, 1.0, 2.5, 4.302_652_73, 9.0] {
            let closed = 1.0 - t / (2.0f64 + t * t).sqrt();
            let p = student_t_two_sided_p(t, 2.0);
            assert!((p - closed).abs() < 1e-12, "t {t}: {p} vs {closed}");
        }
        // One degree of freedom (Cauchy): p = 1 − 2·atan(t)/π.
        let p = student_t_two_sided_p(63.656_741, 1.0);
        assert!((p - 0.01).abs() < 1e-6, "{p}");
        // Critical values of the usual table, two-sided 5%.
        for (t, df) in [(2.570_582, 5.0), (2.228_139, 10.0), (2.042_272, 30.0)] {
            let p = student_t_two_sided_p(t, df);
            assert!((p - 0.05).abs() < 1e-6, "df {df}: {p}");
        }
        assert_eq!(student_t_two_sided_p(0.0, 4.0), 1.0);
        assert!((student_t_two_sided_p(-2.570_582, 5.0) - 0.05).abs() < 1e-6);
    }

    #[test]
    fn paired_test_on_hand_computed_differences() {
        // Differences 1, 2, 3: mean 2, sd 1, t = 2·√3, df 2.
        let t = paired_t_test(&[(10.0, 11.0), (20.0, 22.0), (30.0, 33.0)]).unwrap();
        assert!((t.t - 2.0 * 3f64.sqrt()).abs() < 1e-12);
        let closed = 1.0 - t.t / (2.0 + t.t * t.t).sqrt();
        assert!((t.p - closed).abs() < 1e-12);
        // A constant shift is certain; no difference is no evidence; one pair is no test.
        assert_eq!(paired_t_test(&[(1.0, 2.0), (5.0, 6.0)]).unwrap().p, 0.0);
        assert_eq!(paired_t_test(&[(1.0, 1.0), (5.0, 5.0)]).unwrap().p, 1.0);
        assert!(paired_t_test(&[(1.0, 2.0)]).is_none());
    }

    fn run(method: &str, seed: i64, overall: f32) -> RunResult {
        let mut settings = toml::Table::new();
        settings.insert("seed".into(), toml::Value::Integer(seed));
        RunResult {
            run: format!("{method}-{seed}"),
            method: method.into(),
            noise_rate: 0.0,
            epochs: 1,
            best_epoch: 1,
            best_overall: overall,
            best_mean: overall - 0.1,
            last_overall: overall,
            last_mean: overall - 0.1,
            mining: None,
            seconds: 1.0,
            classes: vec![],
            best_per_class: vec![],
            imbalance_factor: 1.0,
            settings,
            embedding: None,
            planned_epochs: 1,
            outcome: crate::contract::run::view::RunOutcome::Finished,
            warnings: vec![],
        }
    }

    #[test]
    fn seeds_pair_the_runs_and_the_verdict_says_which_criterion_held() {
        // B beats A by 1 point on every seed while the seeds spread A by ±5: within the
        // spread, but the paired test sees it.
        let a = [run("CE", 7, 0.50), run("CE", 8, 0.60), run("CE", 9, 0.55)];
        let b = [
            run("LNSU", 9, 0.56),
            run("LNSU", 8, 0.61),
            run("LNSU", 7, 0.51),
        ];
        let c = Comparison::new("CE", &a, "LNSU", &b);
        assert_eq!(c.shared_seeds, vec![7, 8, 9]);
        let row = &c.rows[0];
        assert_eq!(
            row.verdict,
            Verdict::B {
                spread: false,
                paired: true
            }
        );
        // Shuffled pairing would not be constant: the test paired by seed.
        assert!(row.paired.unwrap().p < 1e-6);
        // Differences far beyond both spreads but different per seed.
        let b = [run("X", 7, 0.70), run("X", 8, 0.72), run("X", 9, 0.80)];
        let row = &Comparison::new("CE", &a, "X", &b).rows[0];
        assert!(matches!(row.verdict, Verdict::B { spread: true, .. }));
        // Noise both ways: within noise.
        let b = [run("Y", 7, 0.52), run("Y", 8, 0.57), run("Y", 9, 0.58)];
        let c = Comparison::new("CE", &a, "Y", &b);
        assert_eq!(c.rows[0].verdict, Verdict::WithinNoise);
        let text = c
            .table()
            .render(crate::views::tables::TableFormat::Markdown);
        assert!(text.contains("within noise"), "{text}");
        assert!(text.contains("55.00 ± 5.00 (3)"), "{text}");
    }

    #[test]
    fn without_shared_seeds_only_the_spread_decides() {
        let a = [run("CE", 1, 0.50), run("CE", 2, 0.51)];
        let b = [run("Z", 3, 0.60), run("Z", 4, 0.61)];
        let c = Comparison::new("CE", &a, "Z", &b);
        assert!(c.shared_seeds.is_empty());
        assert_eq!(
            c.rows[0].verdict,
            Verdict::B {
                spread: true,
                paired: false
            }
        );
        // One run a side: no spread and no pairs, so no verdict but "within noise".
        let c = Comparison::new("CE", &a[..1], "Z", &b[..1]);
        assert_eq!(c.rows[0].verdict, Verdict::WithinNoise);
    }
}
