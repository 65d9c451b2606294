use std::fmt;
use std::str::FromStr;

/// Length in bytes of a SHA-256 digest.
const SHA256_LEN: usize = 32;

/// The prefix of every digest this crate handles.
const SHA256_PREFIX: &str = "sha256:";

/// Why a string is not a valid digest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DigestError {
    /// The algorithm before `:` is not `sha256` (the only one OCI requires
    /// and the only one this crate writes).
    #[error("digest {input:?}: unsupported algorithm (only sha256 is supported)")]
    UnsupportedAlgorithm {
        /// The string that was parsed.
        input: String,
    },
    /// The part after `sha256:` is not 64 lowercase hexadecimal digits.
    #[error("digest {input:?}: expected \"sha256:\" followed by 64 lowercase hex digits")]
    Malformed {
        /// The string that was parsed.
        input: String,
    },
}

/// A SHA-256 content digest, `sha256:<64 lowercase hex>`.
///
/// Ordering and equality compare the digest bytes, so a `Digest` can key a
/// map or set of blobs.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Digest {
    bytes: [u8; SHA256_LEN],
}

impl Digest {
    /// A digest from the 32 raw bytes of a SHA-256 hash.
    pub fn from_sha256_bytes(bytes: [u8; SHA256_LEN]) -> Self {
        Digest { bytes }
    }

    /// The 32 raw bytes of the hash.
    pub fn as_bytes(&self) -> &[u8; SHA256_LEN] {
        &self.bytes
    }

    /// The 64 lowercase hex digits, without the `sha256:` prefix.
    pub fn hex(&self) -> String {
        self.hex_after("")
    }

    /// Where an OCI image layout stores the blob: `blobs/sha256/<hex>`.
    pub fn blob_path(&self) -> String {
        self.hex_after("blobs/sha256/")
    }

    /// `prefix` then the hex digits, in a string allocated once at its
    /// length (these strings are made for every blob, several times).
    fn hex_after(&self, prefix: &str) -> String {
        let mut out = String::with_capacity(prefix.len() + SHA256_LEN * 2);
        out.push_str(prefix);
        out.push_str(self.hex_digits().as_str());
        out
    }

    /// The 64 hex digits, on the stack.
    fn hex_digits(&self) -> HexDigits {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut digits = [0u8; SHA256_LEN * 2];
        for (pair, byte) in digits.chunks_exact_mut(2).zip(self.bytes) {
            pair[0] = HEX[usize::from(byte >> 4)];
            pair[1] = HEX[usize::from(byte & 0x0f)];
        }
        HexDigits(digits)
    }
}

/// A digest's 64 lowercase hex digits.
struct HexDigits([u8; SHA256_LEN * 2]);

impl HexDigits {
    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0)
            .unwrap_or_else(|_| unreachable!("hex digits are ASCII, so UTF-8"))
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(SHA256_PREFIX)?;
        f.write_str(self.hex_digits().as_str())
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({self})")
    }
}

impl FromStr for Digest {
    type Err = DigestError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let Some(hex) = input.strip_prefix(SHA256_PREFIX) else {
            return Err(match input.split_once(':') {
                Some((algorithm, _)) if !algorithm.is_empty() && algorithm != "sha256" => {
                    DigestError::UnsupportedAlgorithm {
                        input: input.to_owned(),
                    }
                }
                _ => DigestError::Malformed {
                    input: input.to_owned(),
                },
            });
        };
        let malformed = || DigestError::Malformed {
            input: input.to_owned(),
        };
        let digits = hex.as_bytes();
        if digits.len() != SHA256_LEN * 2 {
            return Err(malformed());
        }
        let mut bytes = [0u8; SHA256_LEN];
        for (byte, pair) in bytes.iter_mut().zip(digits.chunks_exact(2)) {
            let high = lowercase_hex_value(pair[0]).ok_or_else(malformed)?;
            let low = lowercase_hex_value(pair[1]).ok_or_else(malformed)?;
            *byte = (high << 4) | low;
        }
        Ok(Digest { bytes })
    }
}

/// The value of one lowercase hex digit; upper case is refused because the
/// OCI spec requires lowercase hex for sha256 and a blob path must match exactly.
fn lowercase_hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ABC: &str = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    #[test]
    fn parses_and_displays_the_same_text() {
        let digest: Digest = ABC.parse().unwrap();
        assert_eq!(digest.to_string(), ABC);
        assert_eq!(digest.hex(), &ABC[7..]);
        assert_eq!(digest.blob_path(), format!("blobs/sha256/{}", &ABC[7..]));
    }

    #[test]
    fn the_raw_bytes_and_debug_form_are_the_hash_the_text_names() {
        let digest: Digest = ABC.parse().unwrap();
        // The hex digits of ABC, decoded here byte by byte.
        let expected: Vec<u8> = (7..ABC.len())
            .step_by(2)
            .map(|at| u8::from_str_radix(&ABC[at..at + 2], 16).unwrap())
            .collect();
        assert_eq!(digest.as_bytes().as_slice(), expected.as_slice());
        assert_eq!(Digest::from_sha256_bytes(*digest.as_bytes()), digest);
        assert_eq!(format!("{digest:?}"), format!("Digest({ABC})"));
    }

    #[test]
    fn refuses_upper_case_hex() {
        let upper = ABC.replace("ba78", "BA78");
        assert!(matches!(
            upper.parse::<Digest>(),
            Err(DigestError::Malformed { .. })
        ));
    }

    #[test]
    fn refuses_wrong_length_and_non_hex() {
        for input in [
            "sha256:",
            "sha256:abc",
            &ABC[..ABC.len() - 1],
            &format!("{ABC}0"),
            &format!("sha256:{}", &ABC[7..].replace('a', "g")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            "",
            ":",
        ] {
            assert!(
                matches!(input.parse::<Digest>(), Err(DigestError::Malformed { .. })),
                "{input:?} should be malformed"
            );
        }
    }

    #[test]
    fn names_other_algorithms_as_unsupported() {
        let err = "sha512:abcd".parse::<Digest>().unwrap_err();
        assert_eq!(
            err,
            DigestError::UnsupportedAlgorithm {
                input: "sha512:abcd".into()
            }
        );
        assert!(err.to_string().contains("only sha256"));
    }

    #[test]
    fn a_multibyte_string_does_not_panic() {
        let input = format!("sha256:{}é", "a".repeat(62));
        assert!(input.parse::<Digest>().is_err());
    }
}
