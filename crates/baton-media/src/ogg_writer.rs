//! Writing received Opus packets as an Ogg Opus file (RFC 7845), for call recordings.
//!
//! One logical stream, one packet per page (a recording is written once and read rarely;
//! the few bytes of page overhead buy simplicity). Granule positions count 48 kHz samples
//! from the first packet, taken from the packets' RTP times, so a gap in the audio (loss,
//! a recording mute) keeps the file's timeline true.

/// Samples in one 20 ms Opus frame at 48 kHz, the duration assumed for each packet.
pub const FRAME_SAMPLES: u64 = 960;

/// An Ogg Opus file being written in memory.
#[derive(Debug)]
pub struct OggOpusWriter {
    bytes: Vec<u8>,
    serial: u32,
    sequence: u32,
    /// RTP time minus file position (samples): set by the first packet, and again when the
    /// stream jumps (the browser reconnected and its RTP clock starts anew).
    base: Option<i64>,
    last_time: u64,
    granule: u64,
    packets: u64,
}

impl OggOpusWriter {
    /// Starts a mono stream (browsers send mono Opus) with the two header packets.
    pub fn new(serial: u32) -> Self {
        let mut w = Self {
            bytes: Vec::new(),
            serial,
            sequence: 0,
            base: None,
            last_time: 0,
            granule: 0,
            packets: 0,
        };
        let mut head = b"OpusHead".to_vec();
        head.push(1); // version
        head.push(1); // channels
        head.extend_from_slice(&0u16.to_le_bytes()); // pre-skip: packets are as received
        head.extend_from_slice(&48_000u32.to_le_bytes()); // input sample rate
        head.extend_from_slice(&0i16.to_le_bytes()); // output gain
        head.push(0); // channel mapping family 0
        w.page(&head, 0, 0x02);
        let vendor = b"baton";
        let mut tags = b"OpusTags".to_vec();
        tags.extend_from_slice(&(vendor.len() as u32).to_le_bytes());
        tags.extend_from_slice(vendor);
        tags.extend_from_slice(&0u32.to_le_bytes());
        w.page(&tags, 0, 0);
        w
    }

    /// Appends one packet received at `rtp_time` (48 kHz). A packet at or before the
    /// previous one (a repeat, or out of order) is dropped; a jump of more than a second
    /// back or a minute ahead is a new RTP clock, continued right after the last packet.
    pub fn push(&mut self, rtp_time: u64, packet: &[u8]) {
        if packet.is_empty() {
            return;
        }
        let time = rtp_time as i64;
        let jump = time - self.last_time as i64;
        let base = match self.base {
            Some(b) if (-48_000..48_000 * 60).contains(&jump) => b,
            Some(_) => time - self.granule as i64,
            None => time,
        };
        let end = (time - base).max(0) as u64 + FRAME_SAMPLES;
        if end <= self.granule {
            return;
        }
        self.base = Some(base);
        self.last_time = rtp_time;
        self.granule = end;
        self.packets += 1;
        self.page(packet, end, 0);
    }

    /// Audio packets written.
    pub fn packets(&self) -> u64 {
        self.packets
    }

    /// Duration of the audio in milliseconds (the last granule position).
    pub fn duration_ms(&self) -> u64 {
        self.granule / 48
    }

    /// Bytes so far.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether no audio packet was written.
    pub fn is_empty(&self) -> bool {
        self.packets == 0
    }

    /// Ends the stream (an empty last page flagged end-of-stream) and gives the file.
    pub fn finish(mut self) -> Vec<u8> {
        let granule = self.granule;
        self.page(&[], granule, 0x04);
        self.bytes
    }

