//! Rasterises an identity wearing an expression into a grey image with tiny-skia, then adds
//! a lighting gradient and pixel noise.

use rand::Rng;
use rand_distr::{Distribution, Normal};
use tiny_skia::{Color, FillRule, LineCap, Paint, PathBuilder, Pixmap, Rect, Stroke, Transform};

use super::expression::Expression;
use super::identity::Identity;

/// Head pose and lighting of one shot.
#[derive(Debug, Clone, Copy)]
pub struct Shot {
    pub rotation_deg: f32,
    pub shift: (f32, f32),
    pub scale: f32,
    /// Lighting gradient strength and direction (radians).
    pub light: f32,
    pub light_dir: f32,
}

impl Shot {
    pub fn sample(rng: &mut impl Rng) -> Self {
        Self {
            rotation_deg: rng.random_range(-9.0..9.0),
            shift: (rng.random_range(-3.5..3.5), rng.random_range(-3.5..3.5)),
            scale: rng.random_range(0.9..1.08),
            light: rng.random_range(0.0..0.4),
            light_dir: rng.random_range(0.0..std::f32::consts::TAU),
        }
    }
}

fn grey_color(v: f32, alpha: f32) -> Color {
    let g = (v.clamp(0.0, 1.0) * 255.0).round() as u8;
    let a = (alpha.clamp(0.0, 1.0) * 255.0).round() as u8;
    Color::from_rgba8(g, g, g, a)
}

fn grey(v: f32) -> Paint<'static> {
    grey_alpha(v, 1.0)
}

fn grey_alpha(v: f32, alpha: f32) -> Paint<'static> {
    let mut p = Paint::default();
    p.set_color(grey_color(v, alpha));
    p.anti_alias = true;
    p
}

fn round_stroke(width: f32) -> Stroke {
    Stroke {
        width,
        line_cap: LineCap::Round,
        ..Stroke::default()
    }
}

struct Canvas {
    pixmap: Pixmap,
    t: Transform,
}

impl Canvas {
    fn oval(&mut self, cx: f32, cy: f32, rx: f32, ry: f32, paint: &Paint) {
        if let Some(r) = Rect::from_xywh(cx - rx, cy - ry, 2.0 * rx, 2.0 * ry)
            && let Some(path) = PathBuilder::from_oval(r)
        {
            self.pixmap
                .fill_path(&path, paint, FillRule::Winding, self.t, None);
        }
    }

    fn fill(&mut self, pb: PathBuilder, paint: &Paint) {
        if let Some(path) = pb.finish() {
            self.pixmap
                .fill_path(&path, paint, FillRule::Winding, self.t, None);
        }
    }

    fn stroke(&mut self, pb: PathBuilder, paint: &Paint, width: f32) {
        if let Some(path) = pb.finish() {
            self.pixmap
                .stroke_path(&path, paint, &round_stroke(width), self.t, None);
        }
    }

    fn line(&mut self, a: (f32, f32), b: (f32, f32), paint: &Paint, width: f32) {
        let mut pb = PathBuilder::new();
        pb.move_to(a.0, a.1);
        pb.line_to(b.0, b.1);
        self.stroke(pb, paint, width);
    }

    /// A quadratic curve from `a` to `b` that passes through `mid` at its half-way point.
    fn curve(&mut self, a: (f32, f32), mid: (f32, f32), b: (f32, f32), paint: &Paint, width: f32) {
        let mut pb = PathBuilder::new();
        pb.move_to(a.0, a.1);
        let c = control_through(a, mid, b);
        pb.quad_to(c.0, c.1, b.0, b.1);
        self.stroke(pb, paint, width);
    }
}

fn control_through(a: (f32, f32), mid: (f32, f32), b: (f32, f32)) -> (f32, f32) {
    (
        2.0 * mid.0 - 0.5 * (a.0 + b.0),
        2.0 * mid.1 - 0.5 * (a.1 + b.1),
    )
}

/// Renders one face to `size × size` grey levels in [0, 1].
pub fn render(
    id: &Identity,
    expr: &Expression,
    shot: &Shot,
    size: usize,
    pixel_noise: f32,
    rng: &mut impl Rng,
) -> Vec<f32> {
    let s = size as f32 / 100.0;
    // Frame the face tightly, as FER crops do: zoom 1.15 about the face's centre.
    let zoom = 1.15 * shot.scale;
    let scale_at = Transform::from_translate(50.0, 50.0)
        .pre_scale(zoom, zoom)
        .pre_translate(-50.0, -56.0);
    let t = Transform::from_scale(s, s)
        .pre_translate(shot.shift.0, shot.shift.1)
        .pre_concat(Transform::from_rotate_at(shot.rotation_deg, 50.0, 50.0))
        .pre_concat(scale_at);
    let mut pixmap = Pixmap::new(size as u32, size as u32).expect("size is positive");
    pixmap.fill(grey_color(id.background, 1.0));
    let mut cv = Canvas { pixmap, t };
    draw_face(&mut cv, id, expr);
    finish(&cv.pixmap, size, shot, pixel_noise, rng)
}

