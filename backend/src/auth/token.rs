//! Personal API tokens: `myelin_` + 40 random characters, shown once; only their SHA-256 is stored (they are
//! high-entropy, so a fast hash is enough and lookups stay O(1)).

use rand::distributions::Alphanumeric;
use rand::Rng;
use sha2::{Digest, Sha256};

pub const PREFIX: &str = "myelin_";

pub fn generate() -> String {
    let body: String = rand::thread_rng().sample_iter(&Alphanumeric).take(40).map(char::from).collect();
    format!("{PREFIX}{body}")
}

pub fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// What the token list shows so a user can recognise a token without it being usable.
pub fn display_prefix(token: &str) -> String {
    token.chars().take(PREFIX.len() + 6).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn tokens_are_unique_and_hash_deterministically() {
        let (a, b) = (super::generate(), super::generate());
        assert_ne!(a, b);
        assert_eq!(a.len(), 47);
        assert_eq!(super::hash(&a), super::hash(&a));
        assert_ne!(super::hash(&a), super::hash(&b));
        assert_eq!(super::display_prefix(&a).len(), 13);
    }
}
