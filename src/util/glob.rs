//! Glob-style pattern matching with the semantics of Redis's `stringmatchlen`
//! (`src/util.c`), the matcher behind KEYS, SCAN/HSCAN/SSCAN/ZSCAN `MATCH`,
//! CONFIG GET, PSUBSCRIBE and ACL key patterns.
//!
//! Matching is over raw bytes (binary safe, no UTF-8 assumptions).
//!
//! # Syntax
//!
//! * `*` matches any run of bytes, including none. A run of stars acts as one.
//! * `?` matches exactly one byte.
//! * `[abc]` matches one byte from the set, `[^abc]` one byte not in it, and
//!   `[a-z]` a byte in an inclusive range. A reversed range (`[z-a]`) matches
//!   as if its ends were swapped.
//! * `\x` matches `x` literally, both outside and inside a class.
//! * With `nocase`, ASCII letters compare case-insensitively; other bytes
//!   are never folded (Redis runs in the C locale for `tolower`).
//!
//! # Edge cases (each decided to match what Redis does)
//!
//! * **Empty subject.** Redis's main loop only runs while both the pattern and
//!   the subject are non-empty, so an empty subject matches only the empty
//!   pattern: `glob_match(b"*", b"", _)` is `false`. Redis's KEYS and SCAN
//!   never notice because they short-circuit the exact pattern `*` before
//!   calling the matcher; [`is_match_all`] is that short-circuit and callers
//!   must apply it to agree with Redis (`KEYS *` lists the empty key,
//!   `KEYS **` does not).
//! * **Trailing lone `\`** matches a literal `\` (there is nothing to escape,
//!   so the backslash stands for itself). A `\` that is the last byte inside
//!   an unterminated class is likewise a literal member.
//! * **Unterminated class.** `[abc` behaves like `[abc]`: the class runs to
//!   the end of the pattern. Hence `[` alone matches nothing and `[^` alone
//!   matches any single byte.
//! * **`]` first in a class closes it**: `[]` matches nothing, `[^]` matches
//!   any byte (Redis has no "literal `]` first" rule; write `[\]]`).
//! * **`-` as the second-to-last member eats the `]`**: Redis treats any
//!   `x-y` with at least three bytes left as a range, even when `y` is `]`.
//!   So `[a-]` is the range `]`..`a` and the class keeps going to the next
//!   `]` (or the end of the pattern). A `-` that is first, or follows a
//!   completed range, is a literal member.
//! * **Escapes inside a class compare case-sensitively even with `nocase`**
//!   (Redis compares the escaped byte with `==`, not `tolower`). Outside a
//!   class an escaped byte honours `nocase`.
//! * **Ranges with `nocase`** are swapped first (if reversed) and only then
//!   lower-cased, exactly as Redis does. A range whose ends straddle the
//!   letters therefore can end up empty: with `nocase`, `[a-Z]` matches
//!   nothing.
//! * **Range byte order is unsigned** (0x00..=0xFF). Redis compares C `char`s,
//!   whose signedness is platform-defined: on x86-64 builds bytes >= 0x80
//!   sort *below* 0x00 in a range, on aarch64 they sort above 0x7F. We take
//!   the unsigned order, which is the one a user writing `[\x00-\xff]` means;
//!   the two only differ for ranges whose ends sit on opposite sides of 0x80.
//! * **At most 1000 star groups are honoured.** Redis recurses once per star
//!   group and fails the match outright (its "protection against abusive
//!   patterns") when the 1001st non-final group is reached with subject left
//!   to match. We reproduce that cut-off so answers agree, even though this
//!   implementation does not recurse and would not need it.
//!
//! # Complexity
//!
//! Redis's recursive matcher is kept from going exponential by its
//! `skipLongerMatches` flag; the equivalent here is the classic iterative
//! algorithm that only ever backtracks to the most recent star group. That is
//! sound because, once a later star group has been reached, giving an earlier
//! star more bytes can only start the later part of the pattern further right,
//! and the most recent star can already absorb any amount. Worst-case time is
//! O(pattern × subject) with no allocation and no recursion.

/// Redis stops honouring star groups past this many (see module docs).
const MAX_STAR_GROUPS: usize = 1000;

/// True if `pattern` selects every possible subject, so the caller can skip
/// matching altogether (KEYS `*`, SCAN without a useful MATCH).
///
/// Deliberately only the exact pattern `*`, as in Redis: `**` or `*?*` are
/// not short-circuited there, and because the matcher never matches an empty
/// subject against a non-empty pattern, treating them as match-all would
/// change which keys are returned.
#[inline]
pub fn is_match_all(pattern: &[u8]) -> bool {
    pattern == b"*"
}