fn draw_face(cv: &mut Canvas, id: &Identity, e: &Expression) {
    let cx = 50.0;
    let cy = 52.0;
    let skin = id.skin;
    let dark = (skin * 0.35).min(0.25);
    let hair = grey(id.hair);

    if id.long_hair {
        cv.oval(cx, cy - 2.0, id.head_w + 6.0, id.head_h + 4.0, &hair);
    }
    // Neck.
    let mut neck = PathBuilder::new();
    neck.push_rect(Rect::from_xywh(cx - 12.0, cy + id.head_h - 12.0, 24.0, 40.0).expect("valid"));
    cv.fill(neck, &grey(skin * 0.85));
    // Ears.
    cv.oval(cx - id.head_w, id.eye_y + 5.0, 4.0, 7.0, &grey(skin * 0.92));
    cv.oval(cx + id.head_w, id.eye_y + 5.0, 4.0, 7.0, &grey(skin * 0.92));
    // Head: an oval whose lower half widens towards a square jaw.
    let mut head = PathBuilder::new();
    let (w, h) = (id.head_w, id.head_h);
    let jaw_w = w * (0.55 + 0.35 * id.jaw);
    head.move_to(cx - w, cy);
    head.cubic_to(cx - w, cy - 1.1 * h, cx + w, cy - 1.1 * h, cx + w, cy);
    head.cubic_to(cx + w, cy + 0.6 * h, cx + jaw_w, cy + h, cx, cy + h);
    head.cubic_to(cx - jaw_w, cy + h, cx - w, cy + 0.6 * h, cx - w, cy);
    head.close();
    cv.fill(head, &grey(skin));
    // Hair on top of the head down to the hairline.
    let top = cy - h;
    let line_y = top + id.hairline * h * 0.9 + 3.0;
    let mut cap = PathBuilder::new();
    cap.move_to(cx - w - 1.0, line_y + 6.0);
    cap.cubic_to(
        cx - w - 1.0,
        top - 8.0,
        cx + w + 1.0,
        top - 8.0,
        cx + w + 1.0,
        line_y + 6.0,
    );
    cap.quad_to(cx, line_y - 5.0, cx - w - 1.0, line_y + 6.0);
    cap.close();
    cv.fill(cap, &hair);
    if id.beard {
        let mut beard = PathBuilder::new();
        beard.move_to(cx - w * 0.9, cy + 0.25 * h);
        beard.cubic_to(
            cx - jaw_w,
            cy + 1.15 * h,
            cx + jaw_w,
            cy + 1.15 * h,
            cx + w * 0.9,
            cy + 0.25 * h,
        );
        beard.quad_to(cx, cy + 0.7 * h, cx - w * 0.9, cy + 0.25 * h);
        cv.fill(beard, &grey_alpha(id.hair, 0.55));
    }

    // Cheeks: raised cheeks catch light; the nasolabial folds deepen.
    if e.cheek_raise > 0.05 {
        let k = e.cheek_raise;
        let glow = grey_alpha((skin + 0.25).min(1.0), 0.55 * k);
        cv.oval(
            cx - id.eye_dx - 2.0,
            id.eye_y + 12.0 - 3.0 * k,
            7.0,
            5.0,
            &glow,
        );
        cv.oval(
            cx + id.eye_dx + 2.0,
            id.eye_y + 12.0 - 3.0 * k,
            7.0,
            5.0,
            &glow,
        );
        let fold = grey_alpha(dark, 0.8 * k);
        let ny = id.eye_y + id.nose_len;
        for sgn in [-1.0f32, 1.0] {
            cv.curve(
                (cx + sgn * (id.nose_w + 2.0), ny),
                (cx + sgn * (id.nose_w + 5.5), ny + 6.0),
                (cx + sgn * (id.mouth_w + 2.0), id.mouth_y + 2.0),
                &fold,
                1.6,
            );
        }
    }

    draw_eyes(cv, id, e, cx);
    draw_brows(cv, id, e, cx);
    draw_nose(cv, id, e, cx, dark);
    draw_mouth(cv, id, e, cx, dark);

    if id.glasses {
        let frame = grey(0.08);
        for sgn in [-1.0f32, 1.0] {
            let mut pb = PathBuilder::new();
            let r = Rect::from_xywh(cx + sgn * id.eye_dx - 7.5, id.eye_y - 6.0, 15.0, 11.0)
                .expect("valid");
            pb.push_oval(r);
            cv.stroke(pb, &frame, 1.6);
        }
        cv.line(
            (cx - id.eye_dx + 7.5, id.eye_y - 1.0),
            (cx + id.eye_dx - 7.5, id.eye_y - 1.0),
            &frame,
            1.6,
        );
    }
}

