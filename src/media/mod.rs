//! Photo intake: detect the format from the bytes, decode within limits, turn upright, re-encode without EXIF.
use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};
use sha2::{Digest, Sha256};

pub mod budget;

pub const MAX_UPLOAD_BYTES: usize = 10 * 1024 * 1024;
/// Larger sides than this are refused before decoding, so a small file cannot claim a huge canvas.
pub const MAX_SIDE: u32 = 12_000;
/// At most this many pixels per photo (a 48-megapixel phone camera's 8000×6000), read from the
/// header before decoding: a 182 KB all-black PNG may claim 64 megapixels.
pub const MAX_PIXELS: u64 = 48_000_000;
/// What one decode may allocate: the largest photo above at 4 bytes a pixel, plus slack.
pub const MAX_DECODE_BYTES: u64 = MAX_PIXELS * 4 + 16 * 1024 * 1024;
/// Stored photos are scaled down to this longest side; a phone photo stays legible and small.
pub const STORED_SIDE: u32 = 2048;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PhotoError {
    #[error("文件为空")]
    Empty,
    #[error("文件不能超过 10 MB")]
    TooLarge,
    #[error("只接受 JPEG、PNG 或 WebP 图片")]
    NotAnImage,
    #[error("图片像素过多（不超过 4800 万像素，最长边不超过 {MAX_SIDE} 像素），请压缩后再上传")]
    TooManyPixels,
    #[error("图片已损坏，无法读取")]
    Corrupt,
    #[error("图片处理失败")]
    Encode,
}

/// A photo ready to store: JPEG bytes with no metadata, their hash and size.
#[derive(Debug, Clone)]
pub struct Photo {
    pub jpeg: Vec<u8>,
    pub sha256: String,
    pub width: u32,
    pub height: u32,
}

pub fn detect(bytes: &[u8]) -> Result<ImageFormat, PhotoError> {
    match image::guess_format(bytes) {
        Ok(f @ (ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::WebP)) => Ok(f),
        _ => Err(PhotoError::NotAnImage),
    }
}

/// What a photo's header says, before any pixel is decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Probe {
    pub width: u32,
    pub height: u32,
    /// The size of the decoded pixels, which is what decoding costs in memory.
    pub decoded_bytes: u64,
}

fn decoder(bytes: &[u8]) -> Result<impl ImageDecoder + '_, PhotoError> {
    if bytes.is_empty() {
        return Err(PhotoError::Empty);
    }
    if bytes.len() > MAX_UPLOAD_BYTES {
        return Err(PhotoError::TooLarge);
    }
    let format = detect(bytes)?;
    let mut reader = ImageReader::new(Cursor::new(bytes));
    reader.set_format(format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    reader.limits(limits);
    let decoder = reader.into_decoder().map_err(classify)?;
    let (w, h) = decoder.dimensions();
    if w == 0
        || h == 0
        || w > MAX_SIDE
        || h > MAX_SIDE
        || u64::from(w) * u64::from(h) > MAX_PIXELS
        || decoder.total_bytes() > MAX_DECODE_BYTES
    {
        return Err(PhotoError::TooManyPixels);
    }
    Ok(decoder)
}

/// Reads the header only: refuses what is not a photo or is too big to decode, and says what
/// decoding will cost, so the caller can wait for that much of the decode budget.
pub fn probe(bytes: &[u8]) -> Result<Probe, PhotoError> {
    let d = decoder(bytes)?;
    let (width, height) = d.dimensions();
    Ok(Probe {
        width,
        height,
        decoded_bytes: d.total_bytes(),
    })
}

/// Decodes and re-encodes an uploaded photo. The client's file name and content type are ignored.
/// Peak memory is the decoded pixels plus the small stored copy: the downscale writes straight
/// into the small image, and turning upright happens after it.
pub fn intake(bytes: &[u8]) -> Result<Photo, PhotoError> {
    let mut decoder = decoder(bytes)?;
    let orientation = decoder.orientation().ok();
    let mut img = DynamicImage::from_decoder(decoder).map_err(classify)?;
    if img.width() > STORED_SIDE || img.height() > STORED_SIDE {
        img = img.thumbnail(STORED_SIDE, STORED_SIDE);
    }
    if let Some(o) = orientation {
        img.apply_orientation(o);
    }
    let rgb = DynamicImage::ImageRgb8(img.to_rgb8());
    let mut out = Vec::new();
    let enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 82);
    rgb.write_with_encoder(enc)
        .map_err(|_| PhotoError::Encode)?;
    let sha256 = hex::encode(Sha256::digest(&out));
    Ok(Photo {
        width: rgb.width(),
        height: rgb.height(),
        jpeg: out,
        sha256,
    })
}

