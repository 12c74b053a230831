//! Just enough `multipart/form-data` (RFC 7578) to read a Box upload: the
//! parts in the order they came, each with its name and bytes.

/// One part of a multipart body.
pub(crate) struct Part {
    /// The `name` of its `Content-Disposition: form-data`.
    pub name: String,
    pub body: Vec<u8>,
}

/// The parts of `body`, sent as `content_type`; `Err` says what is malformed.
pub(crate) fn parse(content_type: &str, body: &[u8]) -> Result<Vec<Part>, &'static str> {
    let (mime, params) = content_type.split_once(';').unwrap_or((content_type, ""));
    if !mime.trim().eq_ignore_ascii_case("multipart/form-data") {
        return Err("the body is not multipart/form-data");
    }
    let boundary = params
        .split(';')
        .filter_map(|param| param.split_once('='))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("boundary"))
        .map(|(_, value)| value.trim().trim_matches('"'))
        .filter(|boundary| !boundary.is_empty())
        .ok_or("the multipart Content-Type has no boundary")?;
    let delimiter = format!("--{boundary}").into_bytes();
    let mut rest = match find(body, &delimiter) {
        Some(at) => &body[at + delimiter.len()..],
        None => return Err("the body has no multipart boundary"),
    };
    let mut parts = Vec::new();
    loop {
        if rest.starts_with(b"--") {
            return Ok(parts);
        }
        rest = rest
            .strip_prefix(b"\r\n")
            .ok_or("a multipart boundary is not followed by CRLF")?;
        let headers_end = find(rest, b"\r\n\r\n").ok_or("a multipart part has no header end")?;
        let headers = String::from_utf8_lossy(&rest[..headers_end]).into_owned();
        rest = &rest[headers_end + 4..];
        let mut closing = b"\r\n".to_vec();
        closing.extend_from_slice(&delimiter);
        let body_end = find(rest, &closing).ok_or("a multipart part is not closed")?;
        let name = disposition_name(&headers).ok_or("a multipart part has no form-data name")?;
        parts.push(Part {
            name,
            body: rest[..body_end].to_vec(),
        });
        rest = &rest[body_end + closing.len()..];
    }
}

/// The `name` of a part's `Content-Disposition: form-data; …`.
fn disposition_name(headers: &str) -> Option<String> {
    let value = headers.split("\r\n").find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("content-disposition")
            .then(|| value.trim().to_owned())
    })?;
    value.split(';').skip(1).find_map(|param| {
        let (key, raw) = param.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case("name")
            .then(|| raw.trim().trim_matches('"').to_owned())
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}
