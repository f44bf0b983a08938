//! Object ids: a type prefix and 24 random base62 characters (about 143 bits), opaque to clients.

use rand::Rng;

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `n` random base62 characters from the thread-local CSPRNG.
pub fn random_base62(n: usize) -> String {
    let mut rng = rand::rng();
    (0..n)
        .map(|_| BASE62[rng.random_range(0..BASE62.len())] as char)
        .collect()
}

/// A new id such as `post_3hT9…`.
pub fn new_id(prefix: IdPrefix) -> String {
    format!("{}_{}", prefix.as_str(), random_base62(24))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdPrefix {
    Post,
    Target,
    Media,
    Job,
    Key,
    Integration,
    Account,
    Request,
    Event,
    User,
    Session,
}

impl IdPrefix {
    pub fn as_str(self) -> &'static str {
        match self {
            IdPrefix::Post => "post",
            IdPrefix::Target => "tgt",
            IdPrefix::Media => "media",
            IdPrefix::Job => "job",
            IdPrefix::Key => "key",
            IdPrefix::Integration => "int",
            IdPrefix::Account => "acct",
            IdPrefix::Request => "req",
            IdPrefix::Event => "evt",
            IdPrefix::User => "usr",
            IdPrefix::Session => "sess",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_prefix_and_entropy() {
        let ids: Vec<String> = (0..2000).map(|_| new_id(IdPrefix::Post)).collect();
        let distinct: std::collections::HashSet<&String> = ids.iter().collect();
        assert_eq!(distinct.len(), ids.len(), "a repeated id");
        let mut seen = [[false; 62]; 24];
        for id in &ids {
            let random = id.strip_prefix("post_").expect("the post_ prefix");
            assert_eq!(random.len(), 24, "{id}");
            for (i, c) in random.bytes().enumerate() {
                let digit = BASE62
                    .iter()
                    .position(|&b| b == c)
                    .expect("a base62 character");
                seen[i][digit] = true;
            }
        }
        // Every position takes every base62 value (that 2,000 draws miss one of the 24·62 by chance has odds of
        // about 1e-11): none is fixed or drawn from a smaller alphabet, so the random part carries 24·log2(62) ≈ 143 bits.
        for (i, values) in seen.iter().enumerate() {
            let missing: Vec<char> = (0..62)
                .filter(|&d| !values[d])
                .map(|d| BASE62[d] as char)
                .collect();
            assert!(missing.is_empty(), "position {i} never took {missing:?}");
        }
    }
}
