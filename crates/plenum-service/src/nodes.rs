//! What the nodes of one installation must share besides the database (docs/scaling.md): the
//! secrets in their data directories (Huawei app keys are derived from one, download links
//! signed with another), and trust in each other's word about a relayed client's address.

use std::net::IpAddr;

use plenum_domain::nodes::{secret_fingerprint, vouch_for_client};

use crate::{Plenum, ServiceError};

/// The name of the secret Huawei app keys are derived from.
const APP_KEY: &str = "app-key";

impl Plenum {
    /// Checks that this node holds the installation's secrets: the app-key secret of its
    /// policy and `others` (name, secret). Each is compared by fingerprint with the one the
    /// first node offered (`Leases::secret_fingerprint`). Answers the names that differ:
    /// such a node would refuse the others' app tokens and links. Nothing to check on the
    /// only server.
    pub async fn secrets_not_shared(
        &self,
        others: &[(&'static str, &[u8])],
    ) -> Result<Vec<&'static str>, ServiceError> {
        if self.inner.policy.node.is_none() {
            return Ok(Vec::new());
        }
        let app_key = &self.inner.policy.app_key_secret.0[..];
        let mut differ = Vec::new();
        for (name, secret) in std::iter::once((APP_KEY, app_key)).chain(others.iter().copied()) {
            let mine = secret_fingerprint(name, secret);
            if self.inner.store.secret_fingerprint(name, &mine).await? != mine {
                differ.push(name);
            }
        }
        Ok(differ)
    }

    /// What this node sends with a client's address when it relays the client's join.
    pub fn vouch_for(&self, client: IpAddr) -> String {
        vouch_for_client(&self.inner.policy.app_key_secret.0, &client.to_string())
    }

    /// The client's address another node relayed, if `voucher` is that node's word for it.
    pub fn vouched_client(&self, claimed: &str, voucher: &str) -> Option<IpAddr> {
        let expected = vouch_for_client(&self.inner.policy.app_key_secret.0, claimed);
        let equal: bool =
            subtle::ConstantTimeEq::ct_eq(expected.as_bytes(), voucher.as_bytes()).into();
        (self.inner.policy.node.is_some() && equal)
            .then(|| claimed.parse().ok())
            .flatten()
    }
}
