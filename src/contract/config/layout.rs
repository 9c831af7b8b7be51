//! Where each on-disk data format keeps its files: the loaders read them there, and
//! validation checks they exist before a run starts.

use std::path::{Path, PathBuf};

/// RAF-DB's label file under its root (the dataset's own spelling).
pub const RAFDB_LABEL_FILE: &str = "EmoLabel/list_patition_label.txt";
/// RAF-DB's aligned faces under its root.
pub const RAFDB_IMAGE_DIR: &str = "Image/aligned";
/// AffectNet's images under its root.
pub const AFFECTNET_IMAGE_DIR: &str = "Manually_Annotated_Images";

/// AffectNet's csv of a split: `train` → training.csv, `val` → validation.csv, else
/// `<split>.csv`.
pub fn affectnet_csv(root: &Path, split: &str) -> PathBuf {
    let name = match split {
        "train" => "training",
        "val" | "test" => "validation",
        other => other,
    };
    root.join(format!("{name}.csv"))
}
