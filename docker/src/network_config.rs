//! Turns a planner network's address management (`model::Ipam`) into the engine's IPAM create body.

use bollard::models::{Ipam, IpamConfig};
use planner::model::{Ipam as IpamSpec, IpamPool};

/// The engine form of a network's `ipam` block.
pub fn engine_ipam(spec: &IpamSpec) -> Ipam {
    Ipam {
        driver: spec.driver.clone(),
        config: Some(spec.config.iter().map(engine_pool).collect()),
        options: (!spec.options.is_empty()).then(|| spec.options.clone().into_iter().collect()),
    }
}

fn engine_pool(pool: &IpamPool) -> IpamConfig {
    IpamConfig {
        subnet: pool.subnet.clone(),
        gateway: pool.gateway.clone(),
        ip_range: pool.ip_range.clone(),
        auxiliary_addresses: (!pool.aux_addresses.is_empty())
            .then(|| pool.aux_addresses.clone().into_iter().collect()),
    }
}