    fn page(&mut self, packet: &[u8], granule: u64, flags: u8) {
        // A packet of n bytes is laced as n / 255 segments of 255 and one of n % 255
        // (a page holds 255 segments: 64 KiB, far above an Opus packet's size).
        let mut lacing = vec![255u8; packet.len() / 255];
        lacing.push((packet.len() % 255) as u8);
        let start = self.bytes.len();
        self.bytes.extend_from_slice(b"OggS");
        self.bytes.push(0); // version
        self.bytes.push(flags);
        self.bytes.extend_from_slice(&granule.to_le_bytes());
        self.bytes.extend_from_slice(&self.serial.to_le_bytes());
        self.bytes.extend_from_slice(&self.sequence.to_le_bytes());
        self.bytes.extend_from_slice(&0u32.to_le_bytes()); // CRC, filled below
        self.bytes.push(lacing.len() as u8);
        self.bytes.extend_from_slice(&lacing);
        self.bytes.extend_from_slice(packet);
        let crc = crc32(&self.bytes[start..]);
        self.bytes[start + 22..start + 26].copy_from_slice(&crc.to_le_bytes());
        self.sequence += 1;
    }
}

/// Ogg's CRC-32 (polynomial 0x04c11db7, no reflection, zero initial value).
fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0u32;
    for &b in data {
        crc ^= u32::from(b) << 24;
        for _ in 0..8 {
            crc = if crc & 0x8000_0000 != 0 {
                (crc << 1) ^ 0x04c1_1db7
            } else {
                crc << 1
            };
        }
    }
    crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_written_reads_back_with_its_packets_and_duration() {
        let music = crate::ogg::opus_packets(crate::HOLD_MUSIC).expect("valid");
        let mut w = OggOpusWriter::new(7);
        // 150 packets from RTP time 123456, every 20 ms, one lost in the middle.
        for (n, p) in music.iter().take(150).enumerate() {
            if n == 70 {
                continue;
            }
            w.push(123_456 + n as u64 * FRAME_SAMPLES, p);
        }
        // A repeat, and a packet late by half a second, are dropped.
        w.push(123_456 + 149 * FRAME_SAMPLES, &music[149]);
        w.push(123_456 + 125 * FRAME_SAMPLES, &music[125]);
        assert_eq!(w.packets(), 149);
        assert_eq!(w.duration_ms(), 3000);
        let file = w.finish();
        let back = crate::ogg::opus_packets(&file).expect("parses");
        assert_eq!(back.len(), 149);
        assert_eq!(back[0], music[0]);
        assert_eq!(back[148], music[149]);
        assert_eq!(crate::ogg::duration_ms(&file), Some(3000));
    }

    #[test]
    fn a_new_rtp_clock_continues_the_file_after_its_last_packet() {
        let mut w = OggOpusWriter::new(3);
        for n in 0..50 {
            w.push(9_000_000 + n * FRAME_SAMPLES, &[1]);
        }
        // The browser reconnects: its RTP time starts again far below.
        for n in 0..50 {
            w.push(1_000 + n * FRAME_SAMPLES, &[2]);
        }
        assert_eq!(w.packets(), 100);
        assert_eq!(w.duration_ms(), 2000);
        let back = crate::ogg::opus_packets(&w.finish()).expect("parses");
        assert_eq!(back.len(), 100);
    }

    #[test]
    fn a_long_packet_is_laced_across_segments() {
        let mut w = OggOpusWriter::new(1);
        let big = vec![0x5a_u8; 600];
        w.push(0, &big);
        let back = crate::ogg::opus_packets(&w.finish()).expect("parses");
        assert_eq!(back, vec![big]);
    }

    #[test]
    fn the_crc_matches_an_encoder_s() {
        // The first page of the hold music, written by opusenc, with its CRC zeroed.
        let file = crate::HOLD_MUSIC;
        let len = 27
            + file[26] as usize
            + file[27..27 + file[26] as usize]
                .iter()
                .map(|&l| l as usize)
                .sum::<usize>();
        let mut page = file[..len].to_vec();
        let stored = u32::from_le_bytes(page[22..26].try_into().expect("4 bytes"));
        page[22..26].fill(0);
        assert_eq!(crc32(&page), stored);
    }
}
