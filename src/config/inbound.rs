//! Inbound client-certificate settings (placeholder until the authentication issue lands).

use super::Reader;

/// Settings of the client-certificate filter.
#[derive(Debug, Default)]
pub struct InboundConfig {}

impl InboundConfig {
    pub fn read(_reader: &mut Reader<'_>) -> Self {
        Self {}
    }
}
