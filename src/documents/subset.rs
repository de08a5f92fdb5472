//! The embedded face read directly (characters to glyphs, advances) and cut down to the
//! characters one document draws.
//!
//! printpdf subsets through allsorts, which reads all 49 531 glyph records and every cmap
//! mapping of the CJK face on each render (43 % of a certificate's instructions under
//! callgrind), and its cmap lookup walks the segments one by one. The face's tables are
//! located once at start ([`FontSource::parse`]); lookups are binary searches, and a render
//! copies the hundred-odd glyphs it draws into a small font with a fresh cmap, which printpdf
//! embeds whole (given an outline-free twin to read the advances from, see `file::save`).

use std::collections::BTreeMap;

/// The tables a subset copies or rebuilds, located once in the face's bytes.
pub struct FontSource {
    head: &'static [u8],
    hhea: &'static [u8],
    maxp: &'static [u8],
    hmtx: &'static [u8],
    glyf: &'static [u8],
    os2: Option<&'static [u8]>,
    name: Option<&'static [u8]>,
    post: Option<&'static [u8]>,
    /// The Windows full-repertoire (3, 10) format 12 subtable's groups: first character,
    /// last character, glyph of the first.
    groups: Vec<(u32, u32, u32)>,
    pub units_per_em: u16,
    /// Start of each glyph in `glyf`, with one more entry for the end of the last.
    loca: Vec<u32>,
    h_metrics: usize,
}

const COMPOSITE_MORE: u16 = 0x0020;
const COMPOSITE_WORDS: u16 = 0x0001;
const COMPOSITE_SCALE: u16 = 0x0008;
const COMPOSITE_XY_SCALE: u16 = 0x0040;
const COMPOSITE_2X2: u16 = 0x0080;

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

impl FontSource {
    /// Locates the tables of a single-face TrueType (glyf) font; `None` for anything else.
    pub fn parse(bytes: &'static [u8]) -> Option<Self> {
        let count = usize::from(u16_at(bytes, 4)?);
        let mut tables = BTreeMap::new();
        for i in 0..count {
            let rec = 12 + 16 * i;
            let tag = bytes.get(rec..rec + 4)?;
            let (offset, len) = (u32_at(bytes, rec + 8)?, u32_at(bytes, rec + 12)?);
            let (offset, len) = (usize::try_from(offset).ok()?, usize::try_from(len).ok()?);
            tables.insert(tag, bytes.get(offset..offset.checked_add(len)?)?);
        }
        let table = |tag: &[u8]| tables.get(tag).copied();
        let (head, maxp, hhea) = (table(b"head")?, table(b"maxp")?, table(b"hhea")?);
        let glyphs = usize::from(u16_at(maxp, 4)?);
        let raw_loca = table(b"loca")?;
        let loca = match u16_at(head, 50)? {
            0 => (0..=glyphs)
                .map(|g| u16_at(raw_loca, 2 * g).map(|o| u32::from(o) * 2))
                .collect::<Option<Vec<_>>>()?,
            _ => (0..=glyphs)
                .map(|g| u32_at(raw_loca, 4 * g))
                .collect::<Option<Vec<_>>>()?,
        };
        let source = Self {
            groups: cmap_groups(table(b"cmap")?)?,
            units_per_em: u16_at(head, 18)?,
            head,
            hhea,
            maxp,
            hmtx: table(b"hmtx")?,
            glyf: table(b"glyf")?,
            os2: table(b"OS/2"),
            name: table(b"name"),
            post: table(b"post"),
            h_metrics: usize::from(u16_at(hhea, 34)?).max(1),
            loca,
        };
        // Every glyph must lie inside `glyf` so that `outline` never fails later.
        let inside = source.loca.windows(2).all(|w| w[0] <= w[1])
            && source
                .loca
                .last()
                .is_some_and(|&end| end as usize <= source.glyf.len());
        inside.then_some(source)
    }

    /// The glyph the face draws `c` with; `None` where it has none (glyph 0 is "missing").
    pub fn glyph(&self, c: char) -> Option<u16> {
        let c = c as u32;
        let at = self.groups.partition_point(|&(_, end, _)| end < c);
        let &(start, _, first) = self.groups.get(at).filter(|g| g.0 <= c)?;
        u16::try_from(first + (c - start))
            .ok()
            .filter(|&g| g != 0 && usize::from(g) + 1 < self.loca.len())
    }

