//! Outbound mutual-TLS settings (placeholder until the outbound issue lands).

use super::Reader;

/// Settings of the outbound client.
#[derive(Debug, Default)]
pub struct OutboundConfig {}

impl OutboundConfig {
    pub fn read(_reader: &mut Reader<'_>) -> Self {
        Self {}
    }
}
