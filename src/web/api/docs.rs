//! Swagger UI at `/api/v1/docs`, from vendored `swagger-ui-dist` files (the town's network has no
//! CDN). The start-up script is a file of its own because the CSP forbids inline scripts.
use rocket::http::{ContentType, Header};
use rocket::{Responder, get};

/// Bumped with the vendored files, so browsers may keep them for a year.
const VERSION: &str = "5.35.0-1";

/// Paths under this prefix keep their own cache header (see `SecurityHeaders`).
pub const ASSET_PREFIX: &str = "/api/v1/docs/";

#[get("/docs")]
pub fn page() -> (ContentType, String) {
    (
        ContentType::HTML,
        format!(
            r#"<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>安居 API 文档</title>
<link rel="stylesheet" href="{ASSET_PREFIX}swagger-ui.css?v={VERSION}">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{ASSET_PREFIX}swagger-ui-bundle.js?v={VERSION}"></script>
<script src="{ASSET_PREFIX}init.js?v={VERSION}"></script>
</body>
</html>
"#
        ),
    )
}

#[derive(Responder)]
pub struct Asset {
    body: &'static [u8],
    content_type: ContentType,
    cache: Header<'static>,
}

#[get("/docs/<file>")]
pub fn asset(file: &str) -> Option<Asset> {
    let (body, content_type): (&'static [u8], ContentType) = match file {
        "swagger-ui-bundle.js" => (
            include_bytes!("../../../templates/assets/swagger/swagger-ui-bundle.js"),
            ContentType::JavaScript,
        ),
        "swagger-ui.css" => (
            include_bytes!("../../../templates/assets/swagger/swagger-ui.css"),
            ContentType::CSS,
        ),
        "init.js" => (
            include_bytes!("../../../templates/assets/swagger/init.js"),
            ContentType::JavaScript,
        ),
        "LICENSE" => (
            include_bytes!("../../../templates/assets/swagger/LICENSE"),
            ContentType::Plain,
        ),
        _ => return None,
    };
    Some(Asset {
        body,
        content_type,
        cache: Header::new("Cache-Control", "public, max-age=31536000, immutable"),
    })
}