    /// Advance width of `gid` in font units.
    pub fn advance(&self, gid: u16) -> u16 {
        let [a0, a1, _, _] = self.h_metric(gid);
        u16::from_be_bytes([a0, a1])
    }

    fn outline(&self, gid: u16) -> &'static [u8] {
        let g = usize::from(gid);
        match (self.loca.get(g), self.loca.get(g + 1)) {
            (Some(&a), Some(&b)) => self.glyf.get(a as usize..b as usize).unwrap_or(&[]),
            _ => &[],
        }
    }

    /// Advance width and left side bearing of `gid`, as the face's `hmtx` gives them.
    fn h_metric(&self, gid: u16) -> [u8; 4] {
        let g = usize::from(gid);
        let long = g.min(self.h_metrics - 1) * 4;
        let advance = u16_at(self.hmtx, long).unwrap_or(0);
        let lsb = if g < self.h_metrics {
            u16_at(self.hmtx, long + 2)
        } else {
            u16_at(self.hmtx, self.h_metrics * 4 + 2 * (g - self.h_metrics))
        };
        let [a0, a1] = advance.to_be_bytes();
        let [l0, l1] = lsb.unwrap_or(0).to_be_bytes();
        [a0, a1, l0, l1]
    }

    /// The components of a composite glyph: each glyph index and where it sits in the outline.
    fn components(outline: &[u8]) -> Vec<(usize, u16)> {
        let mut found = Vec::new();
        if outline.len() < 10 || i16::from_be_bytes([outline[0], outline[1]]) >= 0 {
            return found;
        }
        let mut at = 10;
        while let (Some(flags), Some(gid)) = (u16_at(outline, at), u16_at(outline, at + 2)) {
            found.push((at + 2, gid));
            at += 4 + if flags & COMPOSITE_WORDS != 0 { 4 } else { 2 };
            at += match flags {
                f if f & COMPOSITE_SCALE != 0 => 2,
                f if f & COMPOSITE_XY_SCALE != 0 => 4,
                f if f & COMPOSITE_2X2 != 0 => 8,
                _ => 0,
            };
            if flags & COMPOSITE_MORE == 0 {
                break;
            }
        }
        found
    }

    /// The font program of [`FontSource::subset_and_metrics`] alone.
    #[cfg(test)]
    pub fn subset(&self, chars: impl IntoIterator<Item = char>) -> Vec<u8> {
        sfnt(&self.subset_tables(chars))
    }

    /// The subset font of `chars` (`.notdef`, the glyphs the face has for them and their
    /// components, a cmap for exactly those characters), and the same font with every outline
    /// left out (same glyphs, advances and cmap). printpdf decodes the outline of each glyph drawn only to read its
    /// advance, a fifth of a certificate's time; handed the second, it reads the advances alone.
    pub fn subset_and_metrics(&self, chars: impl IntoIterator<Item = char>) -> Subset {
        let mut tables = self.subset_tables(chars);
        let program = sfnt(&tables);
        for (tag, table) in &mut tables {
            match &*tag {
                b"glyf" => table.clear(),
                b"loca" => table.fill(0),
                _ => {}
            }
        }
        Subset {
            program,
            metrics: sfnt(&tables),
        }
    }

    fn subset_tables(&self, chars: impl IntoIterator<Item = char>) -> Vec<([u8; 4], Vec<u8>)> {
        let mapped: Vec<(char, u16)> = chars
            .into_iter()
            .filter_map(|c| Some((c, self.glyph(c)?)))
            .collect();
        let mut order: Vec<u16> = vec![0];
        let mut new_id: BTreeMap<u16, u16> = BTreeMap::from([(0, 0)]);
        let mut queue: Vec<u16> = mapped.iter().map(|&(_, g)| g).collect();
        queue.sort_unstable();
        queue.dedup();
        let mut next = 0;
        while next < queue.len() {
            let gid = queue[next];
            next += 1;
            if new_id.contains_key(&gid) || usize::from(gid) + 1 >= self.loca.len() {
                continue;
            }
            new_id.insert(gid, u16::try_from(order.len()).unwrap_or(u16::MAX));
            order.push(gid);
            queue.extend(
                Self::components(self.outline(gid))
                    .into_iter()
                    .map(|(_, g)| g),
            );
        }

        let (mut glyf, mut loca, mut hmtx) = (Vec::new(), Vec::new(), Vec::new());
        for &gid in &order {
            loca.extend_from_slice(&(glyf.len() as u32).to_be_bytes());
            let start = glyf.len();
            glyf.extend_from_slice(self.outline(gid));
            for (at, old) in Self::components(self.outline(gid)) {
                let renumbered = new_id.get(&old).copied().unwrap_or(0).to_be_bytes();
                put(&mut glyf[start..], at, &renumbered);
            }
            glyf.resize(glyf.len().next_multiple_of(4), 0);
            hmtx.extend_from_slice(&self.h_metric(gid));
        }
        loca.extend_from_slice(&(glyf.len() as u32).to_be_bytes());

        let count = (order.len() as u16).to_be_bytes();
        let mut head = self.head.to_vec();
        put(&mut head, 8, &[0; 4]);
        put(&mut head, 50, &1u16.to_be_bytes());
        let mut hhea = self.hhea.to_vec();
        put(&mut hhea, 34, &count);
        let mut maxp = self.maxp.to_vec();
        put(&mut maxp, 4, &count);
        let cmap_entries: Vec<(u32, u16)> = mapped
            .iter()
            .filter_map(|&(c, g)| Some((c as u32, *new_id.get(&g)?)))
            .collect();
        let mut tables: Vec<([u8; 4], Vec<u8>)> = vec![
            (*b"cmap", cmap(cmap_entries)),
            (*b"glyf", glyf),
            (*b"head", head),
            (*b"hhea", hhea),
            (*b"hmtx", hmtx),
            (*b"loca", loca),
            (*b"maxp", maxp),
        ];
        // The name table names the face in the PDF (pdffonts, a reader's font list).
        for (tag, table) in [(*b"OS/2", self.os2), (*b"name", self.name)] {
            if let Some(t) = table {
                tables.push((tag, t.to_vec()));
            }
        }
        // Version 3 carries no glyph names, which the renumbered glyphs would not match.
        let mut post = self.post.map_or_else(|| vec![0; 32], |p| p.to_vec());
        post.resize(32, 0);
        put(&mut post, 0, &0x0003_0000u32.to_be_bytes());
        tables.push((*b"post", post));
        tables.sort_by_key(|(tag, _)| *tag);
        tables
    }
}

