//! Hints for unknown fields: a field that is a near-miss of a known one ("did you mean `scheduledTime`?"), or a
//! known field put at the wrong level of the body ("`text` belongs in `post.content`").

/// The fields each object level knows, with where they belong (for hints about a field put at the wrong level).
pub(super) const LEVELS: [(&str, &[&str], &str); 4] = [
    (
        "",
        &["post", "scheduledTime", "sandbox"],
        "at the top level of the body",
    ),
    ("post", &["content"], "in `post`"),
    (
        "post.content",
        &[
            "text",
            "mediaType",
            "imageUrls",
            "videoUrl",
            "platform",
            "title",
        ],
        "in `post.content`",
    ),
    (
        "entry",
        &["platform", "accountId"],
        "in an object entry of `post.content.platform`",
    ),
];

/// "unknown field", with a hint when `key` is close to a field of this level, or is (close to) one that belongs
/// at another level.
pub(super) fn unknown_field_message(key: &str, known: &[&str]) -> String {
    if let Some(name) = closest(key, known.iter().copied()) {
        return format!("unknown field; did you mean `{name}`?");
    }
    let elsewhere = LEVELS
        .iter()
        .flat_map(|(_, names, place)| names.iter().map(move |n| (*n, *place)));
    let elsewhere: Vec<(&str, &str)> = elsewhere.filter(|(n, _)| !known.contains(n)).collect();
    if let Some(name) = closest(key, elsewhere.iter().map(|(n, _)| *n)) {
        let place = elsewhere
            .iter()
            .find(|(n, _)| *n == name)
            .map_or("", |(_, p)| *p);
        return if name == key {
            format!("unknown field; `{name}` belongs {place}")
        } else {
            format!("unknown field; did you mean `{name}`? It belongs {place}")
        };
    }
    "unknown field".to_owned()
}

/// The candidate `key` most likely misspells: same letters ignoring case and `_`/`-`, an edit distance ≤ 2 (≤ 1
/// for short names), a shared prefix of 6 or more, or a prefix of at least 4 letters.
fn closest<'a>(key: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    // No field name is that long: no hint, and no edit distance over a megabyte-long key.
    if key.len() > super::EXCERPT_CHARS {
        return None;
    }
    let fold = |s: &str| {
        s.chars()
            .filter(|c| !matches!(c, '_' | '-'))
            .flat_map(char::to_lowercase)
            .collect::<Vec<_>>()
    };
    let k = fold(key);
    candidates
        .filter_map(|name| {
            let n = fold(name);
            let distance = edit_distance(&k, &n);
            let shared_prefix = k.iter().zip(&n).take_while(|(a, b)| a == b).count();
            let near = distance <= if n.len() <= 4 { 1 } else { 2 }
                || shared_prefix >= 6
                || (k.len() >= 4 && n.starts_with(&k));
            near.then_some((distance, name))
        })
        .min_by_key(|(d, _)| *d)
        .map(|(_, name)| name)
}

fn edit_distance(a: &[char], b: &[char]) -> usize {
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (diagonal + usize::from(ca != cb))
                .min(row[j] + 1)
                .min(above + 1);
            diagonal = above;
        }
    }
    row[b.len()]
}
