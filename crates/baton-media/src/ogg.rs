//! Reading the Opus packets out of an Ogg Opus file (RFC 7845), for the hold music (and
//! for checking recordings).
//!
//! Only what a file that ships with Baton needs: one logical stream, packets reassembled
//! from their lacing; the two header packets (`OpusHead`, `OpusTags`) are checked and
//! skipped. Page CRCs are not checked: the file is Baton's own.

use crate::MediaError;

/// The audio packets of an Ogg Opus stream, in order.
pub fn opus_packets(file: &[u8]) -> Result<Vec<Vec<u8>>, MediaError> {
    let bad = |why: &str| MediaError::BadHoldMusic(why.to_owned());
    let mut packets = Vec::new();
    let mut partial: Vec<u8> = Vec::new();
    let mut at = 0;
    while at < file.len() {
        let head = file
            .get(at..at + 27)
            .ok_or_else(|| bad("truncated page header"))?;
        if &head[..4] != b"OggS" {
            return Err(bad("not an Ogg page"));
        }
        let segments = head[26] as usize;
        let table = file
            .get(at + 27..at + 27 + segments)
            .ok_or_else(|| bad("truncated segment table"))?;
        let mut body = at + 27 + segments;
        for &len in table {
            let len = len as usize;
            let seg = file
                .get(body..body + len)
                .ok_or_else(|| bad("truncated page body"))?;
            partial.extend_from_slice(seg);
            body += len;
            // A lacing value under 255 ends the packet.
            if len < 255 {
                packets.push(std::mem::take(&mut partial));
            }
        }
        at = body;
    }
    let mut packets = packets.into_iter();
    match packets.next() {
        Some(p) if p.starts_with(b"OpusHead") => {}
        _ => return Err(bad("no OpusHead")),
    }
    match packets.next() {
        Some(p) if p.starts_with(b"OpusTags") => {}
        _ => return Err(bad("no OpusTags")),
    }
    let audio: Vec<Vec<u8>> = packets.filter(|p| !p.is_empty()).collect();
    if audio.is_empty() {
        return Err(bad("no audio packets"));
    }
    Ok(audio)
}

/// The duration of an Ogg Opus file in milliseconds: the last page's granule position
/// less the pre-skip, at 48 kHz. `None` if it is not one.
pub fn duration_ms(file: &[u8]) -> Option<u64> {
    if file.get(..4)? != b"OggS" {
        return None;
    }
    let body = 27 + *file.get(26)? as usize;
    let pre_skip = file
        .get(body + 10..body + 12)
        .map(|b| u16::from_le_bytes([b[0], b[1]]))?;
    let mut at = 0;
    let mut granule = 0u64;
    while at + 27 <= file.len() {
        let page = &file[at..];
        if &page[..4] != b"OggS" {
            return None;
        }
        granule = u64::from_le_bytes(page[6..14].try_into().ok()?);
        let segments = page[26] as usize;
        let body: usize = page
            .get(27..27 + segments)?
            .iter()
            .map(|&l| l as usize)
            .sum();
        at += 27 + segments + body;
    }
    Some(granule.saturating_sub(u64::from(pre_skip)) / 48)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_hold_music_is_four_seconds_of_20_ms_packets() {
        let packets = opus_packets(crate::HOLD_MUSIC).expect("valid");
        // opusenc --framesize 20: 4 s = 200 packets (the encoder may pad one at the end).
        assert!((200..=202).contains(&packets.len()), "{}", packets.len());
        // TOC byte: config 0..=31; every packet here is one 20 ms frame (code 0).
        for p in &packets {
            assert_eq!(p[0] & 0b11, 0, "one frame per packet");
        }
    }

    #[test]
    fn garbage_is_refused_not_panicked_on() {
        assert!(opus_packets(b"").is_err());
        assert!(opus_packets(b"OggS").is_err());
        assert!(opus_packets(&[0u8; 64]).is_err());
        let mut cut = crate::HOLD_MUSIC.to_vec();
        cut.truncate(100);
        assert!(opus_packets(&cut).is_err());
    }
}