/// A subset font program and its outline-free twin (see [`FontSource::subset_and_metrics`]).
pub struct Subset {
    pub program: Vec<u8>,
    pub metrics: Vec<u8>,
}

/// The groups of the (3, 10) format 12 subtable of `cmap`, in character order.
fn cmap_groups(cmap: &[u8]) -> Option<Vec<(u32, u32, u32)>> {
    let records = usize::from(u16_at(cmap, 2)?);
    let at = (0..records).find_map(|i| {
        let rec = 4 + 8 * i;
        let windows_full = u16_at(cmap, rec)? == 3 && u16_at(cmap, rec + 2)? == 10;
        windows_full.then(|| u32_at(cmap, rec + 4)).flatten()
    })?;
    let at = usize::try_from(at).ok()?;
    if u16_at(cmap, at)? != 12 {
        return None;
    }
    let count = usize::try_from(u32_at(cmap, at + 12)?).ok()?;
    let groups: Vec<(u32, u32, u32)> = (0..count)
        .map(|i| {
            let g = at + 16 + 12 * i;
            Some((u32_at(cmap, g)?, u32_at(cmap, g + 4)?, u32_at(cmap, g + 8)?))
        })
        .collect::<Option<_>>()?;
    groups.windows(2).all(|w| w[0].1 < w[1].0).then_some(groups)
}

/// The `XXXXXX+` tag ISO 32000-1 §9.6.4 puts before a subset font's name: six capitals
/// drawn from the characters it holds, so different subsets get different tags.
pub fn subset_tag(chars: impl IntoIterator<Item = char>) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for c in chars {
        h = (h ^ u64::from(u32::from(c))).wrapping_mul(0x0100_0000_01b3);
    }
    (0..6)
        .map(|i| char::from(b'A' + ((h >> (i * 8)) % 26) as u8))
        .collect()
}

/// Overwrites `b[at..]` with `v` where the table is long enough; a short table stays as it was.
fn put(b: &mut [u8], at: usize, v: &[u8]) {
    if let Some(dst) = b.get_mut(at..at + v.len()) {
        dst.copy_from_slice(v);
    }
}

