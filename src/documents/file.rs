//! A drawn page written out as PDF bytes, compressed; every document type ends here.
use std::cell::RefCell;

use flate2::{Compress, Compression, FlushCompress, Status};
use printpdf::{
    FontEmbeddingMode, Mm, ParsedFont, PdfDocument, PdfFont, PdfPage, PdfSaveOptions,
    PrintpdfFontMeta,
};

use super::canvas::{Canvas, PAGE_H, PAGE_W};
use super::certificate::{CertificateRenderer, DocumentError};

/// One A4 page of what `drawn` holds as PDF bytes, with the subset of `r`'s font it draws
/// embedded whole; every document type ends here.
pub(super) fn save(
    mut doc: PdfDocument,
    drawn: Canvas,
    r: &CertificateRenderer,
) -> Result<Vec<u8>, DocumentError> {
    let subset = r.font.subset_and_metrics(drawn.used.iter().copied());
    // printpdf is given the outline-free twin; the outlines go in after it (`embed_program`).
    let mut font = ParsedFont::from_bytes(&subset.metrics, 0, &mut Vec::new())
        .ok_or(DocumentError::FontLoad)?;
    // printpdf tags only the subsets it makes itself; this one is as much a subset.
    let tag = super::subset::subset_tag(drawn.used.iter().copied());
    font.font_name = font.font_name.take().map(|name| format!("{tag}+{name}"));
    // Already a subset: printpdf embeds it as it is rather than subsetting it again.
    let meta = PrintpdfFontMeta {
        embedding_mode: FontEmbeddingMode::Full,
        requires_subsetting: false,
        ..PrintpdfFontMeta::default()
    };
    doc.resources
        .fonts
        .map
        .insert(drawn.font.clone(), PdfFont::with_meta(font, meta));
    for (id, x) in drawn.xobjects {
        doc.resources.xobjects.map.insert(id, x);
    }
    let page = PdfPage::new(Mm(PAGE_W), Mm(PAGE_H), drawn.ops);
    // Streams are compressed below. `secure: false` writes
    // `Op::Unknown`, which only `Canvas::qr` makes (its `Do`), never from outside data.
    let options = PdfSaveOptions {
        secure: false,
        ..PdfSaveOptions::default()
    };
    let mut pdf = doc
        .with_pages(vec![page])
        .to_lopdf_document(&options, &mut Vec::new());
    embed_program(&mut pdf, subset.program)?;
    compress_streams(&mut pdf)?;
    // PDF 1.5 object and cross-reference streams: the dictionaries (the font's width array
    // above all) and the xref are compressed too, about a kilobyte of each certificate.
    let streams = lopdf::SaveOptions::builder()
        .use_object_streams(true)
        .use_xref_streams(true)
        .compression_level(9)
        .build();
    let mut out = Vec::new();
    pdf.save_with_options(&mut out, streams)?;
    Ok(out)
}

/// Replaces the font program printpdf embedded (the outline-free twin it was given) with
/// `program`, the same glyphs with their outlines.
fn embed_program(pdf: &mut lopdf::Document, program: Vec<u8>) -> Result<(), DocumentError> {
    let embedded = pdf.objects.values().find_map(|object| {
        let descriptor = object.as_dict().ok()?;
        let kind = descriptor
            .get(b"Type")
            .and_then(lopdf::Object::as_name)
            .ok()?;
        let file = descriptor
            .get(b"FontFile2")
            .and_then(lopdf::Object::as_reference);
        (kind == b"FontDescriptor").then_some(file.ok()?)
    });
    let stream = embedded.and_then(|id| match pdf.objects.get_mut(&id) {
        Some(lopdf::Object::Stream(stream)) => Some(stream),
        _ => None,
    });
    let stream = stream.ok_or(DocumentError::FontLoad)?;
    stream
        .dict
        .set("Length1", i64::try_from(program.len()).unwrap_or(i64::MAX));
    stream.set_content(program);
    Ok(())
}

/// Deflates every stream that may be compressed, at zlib's default level: lopdf's own
/// `compress` uses the best, which costs a third more time for 0.1 % of the font's bytes.
/// One deflater per thread serves every stream of every document: setting one up clears
/// some 300 KB of tables, which took a tenth of a certificate's instructions five times over.
fn compress_streams(pdf: &mut lopdf::Document) -> Result<(), DocumentError> {
    thread_local! {
        static DEFLATER: RefCell<Compress> = RefCell::new(Compress::new(Compression::default(), true));
    }
    DEFLATER.with_borrow_mut(|z| {
        for object in pdf.objects.values_mut() {
            let lopdf::Object::Stream(stream) = object else {
                continue;
            };
            if !stream.allows_compression || stream.dict.has(b"Filter") {
                continue;
            }
            let packed = deflate(z, &stream.content)?;
            if packed.len() < stream.content.len() {
                stream.dict.set("Filter", "FlateDecode");
                stream.set_content(packed);
            }
        }
        Ok(())
    })
}

/// `data` as one zlib stream; `z` is reset first, so an earlier failure leaves nothing behind.
fn deflate(z: &mut Compress, data: &[u8]) -> Result<Vec<u8>, DocumentError> {
    z.reset();
    let mut out = Vec::with_capacity(data.len() / 2 + 64);
    loop {
        let read = usize::try_from(z.total_in()).unwrap_or(usize::MAX);
        let rest = data.get(read..).unwrap_or_default();
        match z.compress_vec(rest, &mut out, FlushCompress::Finish) {
            Ok(Status::StreamEnd) => return Ok(out),
            Ok(_) => out.reserve(out.capacity().max(256)),
            Err(e) => return Err(DocumentError::Write(std::io::Error::other(e))),
        }
    }
}