/// Matches `subject` against the glob `pattern` exactly like Redis's
/// `stringmatchlen(pattern, subject, nocase)`. See the module docs for the
/// syntax and for the edge cases that were decided deliberately.
pub fn glob_match(pattern: &[u8], subject: &[u8], nocase: bool) -> bool {
    // Redis's loop never runs for an empty subject, so the only pattern that
    // can match it is the empty one (no trailing-star allowance here).
    if subject.is_empty() {
        return pattern.is_empty();
    }

    let mut p = 0usize;
    let mut s = 0usize;
    // Where to resume after a mismatch: the pattern index just past the most
    // recent star group and the subject index that attempt started at. The
    // next attempt lets the star swallow one more byte.
    let mut resume: Option<(usize, usize)> = None;
    let mut star_groups = 0usize;

    loop {
        if s == subject.len() {
            // Subject used up: only stars may remain in the pattern. No need
            // to backtrack on failure: every token other than `*` consumes
            // exactly one byte, so restarting the tail later in the subject
            // leaves even fewer bytes for the same non-star tokens.
            while pattern.get(p) == Some(&b'*') {
                p += 1;
            }
            return p == pattern.len();
        }

        let advanced = match pattern.get(p) {
            // Pattern used up while subject remains: a mismatch.
            None => None,
            Some(b'*') => {
                p += 1;
                while pattern.get(p) == Some(&b'*') {
                    p += 1;
                }
                if p == pattern.len() {
                    // A trailing star group swallows whatever is left.
                    return true;
                }
                star_groups += 1;
                if star_groups > MAX_STAR_GROUPS {
                    return false;
                }
                // Start with the star matching nothing.
                resume = Some((p, s));
                continue;
            }
            Some(_) => match_one(pattern, p, subject[s], nocase),
        };

        match advanced {
            Some(next_p) => {
                p = next_p;
                s += 1;
            }
            None => {
                let Some((star_p, start)) = resume else {
                    return false;
                };
                let start = start + 1;
                // Redis never lets a non-final star swallow the whole rest of
                // the subject: the tail after it needs at least one byte.
                if start == subject.len() {
                    return false;
                }
                resume = Some((star_p, start));
                p = star_p;
                s = start;
            }
        }
    }
}

/// Matches the single-byte token (anything but `*`) starting at `pattern[p]`
/// against `c`. Returns the index just past the token on success.
#[inline]
fn match_one(pattern: &[u8], p: usize, c: u8, nocase: bool) -> Option<usize> {
    match pattern[p] {
        b'?' => Some(p + 1),
        b'[' => match_class(pattern, p + 1, c, nocase),
        // `\x`; a lone trailing `\` falls through to the literal arm.
        b'\\' if p + 1 < pattern.len() => bytes_eq(pattern[p + 1], c, nocase).then_some(p + 2),
        lit => bytes_eq(lit, c, nocase).then_some(p + 1),
    }
}

/// Matches `c` against the class whose body starts at `pattern[i]` (just past
/// the `[`). Returns the index just past the closing `]`, or the pattern
/// length for an unterminated class, when `c` is accepted.
fn match_class(pattern: &[u8], mut i: usize, c: u8, nocase: bool) -> Option<usize> {
    let negated = pattern.get(i) == Some(&b'^');
    if negated {
        i += 1;
    }
    let mut hit = false;
    // The member grammar is tried in Redis's order: escape, close, range,
    // literal. Running off the end terminates the class (see module docs).
    while let Some(&b) = pattern.get(i) {
        if b == b'\\' && i + 1 < pattern.len() {
            // Redis compares escaped class members with plain `==`.
            hit |= pattern[i + 1] == c;
            i += 2;
        } else if b == b']' {
            i += 1;
            return (hit != negated).then_some(i);
        } else if i + 2 < pattern.len() && pattern[i + 1] == b'-' {
            let (mut lo, mut hi) = (b, pattern[i + 2]);
            if lo > hi {
                std::mem::swap(&mut lo, &mut hi);
            }
            let mut x = c;
            if nocase {
                // Lower-casing after the swap is what Redis does, even though
                // it can leave lo > hi (an empty range).
                lo = lo.to_ascii_lowercase();
                hi = hi.to_ascii_lowercase();
                x = x.to_ascii_lowercase();
            }
            hit |= lo <= x && x <= hi;
            i += 3;
        } else {
            hit |= bytes_eq(b, c, nocase);
            i += 1;
        }
    }
    (hit != negated).then_some(i)
}