/// A cmap with a format 4 subtable (Windows Unicode BMP), one segment per character, and a
/// format 12 subtable when a character lies beyond the BMP.
fn cmap(mut entries: Vec<(u32, u16)>) -> Vec<u8> {
    entries.sort_unstable();
    entries.dedup_by_key(|e| e.0);
    let bmp: Vec<(u16, u16)> = entries
        .iter()
        .filter_map(|&(c, g)| Some((u16::try_from(c).ok().filter(|&c| c != 0xFFFF)?, g)))
        .collect();
    let segs = bmp.len() + 1;
    let power = 1usize << segs.ilog2();
    let mut f4 = Vec::with_capacity(16 + 8 * segs);
    for v in [4, (16 + 8 * segs) as u16, 0, 2 * segs as u16] {
        f4.extend_from_slice(&v.to_be_bytes());
    }
    for v in [2 * power, power.ilog2() as usize, 2 * (segs - power)] {
        f4.extend_from_slice(&(v as u16).to_be_bytes());
    }
    let column = |f4: &mut Vec<u8>, each: &dyn Fn(u16, u16) -> u16, last: u16| {
        for &(c, g) in &bmp {
            f4.extend_from_slice(&each(c, g).to_be_bytes());
        }
        f4.extend_from_slice(&last.to_be_bytes());
    };
    column(&mut f4, &|c, _| c, 0xFFFF);
    f4.extend_from_slice(&[0, 0]);
    column(&mut f4, &|c, _| c, 0xFFFF);
    column(&mut f4, &|c, g| g.wrapping_sub(c), 1);
    column(&mut f4, &|_, _| 0, 0);

    let wide = entries.iter().any(|&(c, _)| c > 0xFFFF);
    let mut f12 = Vec::new();
    if wide {
        let len = 16 + 12 * entries.len() as u32;
        for v in [12u32 << 16, len, 0, entries.len() as u32] {
            f12.extend_from_slice(&v.to_be_bytes());
        }
        for &(c, g) in &entries {
            for v in [c, c, u32::from(g)] {
                f12.extend_from_slice(&v.to_be_bytes());
            }
        }
    }
    let records: u16 = if wide { 2 } else { 1 };
    let mut out = Vec::new();
    out.extend_from_slice(&0u16.to_be_bytes());
    out.extend_from_slice(&records.to_be_bytes());
    let first = 4 + 8 * u32::from(records);
    out.extend_from_slice(&[0, 3, 0, 1]);
    out.extend_from_slice(&first.to_be_bytes());
    if wide {
        out.extend_from_slice(&[0, 3, 0, 10]);
        out.extend_from_slice(&(first + f4.len() as u32).to_be_bytes());
    }
    out.extend(f4);
    out.extend(f12);
    out
}

fn checksum(b: &[u8]) -> u32 {
    b.chunks(4).fold(0u32, |sum, word| {
        let mut w = [0u8; 4];
        w[..word.len()].copy_from_slice(word);
        sum.wrapping_add(u32::from_be_bytes(w))
    })
}

