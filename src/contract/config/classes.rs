//! The canonical seven basic expressions and how dataset-specific names map onto them.

/// Class order used by ferlab for every dataset (RAF-DB's order).
pub const CANONICAL: [&str; 7] = [
    "surprise",
    "fear",
    "disgust",
    "happiness",
    "sadness",
    "anger",
    "neutral",
];

/// FER2013 csv `emotion` codes (0 angry .. 6 neutral) as canonical class indices.
pub const FER2013_CODE_TO_CLASS: [usize; 7] = [5, 2, 1, 3, 4, 0, 6];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClassMatch {
    Class(usize),
    Unknown,
}

/// Maps a class folder name (any case) to a canonical class: `angry`, `Anger` and
/// `anger` all mean anger; FER2013's folder names all match.
pub fn match_class_folder(name: &str) -> ClassMatch {
    let n = name.trim().to_ascii_lowercase();
    let idx = match n.as_str() {
        "surprise" | "surprised" | "surprize" => 0,
        "fear" | "fearful" | "afraid" | "scared" => 1,
        "disgust" | "disgusted" => 2,
        "happiness" | "happy" | "joy" => 3,
        "sadness" | "sad" => 4,
        "anger" | "angry" => 5,
        "neutral" => 6,
        _ => return ClassMatch::Unknown,
    };
    ClassMatch::Class(idx)
}

pub fn canonical_names() -> Vec<String> {
    CANONICAL.iter().map(|s| s.to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fer2013_folder_names_map_to_canonical_classes() {
        let expect = [
            ("angry", 5),
            ("disgust", 2),
            ("fear", 1),
            ("happy", 3),
            ("neutral", 6),
            ("sad", 4),
            ("surprise", 0),
        ];
        for (name, idx) in expect {
            assert_eq!(match_class_folder(name), ClassMatch::Class(idx), "{name}");
        }
        assert_eq!(match_class_folder("Contempt"), ClassMatch::Unknown);
    }

    #[test]
    fn fer2013_codes_agree_with_folder_names() {
        let code_names = [
            "angry", "disgust", "fear", "happy", "sad", "surprise", "neutral",
        ];
        for (code, name) in code_names.iter().enumerate() {
            assert_eq!(
                match_class_folder(name),
                ClassMatch::Class(FER2013_CODE_TO_CLASS[code])
            );
        }
    }
}
