//! How the views write quantities for people: one way everywhere (log, toolbar, tables).

/// `1 h 02 min`, `3 min 05 s`, `42 s`.
pub fn duration(secs: f32) -> String {
    let s = secs.max(0.0).round() as u64;
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min {:02} s", s / 60, s % 60),
        _ => format!("{} h {:02} min", s / 3600, (s % 3600) / 60),
    }
}
