use serde_json::json;

use super::*;

fn preview_dir() -> std::path::PathBuf {
    let dir = std::env::var_os("SOKU_TEMPLATE_PREVIEW_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("soku-template-previews"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn save(slug: &str, case: &str, png: &[u8]) {
    std::fs::write(preview_dir().join(format!("{slug}-{case}.png")), png).unwrap();
}

#[test]
fn tweet_default() {
    let c = validate("tweetImage", &json!({"title": "Soku ships server-rendered share images today", "author": "Ada Lovelace", "handle": "ada"})).unwrap();
    let t = std::time::Instant::now();
    let r = render(&c, None).unwrap();
    eprintln!("render {:?}", t.elapsed());
    save("tweetImage", "default", &r.png);
}
