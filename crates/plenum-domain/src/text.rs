//! Rules about the text of names: characters that names shown to other people may not
//! contain, and how a search folds names.

/// What a case-insensitive substring search compares: Rust's Unicode lower case. A stored text
/// matches a search (`history_query::SearchText`, `schedule::MeetingFilter`) when
/// `search_key(text)` contains the search's folded text. The one definition every backend,
/// index and search column uses, so a search means the same on SQLite, PostgreSQL and in
/// memory.
pub fn search_key(text: &str) -> String {
    text.to_lowercase()
}

/// Unicode's explicit bidirectional embeddings, overrides and isolates: they reorder how the
/// text after them is shown, so a name could read as another. (The marks U+200E, U+200F and
/// U+061C only steer neutral characters and belong in right-to-left names; they are allowed.)
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Characters that take no space: zero-width space and joiners, word joiner, byte-order
/// mark, soft hyphen. Allowed inside a name (emoji sequences use the joiner), not as all of it.
pub fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}' | '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}'
    )
}
