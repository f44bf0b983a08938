//! The `settings!` macro: each setting is declared once (its `soku.toml` key, raw type, default, doc comment,
//! check and checked type) and the macro derives from that one line everything that used to repeat it.

use figment::value::Value;

/// One setting as the macro declared it; the table [`super::list::SETTINGS`] holds every one, in order.
pub(super) struct Setting {
    /// The `soku.toml` key; the environment variable is derived from it by [`env_name`].
    pub key: &'static str,
    /// The heading of docs/configuration.md the setting is listed under.
    #[cfg_attr(not(test), allow(dead_code))]
    pub group: &'static str,
    /// The field's doc comment: what the setting does, as docs/configuration.md says it.
    #[cfg_attr(not(test), allow(dead_code))]
    pub doc: &'static str,
    /// What docs/configuration.md shows as the default where the struct's default is "unset".
    #[cfg_attr(not(test), allow(dead_code))]
    pub shown_default: Option<&'static str>,
    /// Turns an environment variable's text into the value the raw field takes.
    pub from_env: fn(&str) -> Result<Value, String>,
}

/// The two settings whose environment variables keep their conventional names, without `SOKU_`.
const UNPREFIXED: [&str; 2] = ["database_url", "redis_url"];

/// The environment variable of the setting whose `soku.toml` key is `key`: `SOKU_` and the key in upper case
/// (`DATABASE_URL` and `REDIS_URL` go without the prefix).
pub(super) fn env_name(key: &str) -> String {
    let upper = key.to_ascii_uppercase();
    if UNPREFIXED.contains(&key) {
        upper
    } else {
        format!("SOKU_{upper}")
    }
}

/// What a raw setting holds: a whole number or text, optional or not, or a yes-or-no. It tells how a default is written and how
/// an environment variable's text is read (a number is parsed here, so the message is ours, not the library's;
/// text stays text even when it looks like a number, as a hex master key may).
pub(super) trait Kind: Default {
    /// How the declaration writes a default: `30`, `"data"`.
    type Literal;
    fn from_literal(literal: Self::Literal) -> Self;
    fn from_env(text: &str) -> Result<Value, String>;
}

fn whole_number(text: &str) -> Result<Value, String> {
    text.trim()
        .parse::<u64>()
        .map(Value::from)
        .map_err(|_| format!("`{text}` is not a whole number"))
}

impl Kind for u64 {
    type Literal = u64;
    fn from_literal(literal: u64) -> u64 {
        literal
    }
    fn from_env(text: &str) -> Result<Value, String> {
        whole_number(text)
    }
}

impl Kind for Option<u64> {
    type Literal = u64;
    fn from_literal(literal: u64) -> Option<u64> {
        Some(literal)
    }
    fn from_env(text: &str) -> Result<Value, String> {
        whole_number(text)
    }
}

impl Kind for String {
    type Literal = &'static str;
    fn from_literal(literal: &'static str) -> String {
        literal.to_string()
    }
    fn from_env(text: &str) -> Result<Value, String> {
        Ok(Value::from(text))
    }
}

impl Kind for Option<String> {
    type Literal = &'static str;
    fn from_literal(literal: &'static str) -> Option<String> {
        Some(literal.to_string())
    }
    fn from_env(text: &str) -> Result<Value, String> {
        Ok(Value::from(text))
    }
}

impl Kind for bool {
    type Literal = bool;
    fn from_literal(literal: bool) -> bool {
        literal
    }
    fn from_env(text: &str) -> Result<Value, String> {
        match text.trim() {
            "true" | "1" => Ok(Value::from(true)),
            "false" | "0" => Ok(Value::from(false)),
            _ => Err(format!("`{text}` is not `true` or `false`")),
        }
    }
}

/// Declares every setting, grouped under the headings of docs/configuration.md:
///
/// ```text
/// group "Workers" {
///     /// What it does (this text is the "meaning" column of docs/configuration.md).
///     lease_secs: u64 = 30 => u64, between(1, 3600);
///     sandbox_sink_url: Option<String>, shown "none" => Option<String>, optional(http_url);
/// }
/// ```
///
/// `key: raw type [= default] [, shown "what the docs show as default"] => checked type, check;`. The key is the
/// `soku.toml` key and names the environment variable ([`env_name`]); a setting without a default is unset
/// (`None`). The check turns the raw value into the checked one or says what is wrong with it.
///
/// It defines `Raw` (the layers are merged into it), `Checked` (what the checks made of it),
/// `Raw::check` and the table `SETTINGS`.
macro_rules! settings {
    ($(
        group $group:literal {
            $(
                $(#[doc = $doc:literal])*
                $key:ident: $ty:ty $(= $default:expr)? $(, shown $shown:literal)? => $out:ty, $check:expr;
            )*
        }
    )*) => {
        /// Every setting as read, one field each, merged from the layers: defaults, then `soku.toml`, then the
        /// environment. Unknown keys are refused. It is never printed: it holds secrets unwrapped.
        #[derive(serde::Serialize, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        pub(super) struct Raw {
            $($(
                $(#[doc = $doc])*
                $key: $ty,
            )*)*
        }

        impl Default for Raw {
            fn default() -> Raw {
                Raw { $($( $key: settings!(@default $ty $(, $default)?), )*)* }
            }
        }

        /// Every setting after its check.
        pub(super) struct Checked {
            $($( pub(super) $key: $out, )*)*
        }

        impl Raw {
            /// Runs each setting's check, in declaration order; the first failure names the setting's
            /// environment variable.
            pub(super) fn check(self) -> Result<Checked, ConfigError> {
                Ok(Checked {
                    $($(
                        $key: ($check)(self.$key)
                            .map_err(|message| ConfigError {
                                name: env_name(stringify!($key)),
                                message,
                            })?,
                    )*)*
                })
            }
        }

        /// Every setting, in declaration order.
        pub(super) const SETTINGS: &[Setting] = &[
            $($(
                Setting {
                    key: stringify!($key),
                    group: $group,
                    doc: concat!($($doc, "\n",)*),
                    shown_default: settings!(@shown $($shown)?),
                    from_env: <$ty as Kind>::from_env,
                },
            )*)*
        ];
    };
    (@default $ty:ty) => { <$ty as Default>::default() };
    (@default $ty:ty, $default:expr) => { <$ty as Kind>::from_literal($default) };
    (@shown) => { None };
    (@shown $shown:literal) => { Some($shown) };
}

pub(super) use settings;