/// An sfnt file of `tables` (sorted by tag), each padded to four bytes, with the head's
/// checksum adjustment set over the whole file.
fn sfnt(tables: &[([u8; 4], Vec<u8>)]) -> Vec<u8> {
    let n = tables.len();
    let power = 1usize << n.ilog2();
    let mut out = Vec::new();
    out.extend_from_slice(&0x0001_0000u32.to_be_bytes());
    for v in [n, 16 * power, power.ilog2() as usize, 16 * (n - power)] {
        out.extend_from_slice(&(v as u16).to_be_bytes());
    }
    let mut offset = 12 + 16 * n;
    let mut head_at = None;
    for (tag, data) in tables {
        out.extend_from_slice(tag);
        out.extend_from_slice(&checksum(data).to_be_bytes());
        out.extend_from_slice(&(offset as u32).to_be_bytes());
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        if tag == b"head" {
            head_at = Some(offset);
        }
        offset += data.len().next_multiple_of(4);
    }
    for (_, data) in tables {
        out.extend_from_slice(data);
        out.resize(out.len().next_multiple_of(4), 0);
    }
    if let Some(at) = head_at {
        let adjust = 0xB1B0_AFBAu32.wrapping_sub(checksum(&out));
        put(&mut out, at + 8, &adjust.to_be_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use printpdf::ParsedFont;

    use super::FontSource;
    use crate::documents::certificate::FONT_BYTES;

    const TEXT: &str = "居住出租房屋准入证 安居 AJ-330102-2026-000123 锦绣村 倪宅村 ·：（）㎡ 𠀀";

    fn faces() -> (FontSource, ParsedFont) {
        let source = FontSource::parse(FONT_BYTES).expect("the embedded face is TrueType");
        let whole = ParsedFont::from_bytes(FONT_BYTES, 0, &mut Vec::new()).expect("parses");
        (source, whole)
    }

    fn subset_of(source: &FontSource, text: &str) -> (Vec<u8>, ParsedFont) {
        let bytes = source.subset(text.chars());
        let font = ParsedFont::from_bytes(&bytes, 0, &mut Vec::new()).expect("the subset parses");
        (bytes, font)
    }

    #[test]
    fn lookups_agree_with_a_full_parse_of_the_face() {
        let (source, whole) = faces();
        let sample = TEXT.chars().chain(['\u{2A6A5}', '😀', '\0', 'A', 'z']);
        for c in sample.chain((0x4E00..0x4F00).filter_map(char::from_u32)) {
            let expected = whole.lookup_glyph_index(c as u32).filter(|&g| g != 0);
            assert_eq!(source.glyph(c), expected, "glyph of {c:?}");
            if let Some(g) = expected {
                assert_eq!(
                    source.advance(g),
                    whole.get_horizontal_advance(g),
                    "advance of {c}"
                );
            }
        }
        assert_eq!(source.units_per_em, whole.pdf_font_metrics.units_per_em);
    }

    #[test]
    fn a_subset_draws_every_character_as_the_whole_face_does() {
        let (source, whole) = faces();
        let (_, small) = subset_of(&source, TEXT);
        let mut composites = 0;
        for c in TEXT.chars().filter(|&c| source.glyph(c).is_some()) {
            let g = source.glyph(c).unwrap();
            let part = small
                .lookup_glyph_index(c as u32)
                .expect("mapped in the subset");
            let (a, b) = (
                whole.get_or_decode_glyph(g).unwrap(),
                small.get_or_decode_glyph(part).unwrap(),
            );
            assert_eq!(a.horz_advance, b.horz_advance, "advance of {c}");
            assert_eq!(a.outline, b.outline, "outline of {c}");
            composites += usize::from(a.raw_points.is_none() && !a.outline.is_empty());
        }
        assert!(
            composites > 0,
            "the sample holds composite glyphs, whose components are renumbered"
        );
    }

    #[test]
    fn the_outline_free_twin_has_the_same_glyphs_and_advances_and_no_outlines() {
        let (source, whole) = faces();
        let both = source.subset_and_metrics(TEXT.chars());
        assert_eq!(both.program, source.subset(TEXT.chars()));
        let (full, twin) = (
            ParsedFont::from_bytes(&both.program, 0, &mut Vec::new()).expect("parses"),
            ParsedFont::from_bytes(&both.metrics, 0, &mut Vec::new()).expect("the twin parses"),
        );
        assert!(
            both.metrics.len() < both.program.len(),
            "the twin leaves the outlines out"
        );
        for c in TEXT.chars().filter(|&c| source.glyph(c).is_some()) {
            let g = full.lookup_glyph_index(c as u32).expect("mapped");
            assert_eq!(twin.lookup_glyph_index(c as u32), Some(g), "glyph of {c}");
            let drawn = twin.get_or_decode_glyph(g).expect("decodes");
            assert_eq!(
                drawn.horz_advance,
                whole.get_horizontal_advance(source.glyph(c).unwrap()),
                "advance of {c}"
            );
            assert!(drawn.outline.is_empty(), "{c} has no outline in the twin");
        }
    }

    #[test]
    fn a_subset_holds_only_what_is_drawn_and_stays_small() {
        let (source, _) = faces();
        let (bytes, small) = subset_of(&source, "安居");
        assert!(small.lookup_glyph_index('证' as u32).is_none_or(|g| g == 0));
        assert!(
            bytes.len() < 4_000,
            "{} bytes for two characters",
            bytes.len()
        );
    }

    #[test]
    fn characters_the_face_lacks_are_left_out_and_an_empty_subset_still_parses() {
        let (source, _) = faces();
        let (_, small) = subset_of(&source, "\u{2A6A5}");
        assert!(small.lookup_glyph_index(0x2A6A5).is_none_or(|g| g == 0));
        subset_of(&source, "");
    }
}
