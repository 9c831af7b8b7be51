//! The one series palette of the workbench's panels and the exported figures, so a class or
//! a run has the same colour on screen and on paper: matplotlib's "tab10", as RGB.

pub const TAB10: [(u8, u8, u8); 10] = [
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (127, 127, 127),
    (188, 189, 34),
    (23, 190, 207),
];

/// The colour of series `i` (wrapping after ten).
pub fn rgb(i: usize) -> (u8, u8, u8) {
    TAB10[i % TAB10.len()]
}
