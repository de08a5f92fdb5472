//! A drawn page written out as PDF bytes, compressed; every document type ends here.
use printpdf::{Mm, PdfDocument, PdfPage, PdfSaveOptions};

use super::canvas::{Canvas, PAGE_H, PAGE_W};
use super::certificate::DocumentError;

/// One A4 page of what `drawn` holds as PDF bytes; every document type ends here.
pub(super) fn save(mut doc: PdfDocument, drawn: Canvas) -> Result<Vec<u8>, DocumentError> {
    for (id, x) in drawn.xobjects {
        doc.resources.xobjects.map.insert(id, x);
    }
    let page = PdfPage::new(Mm(PAGE_W), Mm(PAGE_H), drawn.ops);
    // Defaults subset the font (streams are compressed below). `secure: false` writes
    // `Op::Unknown`, which only `Canvas::qr` makes (its `Do`), never from outside data.
    let options = PdfSaveOptions {
        secure: false,
        ..PdfSaveOptions::default()
    };
    let mut pdf = doc
        .with_pages(vec![page])
        .to_lopdf_document(&options, &mut Vec::new());
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

/// Deflates every stream that may be compressed, at zlib's default level: lopdf's own
/// `compress` uses the best, which costs a third more time for 0.1 % of the font's bytes.
fn compress_streams(pdf: &mut lopdf::Document) -> Result<(), DocumentError> {
    use std::io::Write;
    for object in pdf.objects.values_mut() {
        let lopdf::Object::Stream(stream) = object else {
            continue;
        };
        if !stream.allows_compression || stream.dict.has(b"Filter") {
            continue;
        }
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(&stream.content)?;
        let packed = z.finish()?;
        if packed.len() < stream.content.len() {
            stream.dict.set("Filter", "FlateDecode");
            stream.set_content(packed);
        }
    }
    Ok(())
}
