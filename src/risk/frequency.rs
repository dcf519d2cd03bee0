//! The frequency rules (SPEC §6 "Frequency"): what is counted, under which key, over which
//! window, against which limit. Counting itself is the hot store's
//! (`HotStore::count`); this module only names things, so that every engine counts alike.
//!
//! - Verifications (answers) per client IP and per device, per hour and per day, against the
//!   scene's limits (defaults: IP 4,000/h and 10,000/day, device 150/h and 400/day); over a
//!   limit the answer is refused with F010 / F011 and, until the window ends, so is init.
//! - Inits per client IP per minute, against harvesting challenges without answering them.
//! - New device identities handed to one IP per hour: a client that throws its identity
//!   away to reset the per-device limit shows up here.
//!
//! IPv6 addresses count by their /64 prefix: one subscriber usually holds a whole /64 and
//! can rotate addresses inside it at will.

use std::net::IpAddr;

pub const MINUTE_MS: i64 = 60_000;
pub const HOUR_MS: i64 = 3_600_000;
pub const DAY_MS: i64 = 86_400_000;

/// New device identities one IP may receive per hour before it counts as churning them.
pub const DEVICE_CHURN_PER_HOUR: u64 = 20;

/// The part of a client address that identifies a subscriber: the address itself for
/// IPv4, the /64 prefix for IPv6. Unparsable text is used as it is (bounded).
pub fn subscriber(ip: &str) -> String {
    match ip.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Ok(IpAddr::V6(v6)) => v6
            .to_ipv4_mapped()
            .map_or_else(String::new, |v4| v4.to_string()),
        Ok(IpAddr::V4(v4)) => v4.to_string(),
        Err(_) => ip.chars().take(64).collect(),
    }
}

/// The counter of verifications by `who` (`ip` or `device`) for a scene, per window.
pub fn verifications_key(scene_id: &str, who: &str, id: &str, window: &str) -> String {
    format!("v:{scene_id}:{who}:{window}:{id}")
}

/// The counter of inits from one subscriber for a scene, per minute.
pub fn inits_key(scene_id: &str, subscriber: &str) -> String {
    format!("i:{scene_id}:{subscriber}")
}

/// The counter of a scene's inits from everyone, per minute (its load).
pub fn scene_inits_key(scene_id: &str) -> String {
    format!("I:{scene_id}")
}

/// The counter of new device identities handed to one subscriber, per hour (all scenes).
pub fn new_devices_key(subscriber: &str) -> String {
    format!("d:{subscriber}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_counts_by_its_64_prefix_and_ipv4_by_address() {
        assert_eq!(
            subscriber("2001:db8:1:2:aaaa::1"),
            subscriber("2001:db8:1:2:ffff:1:2:3")
        );
        assert_ne!(subscriber("2001:db8:1:2::1"), subscriber("2001:db8:1:3::1"));
        assert_eq!(subscriber("203.0.113.9"), "203.0.113.9");
        assert_eq!(subscriber("::ffff:203.0.113.9"), "203.0.113.9");
        assert_eq!(subscriber(&"x".repeat(500)).len(), 64);
    }
}
