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
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_prefix_and_entropy() {
        let a = new_id(IdPrefix::Post);
        let b = new_id(IdPrefix::Post);
        assert!(a.starts_with("post_") && a.len() == 29);
        assert_ne!(a, b);
    }
}
