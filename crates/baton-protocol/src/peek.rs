//! A bounded look at the head of a frame too large to parse: its request `id`, or the
//! `reply` id of an answer to an event. Only the first [`PEEK_BYTES`] bytes are read, and only
//! top-level keys; whatever is not there is `None`. So an oversized request can be answered
//! on its own id (the caller does not wait for a time-out), at a cost independent of its size.

/// How far into a frame the head is looked for.
pub const PEEK_BYTES: usize = 4096;

/// What the head of a frame says about itself.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FrameHead {
    pub id: Option<u64>,
    pub reply: Option<String>,
}

/// Reads `id` and `reply` from the top level of `text`'s first [`PEEK_BYTES`] bytes.
pub fn peek_head(text: &str) -> FrameHead {
    let bytes = &text.as_bytes()[..text.len().min(PEEK_BYTES)];
    let mut s = Scanner { b: bytes, i: 0 };
    let mut head = FrameHead::default();
    let _ = s.object(&mut head);
    head
}

struct Scanner<'a> {
    b: &'a [u8],
    i: usize,
}

/// The scan ran out of prefix or met something that is not JSON.
struct Stop;

impl Scanner<'_> {
    fn peek(&self) -> Result<u8, Stop> {
        self.b.get(self.i).copied().ok_or(Stop)
    }

    fn ws(&mut self) {
        while matches!(self.b.get(self.i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> Result<(), Stop> {
        self.ws();
        if self.peek()? == c {
            self.i += 1;
            Ok(())
        } else {
            Err(Stop)
        }
    }

    /// A string's raw bytes between its quotes; `None` when it holds escapes.
    fn string(&mut self) -> Result<Option<&[u8]>, Stop> {
        self.eat(b'"')?;
        let start = self.i;
        let mut plain = true;
        loop {
            match self.peek()? {
                b'"' => {
                    let raw = &self.b[start..self.i];
                    self.i += 1;
                    return Ok(plain.then_some(raw));
                }
                b'\\' => {
                    plain = false;
                    self.i += 2;
                }
                _ => self.i += 1,
            }
        }
    }

    fn value(&mut self) -> Result<(), Stop> {
        self.ws();
        match self.peek()? {
            b'"' => self.string().map(|_| ()),
            b'{' | b'[' => {
                let mut depth = 0usize;
                loop {
                    match self.peek()? {
                        b'"' => {
                            self.string()?;
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                self.i += 1;
                                return Ok(());
                            }
                        }
                        _ => {}
                    }
                    self.i += 1;
                }
            }
            _ => {
                while !matches!(
                    self.peek()?,
                    b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r'
                ) {
                    self.i += 1;
                }
                Ok(())
            }
        }
    }

    fn object(&mut self, head: &mut FrameHead) -> Result<(), Stop> {
        self.eat(b'{')?;
        loop {
            self.ws();
            if self.peek()? == b'}' {
                return Ok(());
            }
            let key = self.string()?.map(<[u8]>::to_vec);
            self.eat(b':')?;
            self.ws();
            let start = self.i;
            self.value()?;
            let raw = &self.b[start..self.i];
            match key.as_deref() {
                Some(b"id") => {
                    head.id = std::str::from_utf8(raw).ok().and_then(|t| t.parse().ok());
                }
                Some(b"reply") if raw.len() >= 2 && raw[0] == b'"' => {
                    let inner = &raw[1..raw.len() - 1];
                    if !inner.contains(&b'\\') {
                        head.reply = std::str::from_utf8(inner).ok().map(str::to_owned);
                    }
                }
                _ => {}
            }
            self.ws();
            match self.peek()? {
                b',' => self.i += 1,
                _ => return Ok(()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_id_is_read_before_a_large_argument() {
        let big = "x".repeat(1_000_000);
        let text = format!(r#"{{"id":42,"op":"blindTransfer","args":["bob",{{"a":"{big}"}}]}}"#);
        assert_eq!(peek_head(&text).id, Some(42));
        let text = format!(r#" {{ "op" : "x", "id" : 7 , "args":["{big}"]}}"#);
        assert_eq!(peek_head(&text).id, Some(7));
    }

    #[test]
    fn the_reply_id_is_read_and_escaped_or_late_keys_are_not_guessed() {
        let big = "y".repeat(100_000);
        let text = format!(r#"{{"reply":"leg-1","value":"{big}"}}"#);
        assert_eq!(peek_head(&text).reply.as_deref(), Some("leg-1"));
        // An id after the large part is past the prefix: unknown.
        let text = format!(r#"{{"op":"x","args":["{big}"],"id":9}}"#);
        assert_eq!(peek_head(&text).id, None);
        // Nested ids do not count; strings with braces and escaped quotes are skipped.
        let text = r#"{"args":[{"id":1},"a}\"]{"],"id":3}"#;
        assert_eq!(peek_head(text).id, Some(3));
        assert_eq!(peek_head(r#"{"reply":"a\"b"}"#).reply, None);
        assert_eq!(peek_head(r#"{"id":-1}"#).id, None);
        assert_eq!(peek_head("not json").id, None);
        assert_eq!(peek_head("").id, None);
        // A multi-byte character cut by the prefix bound does not panic.
        let text = format!("{{\"op\":\"{}\"", "é".repeat(PEEK_BYTES));
        assert_eq!(peek_head(&text), FrameHead::default());
    }
}
