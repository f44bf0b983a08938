//! The states of posts, targets and attempts, each an enum with one string form, the same in JSON (serde), in
//! Postgres (sqlx, `text` columns with a CHECK listing the same words) and in logs. The target state machine's
//! legal moves are written once, in [`TargetStatus::can_become`]; the SQL of `store::publish` makes only those
//! moves (each UPDATE is conditional on the state it expects).

use serde::{Deserialize, Serialize};

/// What every state enum is: its words, one per state, in a fixed order (a list's `?status=` filter reads them).
pub trait StateWord: Copy + Sized + 'static {
    fn all() -> &'static [Self];
    fn word(self) -> &'static str;
    fn from_word(s: &str) -> Option<Self>;

    /// Every word, comma-separated: `processing, ready, failed`.
    fn words() -> String {
        Self::all()
            .iter()
            .map(|s| s.word())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

macro_rules! status_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, sqlx::Type, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        #[sqlx(type_name = "text", rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(s: &str) -> Option<$name> {
                match s { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl StateWord for $name {
            fn all() -> &'static [$name] {
                $name::ALL
            }
            fn word(self) -> &'static str {
                self.as_str()
            }
            fn from_word(s: &str) -> Option<$name> {
                $name::parse(s)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

status_enum!(
    /// A post's status, derived from its targets once it is publishing.
    PostStatus {
        Scheduled => "scheduled",
        Queued => "queued",
        Publishing => "publishing",
        Published => "published",
        PartiallyPublished => "partially_published",
        Failed => "failed",
        Canceled => "canceled",
    }
);

status_enum!(
    /// One platform target of a post.
    TargetStatus {
        Pending => "pending",
        Publishing => "publishing",
        Retrying => "retrying",
        Published => "published",
        Failed => "failed",
        Unknown => "unknown",
        Canceled => "canceled",
    }
);

status_enum!(
    /// How one publish attempt ended (`publish_attempts.outcome`).
    AttemptOutcome {
        Published => "published",
        Retrying => "retrying",
        Failed => "failed",
        Unknown => "unknown",
        Interrupted => "interrupted",
    }
);

status_enum!(
    /// A media object: `processing` until the worker has checked and probed it, then `ready` or `failed`.
    MediaStatus {
        Processing => "processing",
        Ready => "ready",
        Failed => "failed",
    }
);

status_enum!(
    /// A transcription job: `queued` (waiting for its media, or for a worker), `processing`, then `completed`,
    /// `failed` or `canceled`; the last three are final and its credits settled.
    TranscriptionStatus {
        Queued => "queued",
        Processing => "processing",
        Completed => "completed",
        Failed => "failed",
        Canceled => "canceled",
    }
);

status_enum!(
    /// What one credit ledger row did: `grant` (an operator's), `reserve` (held for a job at intake), `charge`
    /// (the job's real cost), `release` (what a job did not use, or all of it when it failed or was canceled),
    /// `refund` and `adjustment` (an operator's corrections).
    LedgerKind {
        Grant => "grant",
        Reserve => "reserve",
        Charge => "charge",
        Release => "release",
        Refund => "refund",
        Adjustment => "adjustment",
    }
);

impl TranscriptionStatus {
    /// Final: the job will not run again and its credits are settled.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            TranscriptionStatus::Completed
                | TranscriptionStatus::Failed
                | TranscriptionStatus::Canceled
        )
    }
}

impl TargetStatus {
    /// Whether a target may move from `self` to `next`:
    /// - `pending` / `retrying` (due) → `publishing` when a worker takes the lease; → `canceled` with the post;
    /// - `publishing` → `published`, `retrying`, `failed` or `unknown` when the attempt settles, or `unknown` when
    ///   its lease expires (the worker vanished mid-attempt);
    /// - `unknown` → `published` (the platform has it), `retrying` (it certainly has not), or stays `unknown`
    ///   (checked again later);
    /// - `failed` → `pending` on `POST /v1/posts/{id}/retry`;
    /// - a `published` outcome is a fact and is recorded from any unsettled state;
    /// - `published` and `canceled` are final.
    pub fn can_become(self, next: TargetStatus) -> bool {
        use TargetStatus::*;
        matches!(
            (self, next),
            (Pending | Retrying | Publishing | Unknown, Published)
                | (Pending | Retrying, Publishing | Canceled)
                | (Publishing, Retrying | Failed | Unknown)
                | (Unknown, Retrying | Unknown)
                | (Failed, Pending)
        )
    }