fn draw_eyes(cv: &mut Canvas, id: &Identity, e: &Expression, cx: f32) {
    let ew = id.eye_w;
    // Wide eyes open the lids; tightened lids and raised cheeks close them from both sides.
    let open = (1.0 + 0.75 * e.eye_open).max(0.15) * (1.0 - 0.45 * e.cheek_raise);
    let eh = (ew * 0.55 * open).clamp(0.5, ew * 1.1);
    let lower_lift = 1.5 * e.cheek_raise;
    for sgn in [-1.0f32, 1.0] {
        let ex = cx + sgn * id.eye_dx;
        let ey = id.eye_y - lower_lift * 0.5;
        cv.oval(ex, ey, ew, eh, &grey(0.93));
        let iris_r = (ew * 0.42).min(eh * 1.05);
        cv.oval(ex, ey + 0.2 * eh, iris_r, iris_r.min(eh), &grey(0.12));
        // Upper lid.
        cv.curve((ex - ew, ey), (ex, ey - eh), (ex + ew, ey), &grey(0.1), 1.3);
        // Lower lid, pushed up by the cheeks.
        cv.curve(
            (ex - ew, ey),
            (ex, ey + eh - 0.3 * lower_lift),
            (ex + ew, ey),
            &grey_alpha(id.skin * 0.5, 0.7),
            0.9,
        );
    }
}

fn draw_brows(cv: &mut Canvas, id: &Identity, e: &Expression, cx: f32) {
    let base = id.eye_y - id.brow_gap;
    let lift = 5.5 * e.brow_raise - 3.2 * e.brow_lower;
    let inner_lift = 4.5 * e.brow_inner - 2.2 * e.brow_lower;
    let pull = 2.2 * e.brow_lower;
    let paint = grey(id.hair.min(0.35));
    for sgn in [-1.0f32, 1.0] {
        let inner_x = cx + sgn * (id.eye_dx - id.brow_len * 0.45 - pull);
        let outer_x = cx + sgn * (id.eye_dx + id.brow_len * 0.55);
        let inner = (inner_x, base - lift - inner_lift);
        let outer = (outer_x, base - lift + 1.0);
        let arch = 1.5 + 1.5 * e.brow_raise;
        let mid = (0.5 * (inner.0 + outer.0), 0.5 * (inner.1 + outer.1) - arch);
        cv.curve(inner, mid, outer, &paint, id.brow_thick);
    }
    // Forehead lines of raised brows; the vertical frown line of lowered ones.
    if e.brow_raise > 0.35 {
        let a = (e.brow_raise - 0.35) / 0.65;
        let paint = grey_alpha(id.skin * 0.55, 0.9 * a);
        for k in 0..2 {
            let y = base - 9.0 - 4.0 * k as f32 - lift * 0.5;
            cv.curve(
                (cx - 11.0, y + 1.0),
                (cx, y),
                (cx + 11.0, y + 1.0),
                &paint,
                1.1,
            );
        }
    }
    if e.brow_lower > 0.3 {
        let a = ((e.brow_lower - 0.3) / 0.7).min(1.0);
        let paint = grey_alpha(id.skin * 0.5, a);
        cv.line((cx - 1.5, base - 4.0), (cx - 1.0, base + 1.0), &paint, 1.2);
        cv.line((cx + 1.5, base - 4.0), (cx + 1.0, base + 1.0), &paint, 1.2);
    }
}