fn classify(e: image::ImageError) -> PhotoError {
    match e {
        image::ImageError::Limits(_) => PhotoError::TooManyPixels,
        image::ImageError::Unsupported(_) => PhotoError::NotAnImage,
        _ => PhotoError::Corrupt,
    }
}

/// Where a stored photo lives under the uploads directory: fanned out by the first two hex digits.
pub fn relative_path(sha256: &str) -> String {
    format!("{}/{}.jpg", sha256.get(..2).unwrap_or("00"), sha256)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbImage::from_pixel(w, h, image::Rgb([10, 120, 200]));
        let mut out = Vec::new();
        DynamicImage::ImageRgb8(img)
            .write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
            .unwrap();
        out
    }

    #[test]
    fn a_small_png_becomes_a_jpeg() {
        let p = intake(&png(40, 30)).unwrap();
        assert_eq!((p.width, p.height), (40, 30));
        assert_eq!(&p.jpeg[..2], &[0xFF, 0xD8]);
    }

    /// A JPEG whose EXIF says "rotate 90° clockwise to view", as phones write portrait photos.
    fn sideways_jpeg(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbImage::from_pixel(w, h, image::Rgb([90, 90, 90]));
        let mut jpeg = Vec::new();
        DynamicImage::ImageRgb8(img)
            .write_to(&mut Cursor::new(&mut jpeg), ImageFormat::Jpeg)
            .unwrap();
        // Exif header, big-endian TIFF, one IFD entry: Orientation (0x0112), SHORT, 1, value 6.
        let mut payload = b"Exif\0\0MM\0*\0\0\0\x08".to_vec();
        payload.extend_from_slice(&[0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0]);
        let mut out = vec![0xFF, 0xD8, 0xFF, 0xE1];
        out.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
        out.extend_from_slice(&payload);
        out.extend_from_slice(&jpeg[2..]);
        out
    }

    #[test]
    fn a_sideways_phone_photo_is_stored_upright_without_its_exif() {
        let p = intake(&sideways_jpeg(40, 20)).unwrap();
        assert_eq!(
            (p.width, p.height),
            (20, 40),
            "turned by its orientation tag"
        );
        assert!(!p.jpeg.windows(4).any(|w| w == b"Exif"));
    }

    #[test]
    fn text_is_not_an_image() {
        assert_eq!(
            intake(b"hello, this is not a picture").unwrap_err(),
            PhotoError::NotAnImage
        );
    }

    /// An all-black PNG: a few hundred kilobytes on the wire, `w`×`h` pixels once decoded.
    fn black_png(w: u32, h: u32) -> Vec<u8> {
        let img = image::GrayImage::new(w, h);
        let mut out = Vec::new();
        DynamicImage::ImageLuma8(img)
            .write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
            .unwrap();
        out
    }

    #[test]
    fn a_64_megapixel_png_is_refused_from_its_header() {
        let bytes = black_png(8000, 8000);
        assert!(bytes.len() < MAX_UPLOAD_BYTES);
        assert_eq!(probe(&bytes).unwrap_err(), PhotoError::TooManyPixels);
        assert_eq!(intake(&bytes).unwrap_err(), PhotoError::TooManyPixels);
        assert!(PhotoError::TooManyPixels.to_string().contains("像素过多"));
    }

    #[test]
    fn the_probe_states_the_decoded_size() {
        let p = probe(&png(40, 30)).unwrap();
        assert_eq!((p.width, p.height, p.decoded_bytes), (40, 30, 40 * 30 * 3));
    }

    #[test]
    fn a_large_photo_within_the_budget_is_scaled_down() {
        let p = intake(&black_png(4000, 3000)).unwrap();
        assert_eq!((p.width, p.height), (2048, 1536));
    }

    #[test]
    fn a_png_claiming_20000_pixels_is_refused_before_decoding() {
        let mut bytes = png(1, 1);
        // IHDR width and height live at bytes 16..24; the CRC is not checked before the limits.
        bytes[16..20].copy_from_slice(&20000u32.to_be_bytes());
        bytes[20..24].copy_from_slice(&20000u32.to_be_bytes());
        let err = intake(&bytes).unwrap_err();
        assert!(
            matches!(err, PhotoError::TooManyPixels | PhotoError::Corrupt),
            "{err:?}"
        );
    }
}