    /// Settled: nothing more happens to it unless a client retries it.
    pub fn is_settled(self) -> bool {
        matches!(
            self,
            TargetStatus::Published | TargetStatus::Failed | TargetStatus::Canceled
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use TargetStatus::*;

    #[test]
    fn every_status_has_one_string_form() {
        for s in TargetStatus::ALL {
            assert_eq!(TargetStatus::parse(s.as_str()), Some(*s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        for s in PostStatus::ALL {
            assert_eq!(PostStatus::parse(s.as_str()), Some(*s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        for s in AttemptOutcome::ALL {
            assert_eq!(AttemptOutcome::parse(s.as_str()), Some(*s));
        }
        assert_eq!(
            PostStatus::PartiallyPublished.as_str(),
            "partially_published"
        );
        assert_eq!(TargetStatus::parse("Published"), None);
    }

    #[test]
    fn the_target_state_machine_allows_exactly_its_moves() {
        let legal = [
            (Pending, Publishing),
            (Pending, Canceled),
            (Pending, Published),
            (Retrying, Publishing),
            (Retrying, Canceled),
            (Retrying, Published),
            (Publishing, Published),
            (Publishing, Retrying),
            (Publishing, Failed),
            (Publishing, Unknown),
            (Unknown, Published),
            (Unknown, Retrying),
            (Unknown, Unknown),
            (Failed, Pending),
        ];
        for from in TargetStatus::ALL {
            for to in TargetStatus::ALL {
                assert_eq!(
                    from.can_become(*to),
                    legal.contains(&(*from, *to)),
                    "{from} -> {to}"
                );
            }
        }
    }

    #[test]
    fn published_and_canceled_are_final() {
        for to in TargetStatus::ALL {
            assert!(!Published.can_become(*to));
            assert!(!Canceled.can_become(*to));
        }
    }

    /// The SQL that moves posts, targets and attempts keeps its states as literals (a partial index's predicate
    /// is matched only by a literal), so every quoted word on a line that speaks of a status or an outcome, in
    /// the store's publishing SQL and the functions of the latest migrations, must be one of the enums' words.
    #[test]
    fn the_store_sql_names_only_known_states() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let files = [
            "src/store/publish.rs",
            "src/store/posts.rs",
            "../migrations/20261203000001_worker_core.sql",
            "../migrations/20261203000002_batch_plans.sql",
            "src/store/media.rs",
            "../migrations/20261203000003_media.sql",
            "src/store/transcriptions.rs",
            "src/store/credits.rs",
            "../migrations/20261205000001_transcription.sql",
        ];
        // Error codes written beside an outcome, not states.
        let not_states = ["outcome_unknown", "worker_lost"];
        let mut checked = 0;
        for file in files {
            let text = std::fs::read_to_string(root.join(file)).expect(file);
            for (n, line) in text.lines().enumerate() {
                if !(line.contains("status") || line.contains("outcome")) {
                    continue;
                }
                for word in line.split('\'').skip(1).step_by(2) {
                    let is_word = !word.is_empty()
                        && word.chars().all(|c| c.is_ascii_lowercase() || c == '_');
                    if !is_word || not_states.contains(&word) {
                        continue;
                    }
                    checked += 1;
                    assert!(
                        PostStatus::parse(word).is_some()
                            || TargetStatus::parse(word).is_some()
                            || AttemptOutcome::parse(word).is_some()
                            || MediaStatus::parse(word).is_some()
                            || TranscriptionStatus::parse(word).is_some()
                            || LedgerKind::parse(word).is_some(),
                        "{file}:{}: '{word}' is no post, target, attempt or media state",
                        n + 1
                    );
                }
            }
        }
        assert!(
            checked > 50,
            "only {checked} state words found: is the scan still looking?"
        );
    }
}
