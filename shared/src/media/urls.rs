//! The public URLs of media files, built and read in one place: `SOKU_PUBLIC_URL/media/<token>` (a rendered
//! template's with `.png`), its thumbnail `…/<token>/thumbnail.jpg` and its platform-safe rendition
//! `…/<token>/h264.mp4`. The API hands them out and resolves them in posts; the publish job gives them to the
//! platforms.

use crate::store::media::MediaRow;

use super::rendition;

fn base(public_url: &str) -> &str {
    public_url.trim_end_matches('/')
}

/// The public URL of a media file. It never changes: a URL handed out while the file was processing stays
/// the URL of the finished file. A rendered template's ends in `.png` (its type is known from the start); the
/// file route takes any token with or without an extension.
pub fn file_url(public_url: &str, row: &MediaRow) -> String {
    let ext = if row.template_slug.is_some() {
        ".png"
    } else {
        ""
    };
    format!("{}/media/{}{ext}", base(public_url), row.token)
}

/// The URL of one of a media's derived files (`thumbnail.jpg`, `h264.mp4`).
pub fn derived_url(public_url: &str, row: &MediaRow, name: &str) -> String {
    format!("{}/media/{}/{name}", base(public_url), row.token)
}

/// The token of a URL of this server's media files (`public_url/media/<token>[.ext]`), if it is one.
pub fn own_token<'a>(public_url: &str, url: &'a str) -> Option<&'a str> {
    let rest = url
        .strip_prefix(base(public_url))?
        .strip_prefix("/media/")?;
    let token = rest.split(['.', '?', '#']).next()?;
    (!token.is_empty() && !token.contains('/')).then_some(token)
}

/// The token of any media file URL (`…/media/<token>[.ext]`), whatever its base.
pub fn token_in(url: &str) -> Option<&str> {
    let rest = &url[url.rfind("/media/")? + "/media/".len()..];
    let token = rest.split(['.', '/', '?', '#']).next()?;
    (!token.is_empty()).then_some(token)
}

/// The rendition's URL of the media file at `url` (`…/media/<token>[.ext]` → `…/media/<token>/h264.mp4`).
pub fn rendition_of(url: &str) -> String {
    let cut = url.rfind("/media/").map_or(url.len(), |at| {
        let rest = &url[at + "/media/".len()..];
        at + "/media/".len() + rest.find(['.', '/', '?', '#']).unwrap_or(rest.len())
    });
    format!("{}/{}", &url[..cut], rendition::FILE_NAME)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_read_back_as_they_are_built() {
        let public = "https://soku.example/";
        assert_eq!(
            own_token(public, "https://soku.example/media/abc"),
            Some("abc")
        );
        assert_eq!(
            own_token(public, "https://soku.example/media/abc.png"),
            Some("abc")
        );
        assert_eq!(
            own_token(public, "https://soku.example/media/abc/thumbnail.jpg"),
            None
        );
        assert_eq!(own_token(public, "https://other.example/media/abc"), None);
        assert_eq!(
            token_in("https://other.example/media/abc.png?x=1"),
            Some("abc")
        );
        assert_eq!(token_in("https://other.example/files/abc"), None);
        assert_eq!(
            rendition_of("https://soku.example/media/abc.png"),
            "https://soku.example/media/abc/h264.mp4"
        );
    }
}