#[inline]
fn bytes_eq(a: u8, b: u8, nocase: bool) -> bool {
    a == b || (nocase && a.eq_ignore_ascii_case(&b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Independent, deliberately naive model of Redis's recursive matcher:
    /// one recursion per token and a full loop over every split point for a
    /// star (no early cut-off), so it is exponential on hostile patterns and
    /// only fit for short inputs. It also leaves out the 1000-star-group
    /// cut-off, which proptest inputs never get near.
    fn reference(pat: &[u8], sub: &[u8], nocase: bool) -> bool {
        // Like the C loop: stop as soon as either side is empty.
        if pat.is_empty() || sub.is_empty() {
            return pat.is_empty() && sub.is_empty();
        }
        if pat[0] == b'*' {
            let rest = strip_stars(pat);
            if rest.is_empty() {
                return true;
            }
            // The star takes sub[..k]; the tail must get at least one byte.
            return (0..sub.len()).any(|k| reference(rest, &sub[k..], nocase));
        }
        let Some(tail) = reference_token(pat, sub[0], nocase) else {
            return false;
        };
        let sub = &sub[1..];
        if sub.is_empty() {
            // Having just consumed the last byte, trailing stars are free.
            return strip_stars(tail).is_empty();
        }
        reference(tail, sub, nocase)
    }

    fn strip_stars(mut p: &[u8]) -> &[u8] {
        while let [b'*', rest @ ..] = p {
            p = rest;
        }
        p
    }

    fn ref_eq(a: u8, b: u8, nocase: bool) -> bool {
        if nocase {
            a.eq_ignore_ascii_case(&b)
        } else {
            a == b
        }
    }

    /// Consumes one non-star token from the front of `pat` if it accepts `c`,
    /// returning what is left of the pattern.
    fn reference_token(pat: &[u8], c: u8, nocase: bool) -> Option<&[u8]> {
        match pat {
            [b'?', rest @ ..] => Some(rest),
            [b'\\', e, rest @ ..] => ref_eq(*e, c, nocase).then_some(rest),
            [b'[', body @ ..] => {
                let (neg, mut body) = match body {
                    [b'^', r @ ..] => (true, r),
                    r => (false, r),
                };
                let mut found = false;
                loop {
                    match body {
                        [] => break,
                        [b'\\', e, r @ ..] => {
                            found |= *e == c;
                            body = r;
                        }
                        [b']', r @ ..] => {
                            body = r;
                            break;
                        }
                        [a, b'-', z, r @ ..] => {
                            let (lo, hi) = if a <= z { (*a, *z) } else { (*z, *a) };
                            found |= if nocase {
                                let x = c.to_ascii_lowercase();
                                lo.to_ascii_lowercase() <= x && x <= hi.to_ascii_lowercase()
                            } else {
                                lo <= c && c <= hi
                            };
                            body = r;
                        }
                        [a, r @ ..] => {
                            found |= ref_eq(*a, c, nocase);
                            body = r;
                        }
                    }
                }
                (found != neg).then_some(body)
            }
            [lit, rest @ ..] => ref_eq(*lit, c, nocase).then_some(rest),
            [] => None,
        }
    }

    #[test]
    fn table() {
        // (pattern, subject, nocase, expected)
        let cases: &[(&[u8], &[u8], bool, bool)] = &[
            // Empty pattern / subject.
            (b"", b"", false, true),
            (b"", b"a", false, false),
            (b"a", b"", false, false),
            (b"*", b"", false, false),
            (b"**", b"", false, false),
            (b"?", b"", false, false),
            (b"[^]", b"", false, false),
            // Literals.
            (b"hello", b"hello", false, true),
            (b"hello", b"hell", false, false),
            (b"hell", b"hello", false, false),
            (b"hello", b"HELLO", false, false),
            // Stars.
            (b"*", b"a", false, true),
            (b"*", b"anything at all", false, true),
            (b"a*", b"a", false, true),
            (b"a*", b"abc", false, true),
            (b"a*", b"b", false, false),
            (b"*c", b"abc", false, true),
            (b"*c", b"abcd", false, false),
            (b"a*c", b"ac", false, true),
            (b"a*c", b"abbbc", false, true),
            (b"a*c", b"abbbd", false, false),
            (b"a**c", b"abc", false, true),
            (b"a*b*c", b"abc", false, true),
            (b"a*b*c", b"abcabc", false, true),
            (b"a*b*c", b"abcab", false, false),
            (b"*a*b*c*", b"xaybzc", false, true),
            (b"*a*b*c*", b"xaybz", false, false),
            (b"*abc", b"ababc", false, true),
            (b"*aab", b"aaab", false, true),
            (b"*.png", b"cdn/eu/logo.png", false, true),
            (b"user:*", b"user:1234", false, true),
            (b"user:*:name", b"user:1:2:name", false, true),
            // Question marks.
            (b"h?llo", b"hello", false, true),
            (b"h?llo", b"hllo", false, false),
            (b"?", b"\xff", false, true),
            (b"*?", b"a", false, true),
            (b"?*", b"a", false, true),
            (b"*?*?", b"a", false, false),
            (b"*?*?", b"ab", false, true),
            (b"user:?", b"user:12", false, false),
            // Classes.
            (b"h[ae]llo", b"hello", false, true),
            (b"h[ae]llo", b"hallo", false, true),
            (b"h[ae]llo", b"hillo", false, false),
            (b"h[^e]llo", b"hallo", false, true),
            (b"h[^e]llo", b"hello", false, false),
            (b"h[a-b]llo", b"hbllo", false, true),
            (b"h[a-b]llo", b"hcllo", false, false),
            (b"h[b-a]llo", b"hallo", false, true),
            (b"[z-a]", b"m", false, true),
            (b"[z-a]", b"A", false, false),
            (b"[a-c-e]", b"-", false, true),
            (b"[a-c-e]", b"e", false, true),
            (b"[a-c-e]", b"d", false, false),
            (b"[-a]", b"-", false, true),
            (b"[*]", b"*", false, true),
            (b"[*]", b"a", false, false),
            (b"[?]", b"?", false, true),
            (b"[?]", b"a", false, false),
            (b"[]", b"]", false, false),
            (b"[]", b"a", false, false),
            (b"[]a]", b"]", false, false),
            (b"[^]", b"x", false, true),
            (b"[^]a", b"xa", false, true),
            (b"[^a-z]", b"A", false, true),
            (b"[^a-z]", b"q", false, false),
            // Range that swallows the `]` (Redis quirk).
            (b"[a-]", b"_", false, true),
            (b"[a-]", b"]", false, true),
            (b"[a-]", b"-", false, false),
            (b"[a-]x]", b"x", false, true),
            (b"[a-]x]", b"b", false, false),
            (b"[a-]x]", b"x]", false, false),
            // Unterminated classes run to the end of the pattern.
            (b"[", b"[", false, false),
            (b"[", b"a", false, false),
            (b"[^", b"a", false, true),
            (b"[abc", b"b", false, true),
            (b"[abc", b"d", false, false),
            (b"x[abc", b"xc", false, true),
            (b"[a\\", b"\\", false, true),
            // Escapes.
            (b"\\*", b"*", false, true),
            (b"\\*", b"a", false, false),
            (b"\\?", b"?", false, true),
            (b"\\?", b"x", false, false),
            (b"\\[a]", b"[a]", false, true),
            (b"\\[a]", b"a", false, false),
            (b"a\\*b", b"a*b", false, true),
            (b"a\\*b", b"axb", false, false),
            (b"*\\*", b"abc*", false, true),
            (b"\\\\", b"\\", false, true),
            (b"\\a", b"a", false, true),
            (b"[\\]]", b"]", false, true),
            (b"[\\]]", b"\\", false, false),
            (b"[\\^a]", b"^", false, true),
            (b"[\\-]", b"-", false, true),
            (b"[a\\-z]", b"b", false, false),
            (b"[a\\-z]", b"-", false, true),
            (b"[a\\-z]", b"z", false, true),
            // Trailing lone backslash is a literal backslash.
            (b"\\", b"\\", false, true),
            (b"a\\", b"a\\", false, true),
            (b"a\\", b"a", false, false),
            (b"a\\", b"ab", false, false),
            // nocase.
            (b"HELLO", b"hello", true, true),
            (b"hello", b"HeLLo", true, true),
            (b"h*O", b"hello", true, true),
            (b"h[A-Z]llo", b"hello", true, true),
            (b"h[a-z]llo", b"hEllo", true, true),
            (b"h[a-z]llo", b"hEllo", false, false),
            (b"[abc]", b"B", true, true),
            (b"[^abc]", b"B", true, false),
            (b"\\A", b"a", true, true),
            (b"[\\A]", b"a", true, false),
            (b"[\\A]", b"A", true, true),
            (b"[a-Z]", b"a", false, true),
            (b"[a-Z]", b"_", false, true),
            (b"[a-Z]", b"a", true, false),
            (b"[a-Z]", b"Z", true, false),
            (b"[Z-a]", b"_", true, false),
            (b"\xc9", b"\xe9", true, false),
            // Binary bytes.
            (b"\x00", b"\x00", false, true),
            (b"a\x00*", b"a\x00zzz", false, true),
            (b"a\x00*", b"a\x01zzz", false, false),
            (b"[\x80-\xff]", b"\xe9", false, true),
            (b"[\x80-\xff]", b"a", false, false),
            (b"[\x00-\xff]", b"\x7f", false, true),
            (b"[\x00-\xff]", b"\x80", false, true),
            (b"*\xff", b"\x00\x01\xff", false, true),
        ];
        for &(pat, sub, nocase, want) in cases {
            assert_eq!(
                glob_match(pat, sub, nocase),
                want,
                "glob_match({:?}, {:?}, nocase={nocase})",
                String::from_utf8_lossy(pat),
                String::from_utf8_lossy(sub),
            );
            assert_eq!(
                reference(pat, sub, nocase),
                want,
                "reference({:?}, {:?}, nocase={nocase})",
                String::from_utf8_lossy(pat),
                String::from_utf8_lossy(sub),
            );
        }
    }

    #[test]
    fn match_all() {
        assert!(is_match_all(b"*"));
        assert!(!is_match_all(b"**"));
        assert!(!is_match_all(b""));
        assert!(!is_match_all(b"a*"));
        assert!(!is_match_all(b"\\*"));
        // The short-circuit is what lets `KEYS *` see the empty key.
        assert!(!glob_match(b"*", b"", false));
    }

    #[test]
    fn hostile_patterns_stay_fast() {
        // A naive backtracking matcher needs ~n^8 steps here; hanging rather
        // than failing is the symptom, so bound the wall time generously.
        let started = std::time::Instant::now();
        let subject = vec![b'a'; 100_000];
        assert!(!glob_match(b"a*a*a*a*a*a*a*a*b", &subject, false));
        assert!(!glob_match(
            b"*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b",
            &subject,
            true
        ));
        assert!(glob_match(b"a*a*a*a*a*a*a*a*a", &subject, false));
        let mut pattern = vec![b'*'];
        for _ in 0..200 {
            pattern.extend_from_slice(b"?*");
        }
        pattern.push(b'b');
        assert!(!glob_match(&pattern, &subject[..5_000], false));
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
    }

    #[test]
    fn star_group_cutoff_matches_redis() {
        let subject = vec![b'a'; 3000];
        let pattern = |groups: usize| b"*a".repeat(groups);
        // 1000 groups are honoured; the 1001st non-final one fails the match.
        assert!(glob_match(&pattern(1000), &subject, false));
        assert!(!glob_match(&pattern(1001), &subject, false));
        // A final star group is accepted before Redis recurses, so it counts.
        let mut trailing = pattern(1000);
        trailing.push(b'*');
        assert!(glob_match(&trailing, &subject, false));
        // ...but a trailing star does not rescue a non-final 1001st group.
        let mut trailing = pattern(1001);
        trailing.push(b'*');
        assert!(!glob_match(&trailing, &subject, false));
    }

    fn pattern_strategy() -> impl Strategy<Value = Vec<u8>> {
        // Mostly metacharacters and a tiny alphabet, so that classes, ranges,
        // escapes and stars interact often; plus the odd arbitrary byte.
        let atom = prop_oneof![
            8 => prop::sample::select(b"*?[]^-\\abAB".to_vec()),
            1 => any::<u8>(),
        ];
        prop::collection::vec(atom, 0..10)
    }

    fn subject_strategy() -> impl Strategy<Value = Vec<u8>> {
        let atom = prop_oneof![
            8 => prop::sample::select(b"abAB-]^\\*?[".to_vec()),
            1 => any::<u8>(),
        ];
        prop::collection::vec(atom, 0..10)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(20_000))]

        #[test]
        fn agrees_with_reference(
            pat in pattern_strategy(),
            sub in subject_strategy(),
            nocase in any::<bool>(),
        ) {
            prop_assert_eq!(glob_match(&pat, &sub, nocase), reference(&pat, &sub, nocase));
        }

        #[test]
        fn literal_patterns_match_themselves(sub in prop::collection::vec(any::<u8>(), 1..16)) {
            // Escaping every byte yields a pattern matching exactly `sub`.
            let mut pat = Vec::new();
            for &b in &sub {
                pat.push(b'\\');
                pat.push(b);
            }
            prop_assert!(glob_match(&pat, &sub, false));
            prop_assert!(glob_match(b"*", &sub, false));
        }
    }
}
