//! The protocol-buffer wire format, as much of it as an ONNX file needs: varints,
//! length-delimited fields (strings, bytes, nested messages) and packed repeated integers.
//! A message is built into a byte vector field by field, in field-number order.

/// A message being written.
#[derive(Default)]
pub(super) struct Msg(pub(super) Vec<u8>);

impl Msg {
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }

    fn key(&mut self, field: u32, wire: u32) {
        self.varint(u64::from(field << 3 | wire));
    }

    /// An integer field (`int32`, `int64`, an enum): a varint, negative numbers as their
    /// two's complement in 64 bits.
    pub(super) fn int(&mut self, field: u32, v: i64) -> &mut Msg {
        self.key(field, 0);
        self.varint(v as u64);
        self
    }

    /// A `bytes` field.
    pub(super) fn bytes(&mut self, field: u32, b: &[u8]) -> &mut Msg {
        self.key(field, 2);
        self.varint(b.len() as u64);
        self.0.extend_from_slice(b);
        self
    }

    /// A `string` field.
    pub(super) fn str(&mut self, field: u32, s: &str) -> &mut Msg {
        self.bytes(field, s.as_bytes())
    }

    /// A nested message.
    pub(super) fn msg(&mut self, field: u32, m: &Msg) -> &mut Msg {
        self.bytes(field, &m.0)
    }

    /// A packed `repeated int64` field.
    pub(super) fn ints(&mut self, field: u32, vs: &[i64]) -> &mut Msg {
        let mut packed = Msg::default();
        for &v in vs {
            packed.varint(v as u64);
        }
        self.bytes(field, &packed.0)
    }
}

#[cfg(test)]
mod tests {
    use super::Msg;

    #[test]
    fn fields_are_encoded_as_the_wire_format_specifies() {
        // Field 1 = 150: the example of the protocol-buffers encoding guide.
        assert_eq!(Msg::default().int(1, 150).0, [0x08, 0x96, 0x01]);
        assert_eq!(Msg::default().str(2, "testing").0[..2], [0x12, 0x07]);
        // -1 as int64: ten bytes.
        assert_eq!(Msg::default().int(1, -1).0.len(), 11);
        assert_eq!(
            Msg::default().ints(4, &[3, 270]).0,
            [0x22, 0x03, 0x03, 0x8e, 0x02]
        );
    }
}
