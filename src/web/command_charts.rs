//! Server-rendered SVG charts for the wall: no script, no CDN, readable on a closed network.
//! Colours are SVG attributes (the Content-Security-Policy forbids inline styles).
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Horizontal stacked bar of the three grades with their counts.
pub fn grades(green: i64, yellow: i64, red: i64) -> String {
    let total = (green + yellow + red).max(1) as f64;
    let mut x = 0.0;
    let mut out = String::from(
        r#"<svg viewBox="0 0 600 70" class="chart" role="img" aria-label="房屋分级">"#,
    );
    for (n, colour, label) in [
        (green, "#2fbf71", "绿"),
        (yellow, "#f2c230", "黄"),
        (red, "#e5484d", "红"),
    ] {
        let w = n as f64 / total * 600.0;
        out += &format!(r##"<rect x="{x:.1}" y="0" width="{w:.1}" height="40" fill="{colour}"/>"##);
        if w > 110.0 {
            out += &format!(
                r##"<text x="{:.1}" y="28" font-size="22" fill="#0b1020" text-anchor="middle">{label} {n}</text>"##,
                x + w / 2.0
            );
        }
        x += w;
    }
    out += &format!(
        r##"<text x="0" y="64" font-size="16" fill="#9fb3d1">绿 {green} · 黄 {yellow} · 红 {red}</text></svg>"##
    );
    out
}

/// One bar group per village: two series side by side (e.g. open and overdue hazards).
pub fn village_bars(rows: &[(String, i64, i64)], a: (&str, &str), b: (&str, &str)) -> String {
    let max = rows.iter().map(|r| r.1.max(r.2)).max().unwrap_or(0).max(1) as f64;
    let h = 34 * rows.len().max(1) + 30;
    let mut out = format!(r#"<svg viewBox="0 0 600 {h}" class="chart" role="img">"#);
    for (i, (name, x, y)) in rows.iter().enumerate() {
        let top = 30 + i * 34;
        let wx = *x as f64 / max * 400.0;
        let wy = *y as f64 / max * 400.0;
        out += &format!(
            r##"<text x="0" y="{}" font-size="18" fill="#dbe7ff">{}</text><rect x="130" y="{top}" width="{wx:.1}" height="13" fill="{}"/><text x="{:.1}" y="{}" font-size="13" fill="#dbe7ff">{x}</text><rect x="130" y="{}" width="{wy:.1}" height="13" fill="{}"/><text x="{:.1}" y="{}" font-size="13" fill="#dbe7ff">{y}</text>"##,
            top + 20,
            esc(name),
            a.1,
            136.0 + wx,
            top + 11,
            top + 14,
            b.1,
            136.0 + wy,
            top + 25
        );
    }
    out += &format!(
        r##"<rect x="130" y="4" width="14" height="14" fill="{}"/><text x="150" y="16" font-size="14" fill="#9fb3d1">{}</text><rect x="260" y="4" width="14" height="14" fill="{}"/><text x="280" y="16" font-size="14" fill="#9fb3d1">{}</text></svg>"##,
        a.1, a.0, b.1, b.0
    );
    out
}

/// Weekly lines of two series (check-ins and check-outs) over the given week labels.
pub fn weekly_lines(weeks: &[String], a: &[i64], b: &[i64]) -> String {
    let max = a.iter().chain(b).copied().max().unwrap_or(0).max(1) as f64;
    let n = weeks.len().max(2) as f64 - 1.0;
    let pt = |i: usize, v: i64| (40.0 + i as f64 / n * 540.0, 200.0 - v as f64 / max * 170.0);
    let line = |s: &[i64]| {
        s.iter()
            .enumerate()
            .map(|(i, v)| {
                let (x, y) = pt(i, *v);
                format!("{x:.1},{y:.1}")
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut out = String::from(
        r#"<svg viewBox="0 0 600 240" class="chart" role="img" aria-label="每周入住退租">"#,
    );
    out += r##"<line x1="40" y1="200" x2="580" y2="200" stroke="#3a4a6b"/>"##;
    out += &format!(
        r##"<polyline points="{}" fill="none" stroke="#4ea1ff" stroke-width="3"/>"##,
        line(a)
    );
    out += &format!(
        r##"<polyline points="{}" fill="none" stroke="#f2c230" stroke-width="3"/>"##,
        line(b)
    );
    for (i, w) in weeks.iter().enumerate() {
        if i % 2 == 1 || i + 1 == weeks.len() {
            let (x, _) = pt(i, 0);
            out += &format!(
                r##"<text x="{x:.1}" y="222" font-size="12" fill="#9fb3d1" text-anchor="middle">{}</text>"##,
                esc(w.split('-').nth(1).unwrap_or(w))
            );
        }
    }
    out += &format!(
        r##"<text x="40" y="16" font-size="14" fill="#4ea1ff">入住 {}</text><text x="160" y="16" font-size="14" fill="#f2c230">退租 {}</text><text x="0" y="36" font-size="12" fill="#9fb3d1">{}</text></svg>"##,
        a.iter().sum::<i64>(),
        b.iter().sum::<i64>(),
        max as i64
    );
    out
}
