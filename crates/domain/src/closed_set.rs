//! Closed sets of the field's words (statuses, roles, channels, ...): an enum with its wire
//! name for every variant, parsed strictly, serialised as that name, listed in `ALL`.

macro_rules! closed_set {
    ($(#[$doc:meta])* $name:ident, $what:literal { $($(#[$vdoc:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        // Through a string, so that a number or an object gets "expected a string", and an
        // unknown word gets the list of accepted ones.
        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <::std::borrow::Cow<'de, str> as ::serde::Deserialize>::deserialize(d)?;
                $name::parse(&s).map_err(::serde::de::Error::custom)
            }
        }

        impl $name {
            /// Every value, in order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The wire and storage spelling.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// Parses the wire spelling, naming the accepted values when it fails.
            pub fn parse(s: &str) -> Result<Self, $crate::DomainError> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err($crate::DomainError::invalid(
                        $what,
                        format!(
                            "`{}` is not one of {}",
                            crate::ids::truncate(other),
                            [$($text),+].join(", ")
                        ),
                    )),
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::DomainError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }
    };
}
pub(crate) use closed_set;