fn draw_nose(cv: &mut Canvas, id: &Identity, e: &Expression, cx: f32, dark: f32) {
    let top = id.eye_y + 2.0;
    let tip_y = id.eye_y + id.nose_len - 1.2 * e.nose_wrinkle;
    let flare = id.nose_w * (1.0 + 0.3 * e.nose_wrinkle);
    let shade = grey_alpha(id.skin * 0.7, 0.9);
    cv.line((cx - 1.5, top), (cx - 2.0, tip_y - 2.0), &shade, 1.0);
    cv.curve(
        (cx - flare, tip_y),
        (cx, tip_y + 2.5),
        (cx + flare, tip_y),
        &grey_alpha(dark, 0.9),
        1.4,
    );
    cv.oval(cx - flare * 0.45, tip_y + 0.5, 1.3, 0.9, &grey(dark));
    cv.oval(cx + flare * 0.45, tip_y + 0.5, 1.3, 0.9, &grey(dark));
    if e.nose_wrinkle > 0.15 {
        let a = ((e.nose_wrinkle - 0.15) / 0.85).min(1.0);
        let paint = grey_alpha(id.skin * 0.45, a);
        for k in 0..3 {
            let y = top + 1.0 + 2.2 * k as f32;
            cv.curve(
                (cx - 4.0, y + 0.8),
                (cx, y),
                (cx + 4.0, y + 0.8),
                &paint,
                1.0,
            );
        }
    }
}

fn draw_mouth(cv: &mut Canvas, id: &Identity, e: &Expression, cx: f32, dark: f32) {
    let my = id.mouth_y;
    let half_w = id.mouth_w
        * (1.0 + 0.35 * e.mouth_stretch + 0.15 * e.corner.max(0.0))
        * (1.0 - 0.15 * e.lip_press);
    let corner_y = my - 5.5 * e.corner;
    let upper_y = my - 3.0 * e.upper_lip - 1.5 * e.mouth_open;
    let opening = 13.0 * e.mouth_open + 2.0 * e.upper_lip;
    let lip_w = id.lip * (1.0 - 0.7 * e.lip_press);
    let lip = grey((id.skin * 0.6).min(0.5));
    let l = (cx - half_w, corner_y);
    let r = (cx + half_w, corner_y);
    if opening > 1.2 {
        // Rounded mouths (negative stretch) open into an O.
        let lower_y = my + opening - 2.0 * e.corner.max(0.0);
        let mut pb = PathBuilder::new();
        pb.move_to(l.0, l.1);
        let cu = control_through(l, (cx, upper_y), r);
        pb.quad_to(cu.0, cu.1, r.0, r.1);
        let cl = control_through(r, (cx, lower_y), l);
        pb.quad_to(cl.0, cl.1, l.0, l.1);
        pb.close();
        cv.fill(pb, &grey(dark * 0.5));
        // Teeth show under a raised lip or in a wide smile.
        let teeth = (e.upper_lip.max(e.corner) - 0.2).clamp(0.0, 1.0);
        if teeth > 0.0 {
            let band = (opening * 0.35).min(3.5);
            let mut pb = PathBuilder::new();
            let ti = (l.0 + 1.0, l.1);
            let to = (r.0 - 1.0, r.1);
            pb.move_to(ti.0, ti.1);
            let c1 = control_through(ti, (cx, upper_y + 0.5), to);
            pb.quad_to(c1.0, c1.1, to.0, to.1);
            let c2 = control_through(to, (cx, upper_y + band), ti);
            pb.quad_to(c2.0, c2.1, ti.0, ti.1);
            pb.close();
            cv.fill(pb, &grey_alpha(0.92, teeth.min(0.9) + 0.1));
        }
        cv.curve(l, (cx, upper_y), r, &lip, lip_w);
        cv.curve(l, (cx, lower_y), r, &lip, lip_w * 1.2);
    } else {
        let mid_y = my + 1.2 * e.corner.max(0.0) - 0.8 * e.upper_lip;
        cv.curve(l, (cx, mid_y), r, &lip, lip_w);
        cv.curve(
            (l.0 + 2.0, l.1 + lip_w * 0.8),
            (cx, mid_y + lip_w * 1.3),
            (r.0 - 2.0, r.1 + lip_w * 0.8),
            &grey_alpha(id.skin * 0.75, 0.8),
            lip_w * 0.9,
        );
    }
}

/// Reads the grey channel, adds the lighting gradient and pixel noise.
fn finish(pixmap: &Pixmap, size: usize, shot: &Shot, noise: f32, rng: &mut impl Rng) -> Vec<f32> {
    let (dx, dy) = (shot.light_dir.cos(), shot.light_dir.sin());
    let normal = Normal::new(0.0f32, noise.max(1e-6)).expect("valid sigma");
    let mut out = Vec::with_capacity(size * size);
    for (i, px) in pixmap.pixels().iter().enumerate() {
        let x = (i % size) as f32 / size as f32 - 0.5;
        let y = (i / size) as f32 / size as f32 - 0.5;
        let v = px.red() as f32 / 255.0;
        let lit = v * (1.0 + shot.light * (dx * x + dy * y) * 2.0);
        let n = if noise > 0.0 { normal.sample(rng) } else { 0.0 };
        out.push((lit + n).clamp(0.0, 1.0));
    }
    out
}
